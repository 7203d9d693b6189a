#!/usr/bin/env bash
# make deps: the system set-up on Debian 12, the one step that `make demo`, `make test`, `make lab-up`,
# `make image` and `make bench` take first.
#
#   - the packages of tests/deps/debian-packages.txt that are not installed (apt-get install
#     --no-install-recommends);
#   - a deb-src entry for the machine's own Debian mirror (containers/debian.sh), when apt has none, so that
#     tests/lab/build-kubernetes.sh can fetch the Kubernetes source package.
#
# As root, or through sudo when not root; otherwise it fails with the packages that are missing and the
# command that installs them. It checks with dpkg-query first and runs apt-get (update included) only when
# something is missing, so a second run installs nothing and takes a second.
#
#   tests/deps/install.sh [--quiet]     --quiet: no line when there is nothing to do
#
# Environment: those of containers/debian.sh (MC_DEBIAN_MIRROR, MC_DEBIAN_SECURITY_MIRROR, MC_APT_DIR).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PACKAGES="$ROOT/tests/deps/debian-packages.txt"
SRC_LIST=/etc/apt/sources.list.d/coreos-multicluster-src.sources
# shellcheck source=containers/debian.sh
. "$ROOT/containers/debian.sh"
say() { printf 'deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# missing_packages: the packages of the list that are neither installed nor stood for by their command
missing_packages() {
  local pkg cmd installed
  # shellcheck disable=SC2016  # dpkg-query's format, not the shell's
  installed=$(awk '!/^#/ && NF {print $1}' "$PACKAGES" |
    xargs dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' 2>/dev/null | awk '$2 == "ii" {print $1}' || true)
  while read -r pkg cmd; do
    case $pkg in '' | '#'*) continue ;; esac
    if grep -qxF "$pkg" <<<"$installed"; then continue; fi
    if [ -n "$cmd" ] && command -v "$cmd" >/dev/null; then continue; fi
    echo "$pkg"
  done <"$PACKAGES"
}

has_deb_src() {
  grep -rqs -e '^Types:.*deb-src' -e '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/
}

# apt knows Debian's source package kubernetes (a deb-src entry and its index, from an apt-get update)
knows_kubernetes_source() {
  apt-cache showsrc --only-source kubernetes 2>/dev/null | grep -q '^Package: kubernetes$'
}

quiet=false
case "${1:-}" in
  --quiet) quiet=true ;;
  "") ;;
  *) die "unknown argument: $1 (--quiet, or nothing)" ;;
esac
started=$SECONDS
[ -r /etc/debian_version ] || die "not a Debian machine: install the packages of $PACKAGES by hand"
mapfile -t missing < <(missing_packages)
need_src=false need_update=false
has_deb_src || need_src=true
if [ "${#missing[@]}" -gt 0 ] || $need_src || ! knows_kubernetes_source; then
  need_update=true
fi
count=$(awk '!/^#/ && NF' "$PACKAGES" | wc -l)
if ! $need_update; then
  $quiet ||
    say "nothing to do: the $count packages of tests/deps/debian-packages.txt are installed, apt has the Kubernetes source"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
  say "not root: using sudo"
  sudo -v   # a password prompt, if any, here rather than inside apt-get's logged output
else
  die "missing Debian packages: ${missing[*]:-none}$($need_src && echo '; and no deb-src entry in apt')." \
    "Not root and no sudo: run make deps as root (or as root: apt-get update &&" \
    "apt-get install --no-install-recommends ${missing[*]})"
fi

log=$(mktemp "${TMPDIR:-/tmp}/mc-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
# apt LOG-WHAT ARGS...: apt-get ARGS as root, its output shown (the end) only when it fails
apt() {
  local what=$1; shift
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "$what failed: apt-get $*"
  fi
}

if $need_src; then
  debian_mirrors || die "no deb-src entry could be written"
  say "adding a deb-src entry for bookworm on the machine's Debian mirror ($SRC_LIST)"
  "${as_root[@]}" tee "$SRC_LIST" >/dev/null <<SRC
Types: deb-src
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: $DEBIAN_SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

say "apt-get update"
apt "apt-get update" update -qq
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${#missing[@]} packages: ${missing[*]}"
  apt "installing" install -y -qq --no-install-recommends "${missing[@]}"
  mapfile -t still < <(missing_packages)
  [ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
fi
say "done in $((SECONDS - started)) s"

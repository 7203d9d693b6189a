#!/usr/bin/env bash
# make image: the directory-sync agent's image, built with podman from containers/directory-sync/Containerfile
# (docs/agent-image.md). Prints the image reference on stdout, and nothing else; progress goes to stderr.
#
# The default base needs no container registry: a Debian bookworm minbase with python3, made by mmdebstrap
# from Debian's mirror and turned into an image with `podman import` (once; later builds reuse it, and
# podman's layer cache reuses the dependency layer while agent/requirements.txt is unchanged).
#
#   --base REF          build on REF instead, e.g. docker.io/library/python:3.11-slim where a registry is
#                       reachable (any image with Python 3.11 as python3, and pip or apt)
#   --refresh-base      make the Debian base again even if it is present (Debian's security updates)
#   --tag REF           the reference to build (default localhost/coreos-multicluster/directory-sync:<version
#                       in galaxy.yml>)
#   --oci-archive FILE  also write the image to FILE as an OCI archive (podman save --format oci-archive), to
#                       load it where no registry is reachable (ctr -n k8s.io images import FILE)
#
# Environment:
#   MC_PODMAN_FLAGS   podman's global flags (default: --runtime <runc> --cgroup-manager=cgroupfs when runc is
#                     installed: Debian's crun fails on hosts with hybrid cgroups)
#   MC_CA_BUNDLE      the CA bundle the build's pip trusts, given to the build as a secret (default
#                     /etc/ssl/certs/ca-certificates.crt when it exists; "" for none)
#   MC_DEBIAN_MIRROR  Debian's mirror for the base (default http://deb.debian.org/debian)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CONTAINERFILE="$ROOT/containers/directory-sync/Containerfile"
DEBIAN_BASE=localhost/coreos-multicluster/debian-python3:bookworm
MIRROR=${MC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${MC_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}

WORK="$ROOT/build/directory-sync"   # the staged build context and the logs
say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit "${1:-0}"; }

base="" refresh_base=false tag="" archive=""
while [ "$#" -gt 0 ]; do
  case $1 in
    --base) base=${2:?--base needs an image reference}; shift 2 ;;
    --refresh-base) refresh_base=true; shift ;;
    --tag) tag=${2:?--tag needs an image reference}; shift 2 ;;
    --oci-archive) archive=${2:?--oci-archive needs a file}; shift 2 ;;
    -h | --help) usage 0 ;;
    *) say "unknown argument: $1"; usage 2 ;;
  esac
done

command -v podman >/dev/null || die "podman is not installed (Debian: apt-get install podman runc uidmap)"
if [ -n "${MC_PODMAN_FLAGS+set}" ]; then
  read -r -a podman_flags <<<"$MC_PODMAN_FLAGS"
elif runc=$(command -v runc || ls /usr/sbin/runc 2>/dev/null); then
  podman_flags=(--runtime "$runc" --cgroup-manager=cgroupfs)
else
  podman_flags=()
fi
pm() { podman "${podman_flags[@]}" "$@"; }
# logged LOG CMD...: run CMD with its output in LOG, shown (its end) only when CMD fails
logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "failed: $1 (the whole output: $log)"
  fi
}

version=$(sed -n 's/^version: *["'\'']\{0,1\}\([^"'\'' ]*\).*/\1/p' "$ROOT/galaxy.yml")
[ -n "$version" ] || die "no version in $ROOT/galaxy.yml"
tag=${tag:-localhost/coreos-multicluster/directory-sync:$version}

# --- the base --------------------------------------------------------------------------------------------
if [ -z "$base" ]; then
  base=$DEBIAN_BASE
  if $refresh_base || ! pm image exists "$base"; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (Debian: apt-get install mmdebstrap), or use --base"
    say "making the base $base: mmdebstrap --variant=minbase --include=python3 bookworm ($MIRROR)"
    started=$SECONDS
    # No documentation, manual pages or translations (the copyright files stay); apt's lists and caches
    # are removed by mmdebstrap's own clean-up.
    rootfs="$WORK/base.tar"
    mkdir -p "$WORK"
    # merged-usr hook: /usr merged as debootstrap does it, without the usrmerge package (and the perl it needs)
    logged "$WORK/mmdebstrap.log" mmdebstrap --variant=minbase --include=python3 --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --aptopt='Acquire::Languages "none"' \
      bookworm "$rootfs" \
      "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
      "deb ${MIRROR%/debian}/debian-security bookworm-security main"
    logged "$WORK/import.log" pm import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
      --message "mmdebstrap --variant=minbase --include=python3 bookworm" "$rootfs" "$base"
    rm -f "$rootfs"
    say "base made in $((SECONDS - started)) s"
  else
    say "reusing the base $base (--refresh-base makes it again)"
  fi
fi

# --- the build context: exactly the files the image carries ---------------------------------------------
context="$WORK/context"
rm -rf "$context" && mkdir -p "$context"
paths=(agent plugins/module_utils galaxy.yml meta)
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # the files git tracks: nothing merely left lying in agent/ (a test kubeconfig, say) gets into a layer
  git -C "$ROOT" ls-files -z --cached -- "${paths[@]}" |
    while IFS= read -r -d '' f; do if [ -e "$ROOT/$f" ]; then printf '%s\0' "$f"; fi; done |
    rsync -a --from0 --files-from=- "$ROOT/" "$context/"
else
  (cd "$ROOT" && rsync -aR --exclude=__pycache__ --exclude='*.pyc' "${paths[@]}" "$context/")
fi

build_args=(--build-arg "BASE=$base" --build-arg "VERSION=$version")
if [ -n "$CA_BUNDLE" ] && [ -r "$CA_BUNDLE" ]; then
  build_args+=(--secret "id=ca-bundle,src=$CA_BUNDLE")
fi

say "building $tag on $base"
started=$SECONDS
previous=$(pm image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
# The build's RUN steps use the host's network (no bridge, no firewall rules needed).
logged "$WORK/build.log" pm build --network host --layers -f "$CONTAINERFILE" "${build_args[@]}" -t "$tag" "$context"
built=$(pm image inspect --format '{{.Id}}' "$tag")
size=$(pm image inspect --format '{{.Size}}' "$tag")
say "built $tag in $((SECONDS - started)) s: $((size / 1000000)) MB ($([ "$built" = "$previous" ] && echo unchanged || echo "image ${built:0:12}"))"
if [ -n "$previous" ] && [ "$previous" != "$built" ]; then
  pm rmi "$previous" >/dev/null 2>&1 || true   # the image this tag named before, unless a container uses it
fi

if [ -n "$archive" ]; then
  mkdir -p "$(dirname "$archive")"
  rm -f "$archive"
  pm save --quiet --format oci-archive -o "$archive" "$tag"
  say "wrote $archive"
fi
echo "$tag"

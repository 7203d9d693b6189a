# shellcheck shell=bash
# Debian's archive and podman, as the scripts that use them need them; sourced by
# containers/directory-sync/build-image.sh (the agent image's base), tests/deps/install.sh (make deps: the
# deb-src entry) and tests/deps/fresh-machine.sh (a fresh Debian 12 to prove make deps in).
#
#   debian_mirrors         sets DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR: the machine's own mirror for
#                          bookworm and for bookworm-security, from its apt configuration
#   PODMAN_FLAGS / pm ...  podman's global flags for this kind of host, and podman run with them
#   logged LOG COMMAND...  COMMAND with its output in LOG; on failure, LOG's end and a message (die, the caller's)
#   collection_version     the collection's version, from galaxy.yml at $ROOT
#   debian_minbase_image PACKAGES REF LOGDIR
#                          a Debian bookworm minbase (mmdebstrap) with PACKAGES (comma-separated), made into
#                          the podman image REF; mmdebstrap's output goes to LOGDIR/mmdebstrap.log
#
# Environment:
#   MC_DEBIAN_MIRROR           the mirror for bookworm (default: the first apt source of this machine for the
#                              suite bookworm)
#   MC_DEBIAN_SECURITY_MIRROR  the mirror for bookworm-security (default: the apt source for that suite; else,
#                              for a mirror ending in /debian, the same host's /debian-security)
#   MC_APT_DIR                 where the apt configuration is read (default /etc/apt)
#   MC_PODMAN_FLAGS            podman's global flags (default: --runtime <runc> --cgroup-manager=cgroupfs when
#                              runc is installed: Debian's crun fails on hosts with hybrid cgroups)

# _apt_sources: "TYPE URI SUITE" for each enabled entry of the apt configuration, one-line (sources.list,
# sources.list.d/*.list) and deb822 (sources.list.d/*.sources) alike, in apt's order
_apt_sources() {
  local apt=${MC_APT_DIR:-/etc/apt} f
  for f in "$apt/sources.list" "$apt"/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '($1 == "deb" || $1 == "deb-src") && NF >= 3 {print $1, $2, $3}'
  done
  for f in "$apt"/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush(   i, j, k, t, u, s) {
        if (enabled != "no") {
          t = split(types, T); u = split(uris, U); s = split(suites, S)
          for (i = 1; i <= t; i++) for (j = 1; j <= u; j++) for (k = 1; k <= s; k++) print T[i], U[j], S[k]
        }
        types = uris = suites = enabled = ""; field = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { if (field == "types") types = types " " $0; else if (field == "uris") uris = uris " " $0
                 else if (field == "suites") suites = suites " " $0; next }
      { field = tolower($1); sub(/:$/, "", field); value = $0; sub(/^[^:]*:[ \t]*/, "", value)
        if (field == "types") types = value; else if (field == "uris") uris = value
        else if (field == "suites") suites = value; else if (field == "enabled") enabled = tolower(value) }
      END { flush() }
    ' "$f"
  done
}

# _resolve_mirror URI: a mirror+file: list (Debian's cloud images) stands for its first mirror
_resolve_mirror() {
  local uri=$1
  case $uri in
    mirror+file:*)
      sed -e 's/#.*//' "${uri#mirror+file:}" 2>/dev/null | awk 'NF {print $1; exit}' ;;
    *) printf '%s\n' "$uri" ;;
  esac
}

# _apt_mirror_for SUITE: the machine's mirror for SUITE (a deb entry's, else a deb-src entry's), or nothing
_apt_mirror_for() {
  local source
  source=$(_apt_sources | awk -v suite="$1" '$3 == suite && !found[$1]++ {first[$1] = $2}
                                            END {print (first["deb"] != "" ? first["deb"] : first["deb-src"])}')
  if [ -n "$source" ]; then _resolve_mirror "$source"; fi
}

debian_mirrors() {
  if [ -n "${MC_DEBIAN_MIRROR:-}" ]; then
    DEBIAN_MIRROR=$MC_DEBIAN_MIRROR
  else
    DEBIAN_MIRROR=$(_apt_mirror_for bookworm)
  fi
  if [ -z "$DEBIAN_MIRROR" ]; then
    echo "no Debian mirror for bookworm in the apt configuration (${MC_APT_DIR:-/etc/apt}/sources.list," \
      "sources.list.d/*.list, *.sources): set MC_DEBIAN_MIRROR to one" >&2
    return 1
  fi
  DEBIAN_MIRROR=${DEBIAN_MIRROR%/}
  if [ -n "${MC_DEBIAN_SECURITY_MIRROR:-}" ]; then
    DEBIAN_SECURITY_MIRROR=$MC_DEBIAN_SECURITY_MIRROR
  else
    DEBIAN_SECURITY_MIRROR=$(_apt_mirror_for bookworm-security)
    if [ -z "$DEBIAN_SECURITY_MIRROR" ] && [ "${DEBIAN_MIRROR%/debian}" != "$DEBIAN_MIRROR" ]; then
      DEBIAN_SECURITY_MIRROR=${DEBIAN_MIRROR%/debian}/debian-security
    fi
  fi
  DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR%/}
  if [ -z "$DEBIAN_SECURITY_MIRROR" ]; then
    echo "no Debian mirror for bookworm-security in the apt configuration: set MC_DEBIAN_SECURITY_MIRROR to one" >&2
    return 1
  fi
}

if [ -n "${MC_PODMAN_FLAGS+set}" ]; then
  read -r -a PODMAN_FLAGS <<<"$MC_PODMAN_FLAGS"
elif _runc=$(command -v runc || ls /usr/sbin/runc 2>/dev/null); then
  PODMAN_FLAGS=(--runtime "$_runc" --cgroup-manager=cgroupfs)
else
  PODMAN_FLAGS=()
fi
pm() { podman "${PODMAN_FLAGS[@]}" "$@"; }

debian_minbase_image() {
  local packages=$1 ref=$2 logdir=$3 rootfs
  debian_mirrors || return 1
  command -v mmdebstrap >/dev/null || { echo "mmdebstrap is not installed (make deps installs it)" >&2; return 1; }
  mkdir -p "$logdir"
  rootfs="$logdir/rootfs.tar"
  # No documentation, manual pages or translations (the copyright files stay); apt's lists and caches are
  # removed by mmdebstrap's own clean-up. merged-usr hook: /usr merged as debootstrap does it, without the
  # usrmerge package (and the perl it needs).
  if ! mmdebstrap --variant=minbase --include="$packages" --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --aptopt='Acquire::Languages "none"' \
      bookworm "$rootfs" \
      "deb $DEBIAN_MIRROR bookworm main" "deb $DEBIAN_MIRROR bookworm-updates main" \
      "deb $DEBIAN_SECURITY_MIRROR bookworm-security main" >"$logdir/mmdebstrap.log" 2>&1; then
    tail -n 40 "$logdir/mmdebstrap.log" >&2
    echo "mmdebstrap failed (the whole output: $logdir/mmdebstrap.log)" >&2
    return 1
  fi
  if ! pm import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
      --message "mmdebstrap --variant=minbase --include=$packages bookworm" "$rootfs" "$ref" \
      >"$logdir/import.log" 2>&1; then
    tail -n 40 "$logdir/import.log" >&2
    echo "podman import failed (the whole output: $logdir/import.log)" >&2
    return 1
  fi
  rm -f "$rootfs"
}

logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "failed: $1 (the whole output: $log)"
  fi
}

collection_version() {
  local version
  version=$(sed -n 's/^version: *["'\'']\{0,1\}\([^"'\'' ]*\).*/\1/p' "$ROOT/galaxy.yml")
  [ -n "$version" ] || die "no version in $ROOT/galaxy.yml"
  echo "$version"
}

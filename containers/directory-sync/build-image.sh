#!/usr/bin/env bash
# make image: the directory-sync agent's image, built with podman from containers/directory-sync/Containerfile
# (docs/agent-image.md). Prints the image reference on stdout, and nothing else; progress goes to stderr.
#
# The default base needs no container registry: a Debian bookworm minbase with python3, made by mmdebstrap
# from the machine's own Debian mirror (its apt configuration: containers/debian.sh) and turned into an image
# with `podman import` (once; later builds reuse it, and podman's layer cache reuses the dependency layer while
# agent/requirements.txt is unchanged).
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
#   MC_CA_BUNDLE      the CA bundle the build's pip trusts, given to the build as a secret (default
#                     /etc/ssl/certs/ca-certificates.crt when it exists; "" for none)
#   and those of containers/debian.sh: MC_PODMAN_FLAGS (podman's global flags), MC_DEBIAN_MIRROR and
#   MC_DEBIAN_SECURITY_MIRROR (the mirrors for the base; default: those of the machine's apt configuration)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CONTAINERFILE="$ROOT/containers/directory-sync/Containerfile"
DEBIAN_BASE=localhost/coreos-multicluster/debian-python3:bookworm
CA_BUNDLE=${MC_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}

WORK="$ROOT/build/directory-sync"   # the staged build context and the logs
say() { printf 'build-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit "${1:-0}"; }
# shellcheck source=containers/debian.sh
. "$ROOT/containers/debian.sh"   # debian_minbase_image, pm (podman with this host's flags), logged

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

command -v podman >/dev/null || die "podman is not installed (make deps installs it)"
# logged LOG CMD...: run CMD with its output in LOG, shown (its end) only when CMD fails
version=$(collection_version)
tag=${tag:-localhost/coreos-multicluster/directory-sync:$version}

# --- the base --------------------------------------------------------------------------------------------
if [ -z "$base" ]; then
  base=$DEBIAN_BASE
  if $refresh_base || ! pm image exists "$base"; then
    say "making the base $base: mmdebstrap --variant=minbase --include=python3 bookworm (the machine's Debian mirror)"
    started=$SECONDS
    debian_minbase_image python3 "$base" "$WORK" || die "the base $base could not be made (or use --base)"
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

#!/usr/bin/env bash
# make ee: the execution environment AWX runs this collection's playbooks in (execution-environment.yml,
# docs/awx.md), built with ansible-builder 3 and podman from this checkout. Prints the image's reference last,
# on standard output; what it does, on standard error.
#
#   containers/ee/build-ee.sh [--base auto|public|debian] [--tag REF] [--refresh-base]
#
#   --base public   the definition's base image (quay.io/centos/centos:stream9, the base of AWX's own awx-ee),
#                   pulled from its registry; pip installs from the network inside the build
#   --base debian   a Debian 12 minbase made on this machine with mmdebstrap from the machine's Debian mirror,
#                   with python3 and python3-pip (localhost/coreos-multicluster/ee-base-debian:bookworm,
#                   made once, reused; --refresh-base makes it again); every Python package comes from a
#                   wheelhouse this machine's pip downloads with its own configuration (build/ee/wheels), and
#                   the build runs without a network. containers/ee/definition.py says what the definition
#                   changes for it.
#   --base auto     (the default) public when its image can be pulled here, else debian, saying why
#   --tag REF       the image's reference (default localhost/coreos-multicluster/ee:<galaxy.yml version>)
#
# Steps: ansible-galaxy collection build (galaxy.yml's build_ignore: no lab, bench or tests) into build/ee/;
# the definition for the base (build/ee/<base>/execution-environment.yml); `ansible-builder create` (its
# Containerfile and build context, build/ee/<base>/context); podman build with this host's podman flags.
#
# Environment: ANSIBLE_GALAXY, ANSIBLE_BUILDER, PYTHON (default: those of the test virtualenv, .venv).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK="$ROOT/build/ee"
DEBIAN_BASE=localhost/coreos-multicluster/ee-base-debian:bookworm
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
ANSIBLE_GALAXY=${ANSIBLE_GALAXY:-$ROOT/.venv/bin/ansible-galaxy}
ANSIBLE_BUILDER=${ANSIBLE_BUILDER:-$ROOT/.venv/bin/ansible-builder}

say() { printf 'build-ee: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit "${1:-0}"; }
# shellcheck source=containers/debian.sh
. "$ROOT/containers/debian.sh"   # debian_minbase_image, pm (podman with this host's flags), logged

base=auto refresh_base=false tag=""
while [ "$#" -gt 0 ]; do
  case $1 in
    --base) base=${2:?--base needs auto, public or debian}; shift 2 ;;
    --refresh-base) refresh_base=true; shift ;;
    --tag) tag=${2:?--tag needs an image reference}; shift 2 ;;
    -h | --help) usage 0 ;;
    *) say "unknown argument: $1"; usage 2 ;;
  esac
done
case $base in auto | public | debian) ;; *) die "--base $base: auto, public or debian" ;; esac
command -v podman >/dev/null || die "podman is not installed (make deps installs it)"
for tool in "$PYTHON" "$ANSIBLE_GALAXY" "$ANSIBLE_BUILDER"; do
  [ -x "$tool" ] || die "$tool is missing (make venv installs ansible-builder from requirements-test.txt)"
done
version=$(collection_version)
tag=${tag:-localhost/coreos-multicluster/ee:$version}
started_all=$SECONDS
mkdir -p "$WORK"

# --- the base ---------------------------------------------------------------------------------------------
public_base=$("$PYTHON" "$ROOT/containers/ee/definition.py" --public-base)
if [ "$base" = auto ]; then
  if pm image exists "$public_base" || timeout 120 podman "${PODMAN_FLAGS[@]}" pull -q "$public_base" >"$WORK/pull.log" 2>&1; then
    base=public
  else
    base=debian
    say "the public base $public_base cannot be pulled here (podman's answer: $WORK/pull.log); building on a Debian base made here (--base public to insist)"
  fi
fi
if [ "$base" = public ]; then
  image=$public_base
  pm image exists "$image" || logged "$WORK/pull.log" pm pull "$image"
else
  image=$DEBIAN_BASE
  if $refresh_base || ! pm image exists "$image"; then
    say "making the base $image: mmdebstrap --variant=minbase --include=python3,python3-pip bookworm (the machine's Debian mirror)"
    started=$SECONDS
    debian_minbase_image python3,python3-pip "$image" "$WORK/debian-base" || die "the base $image could not be made"
    say "base made in $((SECONDS - started)) s"
  else
    say "reusing the base $image (--refresh-base makes it again)"
  fi
fi

# --- the collection, as ansible-galaxy collection build makes it --------------------------------------------
rm -rf "$WORK/dist" && mkdir -p "$WORK/dist"
logged "$WORK/collection-build.log" "$ANSIBLE_GALAXY" collection build --force --output-path "$WORK/dist" "$ROOT"
cp "$WORK/dist/coreos-multicluster-$version.tar.gz" "$WORK/coreos-multicluster.tar.gz"

# --- the definition and ansible-builder's build context ------------------------------------------------------
out="$WORK/$base"
rm -rf "$out/context"
definition=$("$PYTHON" "$ROOT/containers/ee/definition.py" "$base" "$image" "$out")
logged "$out/create.log" "$ANSIBLE_BUILDER" create -f "$definition" --context "$out/context" \
  --output-filename Containerfile -v 2

build_args=()
if [ "$base" = debian ]; then
  wheels="$WORK/wheels"
  mapfile -t requirements < <("$PYTHON" "$ROOT/containers/ee/definition.py" --pip "$base")
  say "downloading the wheelhouse with this machine's pip configuration: ${requirements[*]}"
  rm -rf "$wheels" && mkdir -p "$wheels"
  logged "$WORK/wheels.log" "$PYTHON" -m pip download --disable-pip-version-check --only-binary=:all: \
    --dest "$wheels" "${requirements[@]}"
  # the build installs from it and nothing else: no network inside the build
  build_args+=(--network none --volume "$wheels:/wheels:ro")
fi

say "building $tag on $image ($base)"
started=$SECONDS
previous=$(pm image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
logged "$out/build.log" pm build --layers "${build_args[@]}" \
  --label "org.opencontainers.image.base.name=$image" --label "org.opencontainers.image.version=$version" \
  -f "$out/context/Containerfile" -t "$tag" "$out/context"
built=$(pm image inspect --format '{{.Id}}' "$tag")
size=$(pm image inspect --format '{{.Size}}' "$tag")
say "built $tag in $((SECONDS - started)) s ($((SECONDS - started_all)) s in all): $((size / 1000000)) MB, base $image ($([ "$built" = "$previous" ] && echo unchanged || echo "image ${built:0:12}"))"
if [ -n "$previous" ] && [ "$previous" != "$built" ]; then
  pm rmi "$previous" >/dev/null 2>&1 || true   # the image this tag named before, unless a container uses it
fi
echo "$tag"

#!/usr/bin/env bash
# Build the lab's Kubernetes binaries from Debian 12's source package, the way
# its debian/rules does, and cache them outside the checkout.
#
#   tests/lab/build-kubernetes.sh            # prints the binary folder
#   tests/lab/build-kubernetes.sh --node     # the same, with the node's binaries too
#
# The control plane: kube-apiserver and kube-controller-manager. A lab node
# (Fleet(nodes=True), tests/lab/node.py) also needs kubelet, kube-scheduler and
# kube-proxy from the same tree. A first build makes all five (one make run);
# later runs build only what is missing of what they need (--node: the node's
# three), so the default lab never waits for the node's binaries.
#
# MC_LAB_CACHE (default ~/.cache/coreos-multicluster) holds the result under
# kubernetes/<version>/bin; a second run finds it there and builds nothing.
# Runs are serialised by a lock (kubernetes/<version>.lock): a second run
# started during a build waits for it and then finds the binaries.
set -euo pipefail

DEB_VERSION="${MC_LAB_DEB_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}"
CACHE="${MC_LAB_CACHE:-$HOME/.cache/coreos-multicluster}"
OUT="$CACHE/kubernetes/$DEB_VERSION/bin"

log() { echo "build-kubernetes: $*" >&2; }

CONTROL_PLANE=(kube-apiserver kube-controller-manager)
NODE=(kubelet kube-scheduler kube-proxy)
wanted=("${CONTROL_PLANE[@]}")
case "${1:-}" in
  --node) wanted+=("${NODE[@]}") ;;
  "") ;;
  *) log "unknown argument: $1 (--node, or nothing)"; exit 2 ;;
esac
# missing: those of "$@" that are not in $OUT
missing() { local b; for b in "$@"; do [ -x "$OUT/$b" ] || echo "$b"; done; }
# What the lab and this build need from Debian (etcd-server, kubectl, the build's dependencies, a deb-src
# entry): the project's one set-up step, which does nothing when all is in place.
"$(dirname "$0")/../deps/install.sh" --quiet

if [ -z "$(missing "${wanted[@]}")" ]; then
  echo "$OUT"
  exit 0
fi

mkdir -p "$CACHE/kubernetes"
exec 9>"$CACHE/kubernetes/$DEB_VERSION.lock"
if ! flock -n 9; then
  log "another build holds $CACHE/kubernetes/$DEB_VERSION.lock: waiting for it"
  flock 9
fi
if [ -z "$(missing "${wanted[@]}")" ]; then  # built meanwhile
  echo "$OUT"
  exit 0
fi
# What to build: what is missing of the wanted ones; on a first build (no
# control plane yet), all five at once, as they share most of their packages.
if [ -n "$(missing "${CONTROL_PLANE[@]}")" ]; then
  mapfile -t build < <(missing "${CONTROL_PLANE[@]}" "${NODE[@]}")
else
  mapfile -t build < <(missing "${wanted[@]}")
fi

work="$CACHE/kubernetes/$DEB_VERSION/src"
# A source tree left by an earlier run (kept while a build fails, so that a
# retry does not fetch it again) is reused when it was completely prepared.
if [ -f "$work/.prepared" ] && [ -d "$work/tree" ]; then
  log "reusing the source tree in $work"
  cd "$work"
else
  rm -rf "$work"
  mkdir -p "$work"
  cd "$work"
  log "fetching source package kubernetes=$DEB_VERSION"
  apt-get source -qq --download-only "kubernetes=$DEB_VERSION" >&2
  dpkg-source -x --no-check ./*.dsc tree >&2

  # Go 1.19 + vendored reflect2 v1.0.1 crashes the apiserver on the first
  # custom-resource create (SIGSEGV in mapiterinit); Debian's 1.0.2 fixes it.
  log "replacing vendored github.com/modern-go/reflect2 with Debian's package"
  rm -rf tree/vendor/github.com/modern-go/reflect2
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 tree/vendor/github.com/modern-go/reflect2
  touch .prepared
fi

# As debian/rules: a GOPATH whose k8s.io/kubernetes points at the tree.
mkdir -p .go/src/k8s.io
ln -sfn "$work/tree" .go/src/k8s.io/kubernetes
export GOPATH="$work/.go" GO111MODULE=off GOFLAGS=-mod=vendor GOCACHE="$work/.gocache"
export PATH="/usr/lib/go-1.19/bin:$PATH"
export KUBE_GIT_TREE_STATE=clean KUBE_GIT_VERSION="v1.20.2" KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20
cd .go/src/k8s.io/kubernetes
log "building ${build[*]} (a few minutes)"
make WHAT="${build[*]/#/cmd/}" >&2

# Into the cache: each binary copied next to its final name, then renamed (a
# reader never sees half a file); the binaries already there stay.
mkdir -p "$OUT"
for b in "${build[@]}"; do
  cp _output/local/bin/linux/*/"$b" "$OUT/.$b.tmp"
  mv "$OUT/.$b.tmp" "$OUT/$b"
done
cd /
rm -rf "$work"
echo "$OUT"

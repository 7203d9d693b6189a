#!/usr/bin/env bash
# make fresh-check: proves on a fresh Debian 12 that `make deps` is the whole system set-up, and idempotent.
#
# A Debian bookworm minbase with git, make and python3 only (mmdebstrap from the machine's own Debian mirror,
# as the agent image's base is made: containers/debian.sh), run with podman; in it, a clone of this
# repository's HEAD (what is committed: commit first), `make deps`, then `make deps` again. It fails unless
# both succeed, the first installs every package of tests/deps/debian-packages.txt and the Kubernetes
# source is known to apt, and the second has nothing to do and takes under 10 s; and then the commands the
# project runs are there (a venv with pip, and a cgo build with Go 1.19 as kubelet's). Both outputs are printed.
#
#   tests/deps/fresh-machine.sh [--refresh-base]    --refresh-base: make the fresh Debian again
#
# Several minutes and a few hundred MB from the mirror, and root (podman, mmdebstrap): not part of make test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMAGE=localhost/coreos-multicluster/debian-fresh:bookworm
WORK="$ROOT/build/fresh-machine"
# shellcheck source=containers/debian.sh
. "$ROOT/containers/debian.sh"
say() { printf 'fresh-machine: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

refresh=false
case "${1:-}" in
  --refresh-base) refresh=true ;;
  "") ;;
  *) die "unknown argument: $1 (--refresh-base, or nothing)" ;;
esac
command -v podman >/dev/null || die "podman is not installed (make deps installs it)"

if $refresh || ! pm image exists "$IMAGE"; then
  say "making $IMAGE: mmdebstrap --variant=minbase --include=git,make,python3 bookworm"
  started=$SECONDS
  debian_minbase_image git,make,python3 "$IMAGE" "$WORK" || die "the fresh Debian could not be made"
  say "made in $((SECONDS - started)) s"
fi
say "in a container of $IMAGE: git clone of $(git -C "$ROOT" rev-parse --short HEAD), make deps, make deps"

# In the container: each run's output (stdout and stderr, in order) and its rc and seconds; then what was
# installed. The host's network (apt reaches the mirror as the host does); the ulimits runc needs here.
# shellcheck disable=SC2016  # expanded by the container's bash
script='
set -u
git clone -q --no-hardlinks /src /work && cd /work || exit 1
for run in 1 2; do
  echo "=== make deps, run $run"
  start=$EPOCHREALTIME
  make deps 2>&1; rc=$?
  echo "=== run $run: rc=$rc seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" "BEGIN {printf \"%.1f\", b - a}")"
done
echo "=== not installed after the runs:"
awk "!/^#/ && NF {print \$1}" tests/deps/debian-packages.txt |
  xargs dpkg-query -W -f="\${Package} \${db:Status-Abbrev}\n" 2>&1 | awk "\$2 != \"ii\""
echo "=== apt-cache showsrc kubernetes: $(apt-cache showsrc --only-source kubernetes | sed -n "s/^Version: //p" | head -1)"
echo "=== commands the project runs, missing:"
for c in make git rsync etcd kubectl jq dpkg-source containerd ctr iptables conntrack ip nsenter podman mmdebstrap \
    newuidmap shellcheck flock script timeout /usr/sbin/runc /usr/lib/go-1.19/bin/go /usr/lib/cni/bridge \
    /usr/lib/cni/host-local /usr/lib/cni/loopback; do
  command -v "$c" >/dev/null || echo "$c"
done
python3 -m venv /tmp/venv >/dev/null 2>&1 && /tmp/venv/bin/python -m pip --version >/dev/null 2>&1 || echo "python3 -m venv (with pip)"
mkdir -p /tmp/cgo && printf "package main\n\n// int one(void) { return 1; }\nimport \"C\"\n\nfunc main() { println(C.one()) }\n" >/tmp/cgo/main.go
(cd /tmp/cgo && CGO_ENABLED=1 GOCACHE=/tmp/cgo/cache /usr/lib/go-1.19/bin/go build -o one main.go >/dev/null 2>&1 && ./one 2>&1 | grep -qx 1) ||
  echo "a cgo build with Go 1.19 (kubelet links with cgo)"
echo "=== end"
'
mkdir -p "$WORK"
out="$WORK/output.txt"
pm run --rm --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  -v "$ROOT/.git:/src:ro" "$IMAGE" bash -c "$script" >"$out" 2>&1 || die "the container failed (its output: $out)"
cat "$out"

# The verdict
rc1=$(sed -n 's/^=== run 1: rc=\([0-9]*\).*/\1/p' "$out")
rc2=$(sed -n 's/^=== run 2: rc=\([0-9]*\).*/\1/p' "$out")
s2=$(sed -n 's/^=== run 2: .*seconds=\([0-9.]*\).*/\1/p' "$out")
failures=()
[ "$rc1" = 0 ] || failures+=("the first make deps failed (rc=$rc1)")
[ "$rc2" = 0 ] || failures+=("the second make deps failed (rc=$rc2)")
sed -n '/^=== make deps, run 1/,/^=== run 1:/p' "$out" | grep -q '^deps: installing ' ||
  failures+=("the first make deps installed nothing")
sed -n '/^=== make deps, run 2/,/^=== run 2:/p' "$out" | grep -q '^deps: nothing to do' ||
  failures+=("the second make deps did not find everything in place")
awk -v s="${s2:-999}" 'BEGIN {exit !(s < 10)}' || failures+=("the second make deps took ${s2:-?} s (10 s at most)")
sed -n '/^=== not installed after the runs:/,/^===/p' "$out" | grep -qv '^===' &&
  failures+=("packages of the list are not installed (above)")
grep -q '^=== apt-cache showsrc kubernetes: [0-9]' "$out" || failures+=("apt does not know the Kubernetes source package")
sed -n '/^=== commands the project runs, missing:/,/^=== end/p' "$out" | grep -qv '^===' &&
  failures+=("commands the project runs are missing or do not work (above)")
if [ "${#failures[@]}" -gt 0 ]; then
  printf 'fresh-machine: FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
say "ok: the first make deps installed everything, the second had nothing to do ($s2 s)"

#!/usr/bin/env bash
# make molecule: every molecule scenario of the collection (extensions/molecule/<scenario>/), one
# after the other, each against a lab fleet of its own that its create step starts and its destroy
# step stops (molecule runs destroy after a failed step too). Ends with one line per scenario and
# exits non-zero when any scenario failed. Whatever happens - a failure, Ctrl-C, a TERM from a CI
# timeout - no lab process is left running.
#
#   MC_MOLECULE_SCENARIOS="registry deregistration"   run only these
#   MC_MOLECULE_DIR=/path                              where scenarios keep state, labs and logs
#                                                      (default build/molecule; kept after the run)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PY="$ROOT/.venv/bin/python"
export PATH="$ROOT/.venv/bin:$PATH"
# The collection under test is the copy make tree puts in build/ (make molecule builds it first).
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build"
[ -n "${MAKELEVEL:-}" ] || make -s tree
WORK="${MC_MOLECULE_DIR:-$ROOT/build/molecule}"
mkdir -p "$WORK"

# Scenarios in the order site.yml runs the roles, then any other scenario found.
preferred=(registry directory_setup replica_onboarding deregistration)
found=()
for f in extensions/molecule/*/molecule.yml; do found+=("$(basename "$(dirname "$f")")"); done
if [ -n "${MC_MOLECULE_SCENARIOS:-}" ]; then
  read -r -a scenarios <<<"$MC_MOLECULE_SCENARIOS"
else
  scenarios=()
  for s in "${preferred[@]}"; do [[ " ${found[*]} " == *" $s "* ]] && scenarios+=("$s"); done
  for s in "${found[@]}"; do [[ " ${preferred[*]} " == *" $s "* ]] || scenarios+=("$s"); done
fi

child=""   # the running molecule (leader of a process group of its own)
lab=""     # the lab folder of the running scenario

# Stop the lab of a scenario: its own 'down' first, then any etcd or Kubernetes process still
# naming the folder in its command line (a lab killed half-way through 'up' has no lab.json yet).
stop_lab() {
  local dir=$1 pid left=()
  [ -d "$dir" ] || return 0
  if [ -f "$dir/lab.json" ]; then
    "$PY" -m tests.lab down --dir "$dir" || true
  fi
  for pid in $(lab_pids "$dir"); do left+=("$pid"); done
  [ "${#left[@]}" -eq 0 ] && return 0
  echo "molecule.sh: stopping ${#left[@]} lab processes left in $dir: ${left[*]}" >&2
  kill -TERM "${left[@]}" 2>/dev/null
  sleep 5
  for pid in $(lab_pids "$dir"); do kill -KILL "$pid" 2>/dev/null; done
  return 1
}

lab_pids() {
  local proc comm
  for proc in /proc/[0-9]*; do
    comm=$(cat "$proc/comm" 2>/dev/null) || continue
    case $comm in etcd | kube-apiserver | kube-controller) ;; *) continue ;; esac
    tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -qF -- "$1/" && echo "${proc#/proc/}"
  done
}

# shellcheck disable=SC2317  # invoked by the traps below
cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM -- "-$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  child=""
  if [ -n "$lab" ]; then stop_lab "$lab"; fi
  lab=""
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

results=()
failed=0
for s in "${scenarios[@]}"; do
  if [ ! -f "extensions/molecule/$s/molecule.yml" ]; then
    results+=("$(printf '%-20s FAILED  (no scenario extensions/molecule/%s)' "$s" "$s")")
    failed=1
    continue
  fi
  eph="$WORK/$s"
  lab="$eph/lab"
  log="$WORK/$s.log"
  echo "=== molecule test -s $s   (log: $log)"
  start=$SECONDS
  # A process group of its own, so that a signal to this script can end molecule and its
  # ansible-playbook (the lab's processes run in sessions of their own: stop_lab ends them).
  # shellcheck disable=SC2016  # $1, $2 and PIPESTATUS belong to the inner bash
  MOLECULE_EPHEMERAL_DIRECTORY="$eph" setsid bash -c \
    'molecule test -s "$1" 2>&1 | tee "$2"; exit "${PIPESTATUS[0]}"' _ "$s" "$log" &
  child=$!
  wait "$child"
  rc=$?
  child=""
  took=$((SECONDS - start))
  note=""
  if ! stop_lab "$lab"; then
    note=", lab processes were left running"
    [ "$rc" -ne 0 ] || rc=1
  fi
  lab=""
  if [ "$rc" -eq 0 ]; then
    results+=("$(printf '%-20s passed  (%dm%02ds)' "$s" $((took / 60)) $((took % 60)))")
  else
    failed=1
    step=$(sed -n "s/.*An error occurred during the [a-z]* sequence action: '\([a-z_]*\)'.*/\1/p" "$log" | tail -n 1)
    results+=("$(printf '%-20s FAILED  (%dm%02ds, rc %d%s%s; log %s; lab logs %s/*/logs/)' "$s" $((took / 60)) \
      $((took % 60)) "$rc" "${step:+, at $step}" "$note" "$log" "$eph/lab")")
  fi
done

echo
echo "=== molecule: $( [ "$failed" -eq 0 ] && echo "all ${#scenarios[@]} scenarios passed" || echo "FAILED")"
for line in "${results[@]}"; do echo "  $line"; done
exit "$failed"

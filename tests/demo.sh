#!/usr/bin/env bash
# make demo: the main job on the lab fleet.
#   1. bring up three real clusters (if they are not up), a node on each replica with the
#      directory-sync agent's image (make image) loaded into it, and their inventory
#   2. site.yml: registry everywhere, the directory and its two Cluster Policies
#      (examples/cluster-policies.yml), every replica onboarded
#   3. on each replica: the directory-sync Deployment AVAILABLE 1; the Cluster list and the
#      policies' objects there, pulled and applied by its pod (no module sync)
#   4. on the directory: each replica's conditions (SYNCED, POLICIES, VERSION) written by its pod on its own
#      Cluster, and their heartbeat Leases; the fleet as ClusterProfiles (export_cluster_profiles.yml),
#      ControlPlaneHealthy from the heartbeats
#   5. relabel east-coast-production in the directory: its pod takes it out of one policy
#   6. sync_replicas.yml (the same engine from Ansible, for AWX schedules): no object left to change;
#      policy_status.yml: cluster by policy
#   7. de-register central-production, show it gone, its old credential refused,
#      and gone from the other replica too, within seconds (its pod)
# The fleet stays up afterwards; 'make lab-down' stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR="${MC_LAB_DIR:-$PWD/.lab}"
BIN="${BIN:-$PWD/.venv/bin}"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$PWD/build}"
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_FORCE_COLOR=false ANSIBLE_NOCOLOR=true

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
kc() { local name=$1; shift; kubectl --kubeconfig "$LAB_DIR/$name.kubeconfig" "$@"; }
playbook() { "$BIN/ansible-playbook" -i "$LAB_DIR/inventory.yml" "$@"; }
# wait_until SECONDS WHAT COMMAND...: poll COMMAND (every second) until it succeeds; fail naming WHAT
wait_until() {
  local seconds=$1 what=$2 started=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - started >= seconds )); then
      echo "demo: $what: not within ${seconds}s" >&2
      exit 1
    fi
    sleep 1
  done
  echo "($what: after $(( SECONDS - started ))s)"
}
clusters_are() {  # clusters_are CLUSTER NAME...: its Cluster list is exactly NAME...
  local cluster=$1
  shift
  [ "$(kc "$cluster" get clusters -o 'jsonpath={.items[*].metadata.name}')" = "$*" ]
}
policies_applied() {  # policies_applied CLUSTER N: its last sync recorded N policies applied
  kc "$1" -n tectonic-system get configmap directory-sync-status -o 'jsonpath={.data.message}' \
    | grep -q "policies: $2 applied"
}
gone() { ! kc "$1" get "$2" -o name; }
reported() {  # reported CLUSTER N: its pod wrote Synced=True and N/N policies applied on its Cluster in the directory
  [ "$(kc "$DIRECTORY" get clusters "$1" \
      -o 'jsonpath={.status.conditions[?(@.type=="Synced")].status} {.status.policiesApplied}')" = "True $2/$2" ]
}

if [ ! -f "$LAB_DIR/lab.json" ]; then
  "$BIN/python" -m tests.lab up --dir "$LAB_DIR" --nodes
elif ! "$BIN/python" -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1])).get("nodes"))' \
    "$LAB_DIR/lab.json"; then
  echo "demo: the lab in $LAB_DIR has no nodes (an older 'make lab-up'); run 'make lab-down' first" >&2
  exit 1
else
  echo "lab fleet already up in $LAB_DIR"
fi
DIRECTORY=west-coast-production
REPLICAS=(east-coast-production central-production)
FLEET=(central-production east-coast-production west-coast-production)

say "ansible-playbook coreos.multicluster.site -i $LAB_DIR/inventory.yml -e @examples/cluster-policies.yml"
playbook coreos.multicluster.site -e @examples/cluster-policies.yml

say "kubectl get clusters   (on the directory, $DIRECTORY)"
kc "$DIRECTORY" get clusters

say "kubectl get clusterpolicies   (on the directory)"
kc "$DIRECTORY" get clusterpolicies

for replica in "${REPLICAS[@]}"; do
  say "kubectl -n tectonic-system get secret directory-sync   (on $replica)"
  kc "$replica" -n tectonic-system get secret directory-sync
done

for replica in "${REPLICAS[@]}"; do
  say "kubectl get deployments -n tectonic-system -l app=directory-sync   (on $replica)"
  wait_until 180 "the directory-sync Deployment Available on $replica" \
    kc "$replica" -n tectonic-system wait --for=condition=Available deployment/directory-sync --timeout=5s
  kc "$replica" get deployments -n tectonic-system -l app=directory-sync
  kc "$replica" get pods -n tectonic-system -l app=directory-sync -o wide
done

policy_objects() {
  kc "$1" get namespaces,resourcequotas,limitranges,rolebindings,clusterrolebindings -A \
    -l app.kubernetes.io/managed-by=directory-sync \
    -o 'custom-columns=KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,POLICIES:.metadata.annotations.multicluster\.coreos\.com/policies'
}
applied=(2 1)  # east-coast-production (gcp): both policies; central-production (azure): production-baseline
for i in "${!REPLICAS[@]}"; do
  replica=${REPLICAS[$i]}
  say "kubectl get clusters   (on the replica $replica, pulled from the directory by its directory-sync pod)"
  wait_until 60 "the fleet's Clusters on $replica" clusters_are "$replica" "${FLEET[@]}"
  wait_until 60 "the policies applied on $replica" policies_applied "$replica" "${applied[$i]}"
  kc "$replica" get clusters
  kc "$replica" -n tectonic-system get configmap directory-sync-status \
    -o 'jsonpath=status: {.data.result} - {.data.message} (last success {.data.lastSuccess}){"\n"}'
  # The pod of the Deployment's latest rollout: "synced" shows at info level only when it changed something,
  # and an earlier pod (before the credential-hash rollout) may have done the first sync already.
  say "kubectl logs -n tectonic-system deployment/directory-sync | head -3   (on $replica)"
  kc "$replica" logs -n tectonic-system deployment/directory-sync | sed -n '1,3p' | cut -c1-300

  say "kubectl get ns,resourcequota,limitrange,rolebindings,clusterrolebindings -A -l app.kubernetes.io/managed-by=directory-sync   (on $replica)"
  policy_objects "$replica"
done

say "kubectl get clusters   (on the directory: each replica's pod wrote its conditions on its own Cluster)"
for i in "${!REPLICAS[@]}"; do
  wait_until 60 "${REPLICAS[$i]}'s conditions in the directory" reported "${REPLICAS[$i]}" "${applied[$i]}"
done
kc "$DIRECTORY" get clusters -o wide

say "kubectl -n tectonic-multi-cluster get leases   (on the directory: the replicas' heartbeats, renewed every 60 s)"
kc "$DIRECTORY" -n tectonic-multi-cluster get leases

say "ansible-playbook coreos.multicluster.install_registry --limit $DIRECTORY -e registry_cluster_profiles=true   (the ClusterProfile API on the directory)"
playbook coreos.multicluster.install_registry --limit "$DIRECTORY" -e registry_cluster_profiles=true | tail -n 4

say "ansible-playbook coreos.multicluster.export_cluster_profiles   (the fleet as SIG-Multicluster ClusterProfiles)"
playbook coreos.multicluster.export_cluster_profiles

say "kubectl get clusterprofiles -A   (on the directory)"
kc "$DIRECTORY" get clusterprofiles -A
kc "$DIRECTORY" get clusterprofiles -n fleet-inventory east-coast-production \
  -o 'jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}: {.message}){"\n"}{end}{range .status.properties[*]}{.name}={.value}{"\n"}{end}'

say "kubectl label cluster east-coast-production cloud=aws --overwrite   (on the directory: out of gcp-admins)"
kc "$DIRECTORY" label clusters east-coast-production cloud=aws --overwrite
# its pod sees the change through its watch; gcp-tools held only the policy's objects: deleted
wait_until 90 "east-coast-production out of gcp-admins, namespace gcp-tools gone" \
  gone east-coast-production namespace/gcp-tools

say "the policies' objects on east-coast-production   (gcp-admins' are gone)"
policy_objects east-coast-production

say "ansible-playbook coreos.multicluster.sync_replicas   (the same engine, from Ansible, as an AWX schedule runs it: the pods left it nothing to create, update or delete)"
playbook coreos.multicluster.sync_replicas

say "ansible-playbook coreos.multicluster.policy_status"
playbook coreos.multicluster.policy_status

# Keep central-production's credential (0600, removed on exit) to prove it is refused afterwards.
old=$(mktemp)
trap 'rm -f "$old"' EXIT
chmod 600 "$old"
kc central-production -n tectonic-system get secret directory-sync -o 'jsonpath={.data.kubeconfig}' | base64 -d > "$old"

say "ansible-playbook coreos.multicluster.deregister_replica --limit central-production"
playbook coreos.multicluster.deregister_replica --limit central-production

say "kubectl get clusters   (on the directory: central-production is gone)"
kc "$DIRECTORY" get clusters

say "ansible-playbook coreos.multicluster.export_cluster_profiles; kubectl get clusterprofiles -A   (central-production's profile is gone)"
playbook coreos.multicluster.export_cluster_profiles
kc "$DIRECTORY" get clusterprofiles -A

say "kubectl get clusters with central-production's old credential"
if out=$(kubectl --kubeconfig "$old" get clusters 2>&1); then
  echo "$out"
  echo "demo: the old credential still works: de-registration did not revoke it" >&2
  exit 1
fi
echo "$out"

say "kubectl get clusters   (on the replica east-coast-production: its pod removed central-production too)"
wait_until 60 "central-production gone from east-coast-production" \
  clusters_are east-coast-production east-coast-production west-coast-production
kc east-coast-production get clusters

say "done"
echo "The fleet stays up for you to explore (kubeconfigs and inventory in $LAB_DIR); 'make lab-down' stops it."

#!/usr/bin/env bash
# make demo: the main job on the lab fleet.
#   1. bring up three real clusters (if they are not up) and their inventory
#   2. site.yml: registry everywhere, the directory, every replica onboarded
#   3. show the directory's Clusters and each replica's sync Secret
#   4. sync_replicas.yml: each replica pulls the Cluster list with its own credential,
#      and applies the two Cluster Policies of examples/cluster-policies.yml (given to site.yml)
#   5. relabel east-coast-production in the directory: out of one policy, its objects gone
#   6. policy_status.yml: cluster by policy
#   7. de-register central-production, show it gone, its old credential refused,
#      and (after the next sync) gone from the other replica too
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

if [ ! -f "$LAB_DIR/lab.json" ]; then
  "$BIN/python" -m tests.lab up --dir "$LAB_DIR"
else
  echo "lab fleet already up in $LAB_DIR"
fi
DIRECTORY=west-coast-production
REPLICAS=(east-coast-production central-production)

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

say "ansible-playbook coreos.multicluster.sync_replicas"
playbook coreos.multicluster.sync_replicas

for replica in "${REPLICAS[@]}"; do
  say "kubectl get clusters   (on the replica $replica, pulled from the directory)"
  kc "$replica" get clusters
  kc "$replica" -n tectonic-system get configmap directory-sync-status \
    -o 'jsonpath=status: {.data.result} - {.data.message} (last success {.data.lastSuccess}){"\n"}'
done

policy_objects() {
  kc "$1" get namespaces,resourcequotas,limitranges,rolebindings,clusterrolebindings -A \
    -l app.kubernetes.io/managed-by=directory-sync \
    -o 'custom-columns=KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,POLICIES:.metadata.annotations.multicluster\.coreos\.com/policies'
}
for replica in "${REPLICAS[@]}"; do
  say "kubectl get ns,resourcequota,limitrange,rolebindings,clusterrolebindings -A -l app.kubernetes.io/managed-by=directory-sync   (on $replica)"
  policy_objects "$replica"
done

say "kubectl label cluster east-coast-production cloud=aws --overwrite   (on the directory: out of gcp-admins)"
kc "$DIRECTORY" label clusters east-coast-production cloud=aws --overwrite

say "ansible-playbook coreos.multicluster.sync_replicas --limit east-coast-production"
playbook coreos.multicluster.sync_replicas --limit east-coast-production

# gcp-tools held only the policy's objects: deleted (the namespace controller finalizes it)
if ! kc east-coast-production wait --for=delete namespace/gcp-tools --timeout=90s >/dev/null 2>&1 \
   && kc east-coast-production get namespace gcp-tools -o name >/dev/null 2>&1; then
  echo "demo: namespace gcp-tools is still there after east-coast-production left gcp-admins" >&2
  exit 1
fi
say "the policies' objects on east-coast-production   (gcp-admins' are gone)"
policy_objects east-coast-production

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

say "kubectl get clusters with central-production's old credential"
if out=$(kubectl --kubeconfig "$old" get clusters 2>&1); then
  echo "$out"
  echo "demo: the old credential still works: de-registration did not revoke it" >&2
  exit 1
fi
echo "$out"

say "ansible-playbook coreos.multicluster.sync_replicas   (east-coast-production pulls the change)"
playbook coreos.multicluster.sync_replicas --limit east-coast-production

say "kubectl get clusters   (on the replica east-coast-production: central-production is gone there too)"
kc east-coast-production get clusters

say "done"
echo "The fleet stays up for you to explore (kubeconfigs and inventory in $LAB_DIR); 'make lab-down' stops it."

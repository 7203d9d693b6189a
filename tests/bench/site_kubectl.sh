#!/usr/bin/env bash
# The whole procedure of playbooks/site.yml, scripted with kubectl, on a fleet where nothing is installed:
# the registry's manifest applied on every cluster (all in parallel), the directory's own Cluster object, then
# every replica onboarded (onboard_kubectl.sh, replicas in parallel).
#
#   site_kubectl.sh CLUSTERS_FILE DIRECTORY_SERVER DIRECTORY_LABELS_JSON DIRECTORY_CONSOLE_URL REPLICAS_FILE
#
# CLUSTERS_FILE: one cluster a line, tab-separated, the directory first:
#   name  admin-kubeconfig  context  manifest (the registry's objects for that cluster, rendered the way the
#                                             collection's registry role renders them)
# REPLICAS_FILE: as for onboard_kubectl.sh.
set -euo pipefail

if [ $# -ne 5 ]; then
  echo "usage: $0 CLUSTERS_FILE DIRECTORY_SERVER DIRECTORY_LABELS_JSON DIRECTORY_CONSOLE_URL REPLICAS_FILE" >&2
  exit 2
fi
CLUSTERS_FILE=$1 DIR_SERVER=$2 DIR_LABELS=$3 DIR_CONSOLE=$4 REPLICAS_FILE=$5
KUBECTL=${KUBECTL:-kubectl}
HERE=$(cd "$(dirname "$0")" && pwd)

install() {
  local kubeconfig=$1 context=$2 manifest=$3
  "$KUBECTL" --kubeconfig "$kubeconfig" --context "$context" --request-timeout=60s apply -f "$manifest" >/dev/null
  "$KUBECTL" --kubeconfig "$kubeconfig" --context "$context" wait --for condition=Established --timeout=60s \
    crd/clusters.multicluster.coreos.com crd/clusterpolicies.multicluster.coreos.com >/dev/null
}

# 1. the registry on every cluster, in parallel
pids=() names=()
first=""
while IFS=$'\t' read -r name kubeconfig context manifest; do
  [ -n "$name" ] || continue
  [ -n "$first" ] || first="$name	$kubeconfig	$context"
  install "$kubeconfig" "$context" "$manifest" &
  pids+=($!) names+=("$name")
done <"$CLUSTERS_FILE"
failed=()
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "registry install failed on: ${failed[*]}" >&2
  exit 1
fi

# 2. the directory's own Cluster object
IFS=$'\t' read -r dir_name dir_kubeconfig dir_context <<<"$first"
"$KUBECTL" --kubeconfig "$dir_kubeconfig" --context "$dir_context" --request-timeout=30s apply -f - >/dev/null <<EOF
apiVersion: multicluster.coreos.com/v1
kind: Cluster
metadata:
  name: $dir_name
  labels: $DIR_LABELS
  annotations:
    multicluster.coreos.com/console-url: "$DIR_CONSOLE"
    multicluster.coreos.com/directory: "true"
spec:
  KubernetesAPIEndpoints:
    ServerEndpoints:
      - ServerAddress: "$DIR_SERVER"
EOF

# 3. every replica onboarded
exec "$HERE/onboard_kubectl.sh" "$dir_kubeconfig" "$dir_context" "$DIR_SERVER" "$REPLICAS_FILE"

#!/usr/bin/env bash
# The original guide's onboarding procedure, scripted with kubectl: every replica of REPLICAS_FILE
# onboarded to the directory in parallel (one background job per replica, then wait).
#
#   onboard_kubectl.sh DIRECTORY_KUBECONFIG DIRECTORY_CONTEXT DIRECTORY_SERVER REPLICAS_FILE
#
# REPLICAS_FILE: one replica a line, tab-separated:
#   name  admin-kubeconfig  context  api-endpoint  console-url  labels-as-JSON
#
# Per replica, on the directory: its Cluster object (labels, console-url annotation, API endpoint); ServiceAccount
# <name> in tectonic-multi-cluster and ClusterRoleBinding <name>-view-clusters to ClusterRole tectonic-view-clusters;
# the token the token controller puts in the ServiceAccount's Secret (Kubernetes < 1.24); a kubeconfig for the
# directory with it. On the replica: Secret tectonic-system/directory-sync holding it (key kubeconfig). Then a check
# that the credential lists the replica's Cluster on the directory. Everything is `kubectl apply` (client-side: an
# unchanged object is not written), so a converged re-run is a re-run of this script. Tokens and kubeconfigs are
# kept in 0600 files in a private temporary folder, removed at exit, and never printed.
set -euo pipefail

if [ $# -ne 4 ]; then
  echo "usage: $0 DIRECTORY_KUBECONFIG DIRECTORY_CONTEXT DIRECTORY_SERVER REPLICAS_FILE" >&2
  exit 2
fi
DIR_KUBECONFIG=$1 DIR_CONTEXT=$2 DIR_SERVER=$3 REPLICAS_FILE=$4
KUBECTL=${KUBECTL:-kubectl}
NS=tectonic-multi-cluster
umask 077
PRIVATE=$(mktemp -d "${TMPDIR:-/tmp}/mc-onboard-kubectl.XXXXXX")
trap 'rm -rf "$PRIVATE"' EXIT

on_directory() { "$KUBECTL" --kubeconfig "$DIR_KUBECONFIG" --context "$DIR_CONTEXT" --request-timeout=30s "$@"; }

onboard() {
  local name=$1 kubeconfig=$2 context=$3 endpoint=$4 console=$5 labels=$6
  # 1. register the replica in the directory
  on_directory apply -f - >/dev/null <<EOF
apiVersion: multicluster.coreos.com/v1
kind: Cluster
metadata:
  name: $name
  labels: $labels
  annotations:
    multicluster.coreos.com/console-url: "$console"
spec:
  KubernetesAPIEndpoints:
    ServerEndpoints:
      - ServerAddress: "$endpoint"
EOF
  # 2. its view-only identity on the directory
  on_directory apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $name
  namespace: $NS
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: $name-view-clusters
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: tectonic-view-clusters
subjects:
  - kind: ServiceAccount
    name: $name
    namespace: $NS
EOF
  # 3. the token the token controller put in the ServiceAccount's Secret (kept in memory, never printed)
  local secret="" tries=0
  while [ -z "$secret" ]; do
    secret=$(on_directory -n "$NS" get serviceaccount "$name" -o 'jsonpath={.secrets[0].name}')
    if [ -z "$secret" ]; then
      tries=$((tries + 1))
      [ "$tries" -le 150 ] || { echo "$name: no token Secret for ServiceAccount $NS/$name after 30 s" >&2; return 1; }
      sleep 0.2
    fi
  done
  local data token ca
  data=$(on_directory -n "$NS" get secret "$secret" -o 'jsonpath={.data.token} {.data.ca\.crt}')
  token=${data%% *} ca=${data#* }
  if [ -z "$token" ] || [ -z "$ca" ]; then
    echo "$name: Secret $NS/$secret holds no token yet" >&2
    return 1
  fi
  # 4. a kubeconfig for the directory with that token (a 0600 file)
  local file="$PRIVATE/$name.kubeconfig"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: directory
    cluster:
      server: $DIR_SERVER
      certificate-authority-data: $ca
users:
  - name: $name
    user:
      token: $(printf '%s' "$token" | base64 -d)
contexts:
  - name: directory
    context: {cluster: directory, user: $name}
current-context: directory
EOF
  # 5. the sync Secret on the replica (the content goes through stdin, never the command line)
  "$KUBECTL" --kubeconfig "$kubeconfig" --context "$context" --request-timeout=30s apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
type: Opaque
metadata:
  name: directory-sync
  namespace: tectonic-system
data:
  kubeconfig: $(base64 -w0 <"$file")
EOF
  # 6. the credential works: it lists this replica's Cluster on the directory
  local listed
  listed=$("$KUBECTL" --kubeconfig "$file" --request-timeout=30s get clusters -o name)
  case " ${listed//$'\n'/ } " in
    *" cluster.multicluster.coreos.com/$name "*) ;;
    *) echo "$name: its credential does not list Cluster $name on the directory" >&2; return 1 ;;
  esac
}

pids=() names=()
while IFS=$'\t' read -r name kubeconfig context endpoint console labels; do
  [ -n "$name" ] || continue
  onboard "$name" "$kubeconfig" "$context" "$endpoint" "$console" "$labels" &
  pids+=($!) names+=("$name")
done <"$REPLICAS_FILE"

failed=()
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "onboarding failed for: ${failed[*]}" >&2
  exit 1
fi
echo "onboarded ${#pids[@]} replicas"

#!/usr/bin/env bash
# make demo: bring up the lab fleet (if it is not up) and run the main job on it.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR="${MC_LAB_DIR:-$PWD/.lab}"
PY="${PY:-.venv/bin/python}"

if [ ! -f "$LAB_DIR/lab.json" ]; then
  "$PY" -m tests.lab up --dir "$LAB_DIR"
else
  echo "lab fleet already up in $LAB_DIR"
fi
echo
for kc in "$LAB_DIR"/*.kubeconfig; do
  name=$(basename "$kc" .kubeconfig)
  echo "== $name: kubectl get namespaces"
  kubectl --kubeconfig "$kc" get namespaces
  echo
done
echo "== inventory ($LAB_DIR/inventory.yml)"
.venv/bin/ansible-inventory -i "$LAB_DIR/inventory.yml" --graph
echo
echo "The fleet stays up for you to explore; 'make lab-down' stops it."

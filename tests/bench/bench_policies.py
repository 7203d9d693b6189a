"""Benchmark (figures, not a test): Cluster Policies into one replica.

A 2-cluster lab fleet; MC_BENCH_CLUSTERS (default 1,000) Clusters and
MC_BENCH_POLICIES (default 50) ClusterPolicies of 3 namespaces each (a
RoleBinding, a ResourceQuota and a LimitRange in each, a ClusterRoleBinding
per policy) on the directory, all selecting the replica. Prints, for a first
sync, a converged re-sync and a re-sync after one policy changed, the wall
time, the HTTP requests made to each cluster and the write requests on the
replica (from its audit log).

    python -m tests.bench policies      (make bench runs every bench_*.py)
"""

import os
import shutil
import sys
import tempfile
import time

from tests.bench.bench_sync import RequestCounter, _create_clusters, _import_collection, install_registry


def _policy(index, namespaces):
    name = "bench-policy-%02d" % index
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
            "spec": {"selector": {"stage": "production"},
                     "authorization": {"clusterBindings": [{"clusterRole": "view", "groups": ["g-%02d" % index]}]},
                     "namespaces": [{"name": "%s-ns%d" % (name, n),
                                     "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]},
                                     "resourceQuota": {"hard": {"pods": "20", "requests.cpu": "4000m"}},
                                     "limitRange": {"limits": [{"type": "Container", "max": {"cpu": "2"}}]}}
                                    for n in range(namespaces)]}}


def _measure(label, directory_sync, directory, replica, server, counters, replica_lab):
    for counter in counters:
        counter.take()
    mark = replica_lab.audit_mark()
    started = time.perf_counter()
    result = directory_sync.sync(directory, replica, server, status_interval=300)
    elapsed = time.perf_counter() - started
    requests = [counter.take() for counter in counters]
    time.sleep(1.5)  # the audit log's batch
    writes = replica_lab.writes_since(mark)
    states = {}
    for entry in (result["policies"] or {}).get("items", {}).values():
        states[entry["state"]] = states.get(entry["state"], 0) + 1
    print("%-34s %8.2f s   requests: directory %5d, replica %5d   writes on the replica %4d   created %4d, "
          "updated %4d, deleted %4d   policies %s" % (
              label, elapsed, requests[0], requests[1], len(writes or []), len(result["created"]),
              len(result["updated"]), len(result["deleted"]), states))
    sys.stdout.flush()
    return result


def main(argv=None):
    from tests.lab import Fleet

    client_module, directory_sync = _import_collection()
    count = int(os.environ.get("MC_BENCH_CLUSTERS", "1000"))
    policies = int(os.environ.get("MC_BENCH_POLICIES", "50"))
    root = tempfile.mkdtemp(prefix="mc-bench-policies-")
    fleet = Fleet(root, ("bench-directory", "bench-replica"))
    print("bench_policies: %d Clusters and %d ClusterPolicies of 3 namespaces each into one replica, lab fleet in %s"
          % (count, policies, root))
    try:
        directory_lab, replica_lab = fleet.start()
        install_registry(directory_lab, replica_lab)
        replica_lab.kubectl("-n", "tectonic-system", "create", "configmap", "tectonic-config",
                            "--from-literal=clusterName=bench-0000")
        started = time.perf_counter()
        _create_clusters(client_module, directory_lab, count)  # bench-0000 is the replica's own (stage: production)
        directory = client_module.ClusterClient({"kubeconfig": directory_lab.kubeconfig,
                                                 "context": directory_lab.context})
        for index in range(policies):
            directory.create(_policy(index, 3))
        print("%-34s %8.2f s" % ("create them on the directory", time.perf_counter() - started))

        replica = client_module.ClusterClient({"kubeconfig": replica_lab.kubeconfig, "context": replica_lab.context})
        counters = (RequestCounter(directory), RequestCounter(replica))
        server = directory_lab.server
        run = (directory_sync, directory, replica, server, counters, replica_lab)
        _measure("first sync", *run)
        _measure("re-sync, nothing changed", *run)
        changed = _policy(0, 3)
        changed["spec"]["namespaces"][0]["resourceQuota"]["hard"]["pods"] = "30"
        live = directory.get("ClusterPolicy", changed["metadata"]["name"])
        directory.patch("ClusterPolicy", changed["metadata"]["name"],
                        {"spec": changed["spec"], "metadata": {"resourceVersion": live["metadata"]["resourceVersion"]}},
                        content_type="application/merge-patch+json")
        _measure("re-sync after one policy changed", *run)
        _measure("re-sync, nothing changed", *run)
        directory.close()
        replica.close()
    finally:
        fleet.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (figures, not a test): the directory-sync engine on a 2-cluster lab fleet.

Creates MC_BENCH_CLUSTERS (default 1,000) Clusters on the directory, then
syncs them into the replica with the engine and prints, for a first sync, a
no-change re-sync and a re-sync after one label change, the wall time and the
number of HTTP requests made to each cluster (counted at the kubernetes
client's REST layer, so retries and list pages count).

    python -m tests.bench.bench_sync      (or: make bench, which runs every bench_*.py)
"""

import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGISTRY_MANIFEST = os.path.join(ROOT, "roles", "registry", "files", "registry.yml")


def _import_collection():
    """The collection from build/ (make tree), else via the unit tests' symlink trick."""
    build = os.path.join(ROOT, "build")
    if os.path.isdir(os.path.join(build, "ansible_collections", "coreos", "multicluster")):
        if build not in sys.path:
            sys.path.insert(0, build)
    else:  # pragma: no cover - without make tree
        import tests.unit.conftest  # noqa: F401 - puts ansible_collections on sys.path
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import client
    from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine
    return client, engine


class RequestCounter(object):
    """Counts the HTTP requests a ClusterClient makes (wraps its REST client's request())."""

    def __init__(self, cluster_client):
        self.count = 0
        rest = cluster_client.api_client.rest_client
        original = rest.request

        def counted(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)
        rest.request = counted

    def take(self):
        count, self.count = self.count, 0
        return count


def install_registry(*clusters):
    """The registry's CRDs on each lab cluster, Established."""
    for cluster in clusters:
        cluster.kubectl("apply", "-f", REGISTRY_MANIFEST)
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/clusters.multicluster.coreos.com",
                        "crd/clusterpolicies.multicluster.coreos.com")


def cluster_manifest(name, index):
    """A Cluster as the benchmarks create them: three labels, one annotation, one endpoint."""
    clouds = ("aws", "gcp", "azure")
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": {"stage": "production", "cloud": clouds[index % 3],
                                                  "region": "region-%d" % (index % 7)},
                         "annotations": {"multicluster.coreos.com/console-url":
                                         "https://%s.console.example.com" % name}},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [
                {"ServerAddress": "https://%s.example.com:6443" % name}]}}}


def _create_clusters(client_module, cluster, count):
    api = client_module.ClusterClient({"kubeconfig": cluster.kubeconfig, "context": cluster.context})
    for index in range(count):
        api.create(cluster_manifest("bench-%04d" % index, index))
    api.close()


def _measure(label, engine, directory, replica, server, counters):
    for counter in counters:
        counter.take()
    started = time.perf_counter()
    result = engine.sync(directory, replica, server, status_interval=300)
    elapsed = time.perf_counter() - started
    requests = [counter.take() for counter in counters]
    print("%-34s %8.2f s   requests: directory %5d, replica %5d   created %4d, updated %4d, deleted %4d" % (
        label, elapsed, requests[0], requests[1], len(result["created"]), len(result["updated"]),
        len(result["deleted"])))
    sys.stdout.flush()
    return result


def main(argv=None):
    from tests.lab import Fleet

    client_module, engine = _import_collection()
    count = int(os.environ.get("MC_BENCH_CLUSTERS", "1000"))
    root = tempfile.mkdtemp(prefix="mc-bench-sync-")
    fleet = Fleet(root, ("bench-directory", "bench-replica"))
    print("bench_sync: directory-sync engine, %d Clusters, 2-cluster lab fleet in %s" % (count, root))
    try:
        directory_lab, replica_lab = fleet.start()
        install_registry(directory_lab, replica_lab)
        started = time.perf_counter()
        _create_clusters(client_module, directory_lab, count)
        print("%-34s %8.2f s" % ("create %d Clusters on the directory" % count, time.perf_counter() - started))

        directory = client_module.ClusterClient({"kubeconfig": directory_lab.kubeconfig,
                                                 "context": directory_lab.context})
        replica = client_module.ClusterClient({"kubeconfig": replica_lab.kubeconfig, "context": replica_lab.context})
        counters = (RequestCounter(directory), RequestCounter(replica))
        server = directory_lab.server

        _measure("first sync", engine, directory, replica, server, counters)
        _measure("re-sync, nothing changed", engine, directory, replica, server, counters)
        directory_lab.kubectl("label", "clusters.multicluster.coreos.com", "bench-0000", "stage=staging",
                              "--overwrite")
        _measure("re-sync after one label change", engine, directory, replica, server, counters)
        _measure("re-sync, nothing changed", engine, directory, replica, server, counters)
        directory.close()
        replica.close()
    finally:
        fleet.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

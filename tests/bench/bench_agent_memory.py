"""Benchmark (figures, not a test): the directory-sync agent's peak memory by the size of the directory.

On a 2-cluster lab fleet, the directory gets 1,000, then 10,000, then 20,000
Clusters (MC_BENCH_MEMORY_POINTS, comma-separated, to choose others). At each
point the replica's Clusters are deleted, the agent is started as a process
(python -m ...agent, with a view-only credential issued by the collection,
as on a replica) and stopped after its first sync and one resync (nothing
to change then, but the replica's Clusters are read and compared too); its
peak resident memory is the kernel's high-water mark of the process (VmHWM
in /proc/<pid>/status), read after each.
Past the agent's default limit of 10,000 Clusters it is run twice: with the
default limit (the directory is refused: the reading stops at the limit)
and with --max-clusters raised to the point (the whole sync). The
Deployment's memory limit (roles/registry/defaults/main.yml) is set from
these figures.

    python -m tests.bench agent_memory    (or: make bench BENCH=agent_memory)
"""

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import BenchError, collections_path, print_table, write_private
from . import memory as read_memory
from .bench_sync import cluster_manifest, install_registry

AGENT_MODULE = "ansible_collections.coreos.multicluster.agent"
DEFAULT_POINTS = (1000, 10000, 20000)
CREATE_THREADS = 6
SYNC_TIMEOUT = 1200  # seconds for the first sync and the resync (20,000 Clusters written one by one, 2 shared cores)
RESYNC = 10  # seconds from the end of the first sync to the resync (a refused one is retried after as long)


def _collection():
    sys.path.insert(0, collections_path())
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import client
    from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_credential
    from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan
    return client, replica_credential, plan.DEFAULT_MAX_CLUSTERS


def _create_clusters(client_module, lab, start, stop):
    """Create Clusters start..stop-1 on *lab*, CREATE_THREADS at a time (one client per thread)."""
    def create(indexes):
        api = client_module.ClusterClient({"kubeconfig": lab.kubeconfig, "context": lab.context})
        try:
            for index in indexes:
                api.create(cluster_manifest("mem-%05d" % index, index))
        finally:
            api.close()
    shares = [range(start + n, stop, CREATE_THREADS) for n in range(CREATE_THREADS)]
    with concurrent.futures.ThreadPoolExecutor(CREATE_THREADS) as pool:
        for future in [pool.submit(create, share) for share in shares]:
            future.result()


def _count(lab):
    out = lab.kubectl("get", "clusters.multicluster.coreos.com", "-o", "name").stdout
    return len([line for line in out.splitlines() if line.strip()])


def _wipe(lab, timeout=600):
    """Delete every Cluster of *lab*: delete-collection requests (the API server may answer one with a
    timeout while it goes on deleting) until none is left."""
    deadline = time.monotonic() + timeout
    while _count(lab):
        if time.monotonic() > deadline:
            raise BenchError("the replica's Clusters were not deleted within %d s" % timeout)
        lab.kubectl("delete", "--raw", "/apis/multicluster.coreos.com/v1/clusters", check=False)


def _run_agent(workdir, replica_lab, credential, label, extra_args=()):
    """Start the agent, wait for its first sync and the resync after it, read its memory after each, stop it.
    Returns (outcome of the first sync, its seconds, [{VmHWM, VmRSS} after the first sync, after the resync],
    the first sync's log entry)."""
    log_path = os.path.join(workdir, "agent-%s.log" % label)
    argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica_lab.kubeconfig, "--context",
            replica_lab.context, "--directory-kubeconfig", credential, "--health-address", "127.0.0.1",
            "--health-port", "0", "--resync-period", str(RESYNC), "--backoff-max", str(RESYNC),
            "--log-level", "debug"] + list(extra_args)
    env = dict(os.environ, PYTHONPATH=collections_path())
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=workdir)
    try:
        entries, memory, seconds = [], [], None
        while len(memory) < 2:
            if proc.poll() is not None:
                raise BenchError("the agent (%s) exited with %s; its log: %s" % (label, proc.returncode, log_path))
            if time.monotonic() - started > SYNC_TIMEOUT:
                raise BenchError("the agent (%s) did not sync twice within %d s" % (label, SYNC_TIMEOUT))
            time.sleep(0.5)
            with open(log_path) as handle:
                ends = [record for record in (json.loads(line) for line in handle)
                        if record.get("msg") in ("synced", "sync failed")]
            if len(ends) > len(entries):
                entries = ends
                memory.append(read_memory(proc.pid))
                if seconds is None:
                    seconds = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return ("synced" if entries[0]["msg"] == "synced" else "refused"), seconds, memory, entries[0]


def _points():
    text = os.environ.get("MC_BENCH_MEMORY_POINTS")
    return tuple(int(p) for p in text.split(",")) if text else DEFAULT_POINTS


def main(argv=None):
    from tests.lab import Fleet

    client_module, replica_credential, default_limit = _collection()
    points = _points()
    root = tempfile.mkdtemp(prefix="mc-bench-memory-")
    fleet = Fleet(root, ("mem-directory", "mem-replica"))
    print("bench_agent_memory: the agent's peak RSS (VmHWM) after its first sync and a resync, %s Clusters, lab fleet "
          "in %s" % (", ".join("%d" % p for p in points), root))
    rows, notes = [], []
    try:
        directory_lab, replica_lab = fleet.start()
        install_registry(directory_lab, replica_lab)
        directory = client_module.ClusterClient({"kubeconfig": directory_lab.kubeconfig,
                                                 "context": directory_lab.context})
        issued = replica_credential.ensure_present(directory, {"name": "mem-replica",
                                                               "directory_server": directory_lab.server})
        directory.close()
        credential = write_private(os.path.join(root, "directory.kubeconfig"), json.dumps(issued["kubeconfig"]))
        made = 0
        for point in sorted(points):
            started = time.perf_counter()
            _create_clusters(client_module, directory_lab, made, point)
            made = point
            print("%-44s %8.1f s" % ("directory: %d Clusters (created to)" % point, time.perf_counter() - started))
            sys.stdout.flush()
            runs = [("default limit", ())]
            if point > default_limit:
                runs.append(("--max-clusters %d" % point, ("--max-clusters", str(point))))
            for label, args in runs:
                _wipe(replica_lab)
                outcome, seconds, memory, entry = _run_agent(root, replica_lab, credential,
                                                             "%d-%s" % (point, label.replace(" ", "")), args)
                held = _count(replica_lab)
                if outcome == "synced" and held != point:
                    raise BenchError("after the sync of %d Clusters the replica holds %d" % (point, held))
                first, again = (m["VmHWM"] / 1024.0 for m in memory)
                print("%-46s %7.1f s   peak RSS %6.1f MiB, %6.1f MiB with the %s after it (RSS then %5.1f MiB)"
                      "   replica holds %d" % (
                          "agent, %d Clusters, %s: %s" % (point, label, outcome), seconds, first, again,
                          "retry" if outcome == "refused" else "resync", memory[1]["VmRSS"] / 1024.0, held))
                sys.stdout.flush()
                rows.append(("%6d Clusters, %s (%s)" % (point, label, outcome), "%.1f MiB" % again))
                if outcome == "refused":
                    notes.append("%d, %s: %s" % (point, label, entry.get("reason", "")[-110:]))
    finally:
        fleet.stop()
        shutil.rmtree(root, ignore_errors=True)
    print_table("The agent's peak RSS (VmHWM) over its start, first sync and one resync (or retry)", rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

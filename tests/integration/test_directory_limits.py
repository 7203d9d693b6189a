"""The replica's limits on the directory, on the lab: a directory holding more
Clusters than mc_directory_sync's max_clusters (or the agent's
--max-clusters) is refused, nothing on the replica changes (its audit log
shows no write but the status ConfigMap), the failure says why, and the next
run within the limit converges."""

import os
import signal
import subprocess
import sys

import yaml

from tests.integration.conftest import assert_writes, writes
# directory, onboarded and agent_replica are fixtures of test_directory_sync (the directory's Clusters, replica
# fleet[1] onboarded, replica fleet[2] with a credential for the agent)
from tests.integration.test_directory_sync import (  # noqa: F401  # pylint: disable=unused-import
    AGENT_MODULE, PREFIX, STATUS, agent_metrics, agent_replica, apply, cluster_manifest, directory, names, onboarded,
    status, sync_args, token_of, unhealthy, versions, wait_for, write_atomically)
from tests.lab.fleet import free_port


def test_a_directory_over_the_cluster_limit_leaves_the_replica_unchanged_and_says_why(
        onboarded, directory, run_module):  # noqa: F811 - the fixtures imported above
    replica = onboarded["replica"]
    first = run_module("mc_directory_sync", sync_args(replica))
    assert not first.failed, first.result
    limit = len(names(directory))  # what the directory holds now (the three of the fixture, maybe others')
    # changes a sync would carry over: a new Cluster (one over the limit) and a label
    apply(directory, cluster_manifest(PREFIX + "delta", {"stage": "canary"}))
    directory.kubectl("label", "clusters.multicluster.coreos.com", PREFIX + "gamma", "stage=limited", "--overwrite")
    before = versions(replica)
    mark = replica.audit_mark()
    try:
        refused = run_module("mc_directory_sync", sync_args(replica, max_clusters=limit))
        assert refused.failed, refused.result
        reason = ("the directory holds more than %d Clusters, the most this replica accepts (max_clusters); "
                  "nothing was synced" % limit)
        assert refused["msg"] == "sync Clusters and Cluster Policies from directory '%s' to cluster '%s': %s" % (
            directory.server, replica.name, reason)
        assert refused["details"]["limit"] == "max_clusters" and refused["details"]["status_recorded"] is True
        assert versions(replica) == before
        assert_writes(replica, mark, [("patch", "configmaps", STATUS[0], STATUS[1])])
        recorded = status(replica)
        assert recorded["result"] == "failed" and recorded["message"] == reason

        # within the limit again: the changes arrive
        converged = run_module("mc_directory_sync", sync_args(replica, max_clusters=limit + 1))
        assert not converged.failed and converged.changed, converged.result
        assert converged["created"] == [PREFIX + "delta"] and converged["updated"] == [PREFIX + "gamma"]
        assert status(replica)["result"] == "ok"
    finally:
        directory.kubectl("delete", "clusters.multicluster.coreos.com", PREFIX + "delta", "--ignore-not-found")
        directory.kubectl("label", "clusters.multicluster.coreos.com", PREFIX + "gamma", "stage=production",
                          "--overwrite")


def failing(port):
    """/healthz's (code, body) when it is 503 with status failing, else None."""
    found = unhealthy(port)
    return found if found and found[1].get("status") == "failing" else None


def test_the_agent_refuses_a_directory_over_its_limit_and_says_why(agent_replica, directory, collection_path,
                                                                    tmp_path):  # noqa: F811
    replica, kubeconfig = agent_replica
    credential = tmp_path / "kubeconfig"
    write_atomically(credential, yaml.safe_dump(kubeconfig))
    limit = len(names(directory)) - 1
    port = free_port()
    log_path = tmp_path / "agent.log"
    argv = [sys.executable, "-m", AGENT_MODULE, "--kubeconfig", replica.kubeconfig, "--context", replica.context,
            "--directory-kubeconfig", str(credential), "--health-address", "127.0.0.1", "--health-port", str(port),
            "--resync-period", "300", "--backoff-max", "2", "--max-clusters", str(limit)]
    before = versions(replica)
    mark = replica.audit_mark()
    with open(str(log_path), "wb") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, cwd=str(tmp_path),
                                env=dict(os.environ, PYTHONPATH=collection_path))
    try:
        # 503 "starting" comes first, until the first sync has ended: wait for the refusal's 503 "failing"
        code, body = wait_for(lambda: failing(port), 30, "/healthz 503, failing")
        reason = ("the directory holds more than %d Clusters, the most this replica accepts (max_clusters); "
                  "nothing was synced" % limit)
        assert body["status"] == "failing" and body["message"].endswith(": " + reason), body
        wait_for(lambda: (status(replica) or {}).get("result") == "failed", 10, "the refusal recorded")
        assert status(replica)["message"] == reason
        errors = dict((labels, value) for (name, labels), value in agent_metrics(port).items()
                      if name == "directory_sync_errors_total")
        assert errors[(("reason", "directory_over_limit"),)] >= 1
        assert sum(errors.values()) == errors[(("reason", "directory_over_limit"),)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    made = writes(replica, mark)
    assert made is None or {w[1:3] for w in made} == {("configmaps", STATUS[0])}, made  # the status only
    assert versions(replica) == before  # no Cluster was synced
    text = log_path.read_text()
    assert reason in text
    leaked = token_of(kubeconfig) in text  # a boolean: a failing assert must not print the token
    assert not leaked, "the token shows in the agent's log"

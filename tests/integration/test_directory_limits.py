"""The replica's limits on the directory, on the lab: a directory holding more
Clusters than mc_directory_sync's max_clusters is refused, nothing on the
replica changes (its audit log shows no write but the status ConfigMap), the
failure says why, and the next run within the limit converges."""

from tests.integration.conftest import assert_writes
# directory and onboarded are the fixtures of test_directory_sync (the directory's Clusters, replica fleet[1])
from tests.integration.test_directory_sync import (  # noqa: F401  # pylint: disable=unused-import
    PREFIX, STATUS, apply, cluster_manifest, directory, names, onboarded, status, sync_args, versions)


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

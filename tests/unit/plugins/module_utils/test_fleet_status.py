"""A cluster's place in the fleet: credential, last sync, agent, attention, the table, what fails the run."""

import base64
import json

from ansible_collections.coreos.multicluster.plugins.module_utils import fleet_status as fs
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils.timestamps import iso_time
from tests.unit.utils.fake_cluster import FakeCluster
from tests.unit.utils.tokens import NOW, bound_token, legacy_token

DAY = 86400


def replica(token=None, status=None, deployment_ready=None):
    cluster = FakeCluster(label="east")
    if token is not None:
        text = json.dumps(build_kubeconfig("https://directory:6443", token))
        cluster.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
                     "data": {"kubeconfig": base64.b64encode(text.encode()).decode()}})
    if status is not None:
        cluster.add({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "directory-sync-status", "namespace": "tectonic-system"}, "data": status})
    if deployment_ready is not None:
        cluster.add({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "directory-sync", "namespace": "tectonic-system"},
                     "spec": {"replicas": 1}, "status": {"readyReplicas": deployment_ready}})
    return cluster


def ok_status(age):
    return {"result": "ok", "lastSuccess": iso_time(NOW - age), "lastAttempt": iso_time(NOW - age),
            "directory": "https://directory:6443", "message": "3 Clusters in sync"}


def test_a_healthy_replica():
    row = fs.read_status(replica(bound_token(exp=NOW + 20 * DAY), ok_status(30), 1), {"name": "east"}, now=NOW)
    assert row["reachable"] and row["error"] is None
    assert row["credential"] == {"present": True, "type": "token_request", "expires_at": iso_time(NOW + 20 * DAY),
                                 "days_left": 20.0, "renewal_due": False}
    assert row["sync"]["age_seconds"] == 30 and not row["sync"]["stale"] and row["sync"]["directory"] == "https://directory:6443"
    assert row["agent"] == {"present": True, "replicas": 1, "ready_replicas": 1}
    assert fs.attention(row) == []


def test_stale_expiring_and_never_synced():
    stale = fs.read_status(replica(bound_token(exp=NOW + 2 * DAY), ok_status(900)), {"name": "east"}, now=NOW)
    assert stale["sync"]["stale"] and stale["credential"]["renewal_due"] and stale["agent"]["present"] is False
    assert fs.attention(stale) == ["stale", "expiring"]
    never = fs.read_status(replica(), {"name": "east", "stale_after": 60}, now=NOW)
    assert never["sync"] == {"recorded": False, "stale": True, "result": None, "last_success": None,
                             "age_seconds": None, "directory": None, "message": "no sync recorded"}
    assert never["credential"]["present"] is False and fs.attention(never) == ["stale", "no-credential"]


def test_a_long_lived_token_has_no_expiry_and_a_failed_sync_is_failing():
    row = fs.read_status(replica(legacy_token(), dict(ok_status(10), result="failed")), {"name": "east"}, now=NOW)
    assert row["credential"]["type"] == "service_account_token" and row["credential"]["days_left"] is None
    assert fs.attention(row) == ["failing"]


def test_an_unreachable_cluster_is_a_row_that_says_so():
    cluster = replica()
    cluster.failures[("get", "Secret")] = MulticlusterError(
        "read Secret tectonic-system/directory-sync on cluster 'east': the API server did not answer within 30 s")
    row = fs.read_status(cluster, {"name": "east"}, now=NOW)
    assert row["reachable"] is False and "did not answer within 30 s" in row["error"]
    assert fs.attention(row) == ["unreachable"]


def test_the_directory_is_read_for_its_agent_only():
    row = fs.read_status(replica(), {"name": "west", "role": "directory"}, now=NOW)
    assert row["credential"] is None and row["sync"] is None and fs.attention(row) == []


def test_registration_comes_from_the_directorys_list():
    rows = [{"name": "east", "role": "replica"}, {"name": "gone", "role": "replica"}]
    merged = fs.with_registration(rows, [{"name": "east", "labels": {"cloud": "aws"}}])
    assert [(r["registered"], r["labels"]) for r in merged] == [(True, {"cloud": "aws"}), (False, {})]
    assert fs.with_registration(rows, None)[0].get("registered") is None


def rows():
    healthy = fs.read_status(replica(bound_token(exp=NOW + 20 * DAY), ok_status(30), 1), {"name": "east"}, now=NOW)
    stale = fs.read_status(replica(bound_token(exp=NOW + 2 * DAY), ok_status(900)), {"name": "central"}, now=NOW)
    directory = fs.read_status(replica(None, None, 0), {"name": "west", "role": "directory"}, now=NOW)
    return fs.with_registration([healthy, stale, directory], [{"name": n, "labels": {}} for n in ("east", "central", "west")])


def test_the_table_is_aligned_and_puts_attention_first():
    lines = fs.table(rows())
    assert lines[0].split() == ["CLUSTER", "ROLE", "REGISTERED", "CREDENTIAL", "LAST", "SYNC", "AGENT", "ATTENTION"]
    assert [line.split()[0] for line in lines[1:4]] == ["central", "east", "west"]
    assert lines[1].endswith("stale, expiring") and lines[2].endswith("ok")
    assert "token_request, 2.0 days left" in lines[1] and "ok 15m ago" in lines[1] and "ok 30s ago" in lines[2]
    column = lines[0].index("ATTENTION")
    assert all(len(line) <= column or line[column - 2:column] == "  " for line in lines[1:4])
    assert lines[-1] == "3 clusters, 1 need attention"


def test_what_fails_the_run():
    assert fs.failing(rows(), ["stale"], 3) == [("central", "stale")]
    assert fs.failing(rows(), ["expiring"], 3) == [("central", "expiring")]
    assert fs.failing(rows(), ["expiring"], 1) == []
    assert fs.failing(rows(), [], 3) == []

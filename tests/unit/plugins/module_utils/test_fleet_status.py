"""A cluster's place in the fleet: credential, last sync, agent, attention, the table, what fails the run."""

import base64
import json

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import fleet_status as fs
from ansible_collections.coreos.multicluster.plugins.plugin_utils import fleet_status as fleet_table
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import build_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time
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
    row = fs.cluster_row(replica(bound_token(exp=NOW + 20 * DAY), ok_status(30), 1), {"name": "east"}, now=NOW)
    assert row["reachable"] and row["error"] is None
    assert row["credential"] == {"present": True, "type": "token_request", "expires_at": iso_time(NOW + 20 * DAY),
                                 "days_left": 20.0, "renewal_due": False}
    assert row["sync"]["age_seconds"] == 30 and not row["sync"]["stale"] and row["sync"]["directory"] == "https://directory:6443"
    assert row["agent"] == {"present": True, "replicas": 1, "ready_replicas": 1}
    assert fleet_table.attention(row) == []


def test_stale_expiring_and_never_synced():
    stale = fs.cluster_row(replica(bound_token(exp=NOW + 2 * DAY), ok_status(900)), {"name": "east"}, now=NOW)
    assert stale["sync"]["stale"] and stale["credential"]["renewal_due"] and stale["agent"]["present"] is False
    assert fleet_table.attention(stale) == ["stale", "expiring"]
    never = fs.cluster_row(replica(), {"name": "east", "stale_after": 60}, now=NOW)
    assert never["sync"] == {"recorded": False, "stale": True, "result": None, "last_success": None,
                             "age_seconds": None, "directory": None, "message": "no sync recorded"}
    assert never["credential"]["present"] is False and fleet_table.attention(never) == ["stale", "no-credential"]


def test_a_long_lived_token_has_no_expiry_and_a_failed_sync_is_failing():
    row = fs.cluster_row(replica(legacy_token(), dict(ok_status(10), result="failed")), {"name": "east"}, now=NOW)
    assert row["credential"]["type"] == "service_account_token" and row["credential"]["days_left"] is None
    assert fleet_table.attention(row) == ["failing"]


def test_an_unreachable_cluster_is_a_row_that_says_so():
    cluster = replica()
    cluster.failures[("get", "Secret")] = MulticlusterError(
        "read Secret tectonic-system/directory-sync on cluster 'east': the API server did not answer within 30 s")
    row = fs.cluster_row(cluster, {"name": "east"}, now=NOW)
    assert row["reachable"] is False and "did not answer within 30 s" in row["error"]
    assert fleet_table.attention(row) == ["unreachable"]


def test_the_directory_is_read_for_its_agent_only():
    row = fs.cluster_row(replica(), {"name": "west", "role": "directory"}, now=NOW)
    assert row["credential"] is None and row["sync"] is None and fleet_table.attention(row) == []


def test_registration_comes_from_the_directorys_list():
    rows = [{"name": "east", "role": "replica"}, {"name": "gone", "role": "replica"}]
    merged = fleet_table.with_registration(rows, [{"name": "east", "labels": {"cloud": "aws"}}])
    assert [(r["registered"], r["labels"]) for r in merged] == [(True, {"cloud": "aws"}), (False, {})]
    assert fleet_table.with_registration(rows, None)[0].get("registered") is None


def rows():
    healthy = fs.cluster_row(replica(bound_token(exp=NOW + 20 * DAY), ok_status(30), 1), {"name": "east"}, now=NOW)
    stale = fs.cluster_row(replica(bound_token(exp=NOW + 2 * DAY), ok_status(900)), {"name": "central"}, now=NOW)
    directory = fs.cluster_row(replica(None, None, 0), {"name": "west", "role": "directory"}, now=NOW)
    return fleet_table.with_registration([healthy, stale, directory], [{"name": n, "labels": {}} for n in ("east", "central", "west")])


def test_the_table_is_aligned_and_puts_attention_first():
    lines = fleet_table.table(rows())
    assert lines[0].split() == ["CLUSTER", "ROLE", "REGISTERED", "HEARTBEAT", "SYNCED", "POLICIES", "VERSION",
                                "CREDENTIAL", "LAST", "SYNC", "AGENT", "ATTENTION"]
    assert [line.split()[0] for line in lines[1:4]] == ["central", "east", "west"]
    assert lines[1].endswith("stale, expiring") and lines[2].endswith("ok")
    assert "token_request, 2.0 days left" in lines[1] and "ok 15m ago" in lines[1] and "ok 30s ago" in lines[2]
    column = lines[0].index("ATTENTION")
    assert all(len(line) <= column or line[column - 2:column] == "  " for line in lines[1:4])
    assert lines[-2] == fleet_table.SOURCES and lines[-1] == "3 clusters, 1 need attention"


def test_what_fails_the_run():
    assert fleet_table.failing(rows(), ["stale"], 3) == [("central", "stale")]
    assert fleet_table.failing(rows(), ["expiring"], 3) == [("central", "expiring")]
    assert fleet_table.failing(rows(), ["expiring"], 1) == []
    assert fleet_table.failing(rows(), [], 3) == []


# --- text a replica wrote is shown as text ---------------------------------------------------------------------

HOSTILE = ("3 Clusters in sync\x1b[2K\r\nwest-coast-production  directory  yes  -  -  1/1  ok\n"
           "\x1b]0;owned\x07\u202e" + "x" * 400)


def hostile_status():
    policies = {"enabled": True, "error": "boom\x1b[31m\nfake line", "allowlist": ["view\n", 7],
                "items": {"root\nwest-coast-production: applied": {
                    "state": "applied\x1b[0m", "objects": ["Namespace a\nb"],
                    "refused": [{"object": "ClusterRoleBinding x\ny", "reason": "\x1b[1mno\x1b[0m\nsecond line"}],
                    "extra": "dropped"},
                    "odd": "not a mapping"},
                "released": [{"object": "Namespace old\n", "reason": "kept\r\n"}, "junk"], "unknown_key": 1}
    return dict(ok_status(30), result="ok\nfailed", lastSuccess=iso_time(NOW - 30), message=HOSTILE,
                directory="https://directory:6443\n\x1b[8m", policies=json.dumps(policies))


def test_a_replicas_status_is_read_as_one_line_per_field():
    row = fs.cluster_row(replica(bound_token(exp=NOW + 20 * DAY), hostile_status(), 1), {"name": "east"}, now=NOW)
    sync = row["sync"]
    assert sync["message"].startswith("3 Clusters in sync west-coast-production directory yes - - 1/1 ok x")
    assert len(sync["message"]) == 256 and sync["message"].endswith("\u2026")
    assert sync["result"] == "ok failed" and sync["directory"] == "https://directory:6443"
    assert sync["last_success"] == iso_time(NOW - 30)
    found = row["policies"]
    assert found["error"] == "boom fake line" and found["allowlist"] == ["view", "7"]
    assert sorted(found["items"]) == ["odd", "root west-coast-production: applied"]
    assert found["items"]["root west-coast-production: applied"] == {
        "state": "applied", "objects": ["Namespace a b"],
        "refused": [{"object": "ClusterRoleBinding x y", "reason": "no second line"}]}
    assert found["items"]["odd"] == {"state": "unknown"}
    assert found["released"] == [{"object": "Namespace old", "reason": "kept"}]
    assert "unknown_key" not in found


def test_a_time_that_is_not_one_is_not_passed_on():
    row = fs.cluster_row(replica(None, dict(ok_status(30), lastSuccess="yesterday\x1b[2J")), {"name": "east"}, now=NOW)
    assert row["sync"]["last_success"] is None and row["sync"]["stale"] is True


def test_an_error_quoting_the_api_server_is_one_bounded_line():
    cluster = replica()
    cluster.failures[("get", "Secret")] = MulticlusterError(
        "read Secret on cluster 'east': Forbidden\n\x1b[2Jcentral-production  replica  yes  ok" + "y" * 2000)
    row = fs.cluster_row(cluster, {"name": "east"}, now=NOW)
    assert "\n" not in row["error"] and "\x1b" not in row["error"] and len(row["error"]) == 1024


def test_a_replica_cannot_fake_another_clusters_row_in_the_table():
    """The attack: a replica's admin writes a status whose result and message hold a newline and a row of
    another cluster. The table has one line per cluster whatever the rows hold (rows given raw, as from an
    older module, too)."""
    hostile = fs.cluster_row(replica(bound_token(exp=NOW + 20 * DAY), hostile_status(), 1), {"name": "east"}, now=NOW)
    raw = {"name": "central", "role": "replica", "reachable": False, "registered": True,
           "error": "refused\nwest-coast-production  directory  yes  -  -  1/1  ok\x1b[1A",
           "sync": {"result": "ok\nwest-coast-production  directory", "age_seconds": 5, "stale": False},
           "credential": {"present": True, "type": "token_request\n", "days_left": 3.0}, "agent": {}}
    lines = fleet_table.table(fleet_table.with_registration([hostile, raw], [{"name": "east"}, {"name": "central"}]))
    assert len(lines) == 1 + 2 + 1 + 1 + 1  # header, a row per cluster, central's error, the sources, the total
    assert [line.split()[0] for line in lines[:3]] == ["CLUSTER", "central", "east"]
    assert lines[3].startswith("central: refused west-coast-production")
    assert not any(line.startswith("west-coast-production") for line in lines)
    assert all("\x1b" not in line and "\r" not in line and "\n" not in line for line in lines)
    assert lines[-1] == "2 clusters, 2 need attention"  # central unreachable; east has a refused policy


# --- addresses: https only, and the directory's is the operator's ----------------------------------------------

def test_a_registered_cluster_with_an_http_endpoint_needs_attention_and_can_fail_the_run():
    rows = [{"name": "east", "role": "replica", "sync": {"stale": False, "result": "ok"}},
            {"name": "west", "role": "directory"}]
    fleet = [{"name": "east", "endpoints": ["http://east.example.com:8080"], "server": "http://east.example.com:8080",
              "console_url": "http://east.console.example.com"},
             {"name": "west", "endpoints": ["https://west.example.com:6443"], "server": "https://west.example.com:6443"}]
    merged = fleet_table.with_registration(rows, fleet)
    assert merged[0]["endpoint_problem"].startswith(
        "Cluster east: API endpoint 'http://east.example.com:8080' is plain http://")
    assert "console URL 'http://east.console.example.com' is plain http://" in merged[0]["endpoint_problem"]
    assert merged[1]["endpoint_problem"] is None
    assert fleet_table.attention(merged[0]) == ["insecure-endpoint"] and fleet_table.attention(merged[1]) == []
    lines = fleet_table.table(merged)
    assert lines[1].startswith("east") and lines[1].endswith("insecure-endpoint")
    assert lines[3].startswith("east: Cluster east: API endpoint 'http://east.example.com:8080' is plain http://")
    assert fleet_table.failing(merged, ["insecure-endpoint"], 3) == [("east", "insecure-endpoint")]


def test_a_directory_cluster_object_that_disagrees_with_the_inventory_is_reported():
    rows = [{"name": "west", "role": "directory", "api_endpoint": "https://west.example.com:6443"},
            {"name": "east", "role": "replica", "api_endpoint": None, "sync": {"stale": False}}]
    fleet = [{"name": "west", "endpoints": ["https://attacker.example.net"], "server": "https://attacker.example.net"},
             {"name": "east", "endpoints": ["https://east.example.com"], "server": "https://east.example.com"}]
    merged = fleet_table.with_registration(rows, fleet)
    assert merged[0]["endpoint_mismatch"] == ("its Cluster object gives API endpoint 'https://attacker.example.net', "
                                              "the inventory 'https://west.example.com:6443'")
    assert merged[1]["endpoint_mismatch"] is None  # no address in the inventory: nothing to compare
    assert fleet_table.attention(merged[0]) == ["endpoint-mismatch"]
    assert fleet_table.failing(merged, ["endpoint-mismatch"], 3) == [("west", "endpoint-mismatch")]
    assert "west: its Cluster object gives API endpoint 'https://attacker.example.net'" in "\n".join(fleet_table.table(merged))


# --- health from the directory -----------------------------------------------------------------------------------

def health_fleet(now_available=True):
    base = {"labels": {}, "last_seen": iso_time(NOW - 20), "heartbeat": "heartbeat 20s ago", "synced": "True",
            "synced_message": "in sync with the directory", "policies": "True", "policies_message": "1/1 applied",
            "policies_applied": "1/1", "kubernetes_version": "v1.31.2", "agent_version": "0.1.0"}
    return [dict(base, name="east", available=True, heartbeat_age=20),
            dict(base, name="central", available=now_available, heartbeat_age=20 if now_available else 900,
                 synced="False", synced_message="401 Unauthorized"),
            dict(base, name="west", available=None, heartbeat_age=None, synced=None, policies_applied=None,
                 kubernetes_version=None)]


def test_the_directorys_health_columns_and_reasons():
    merged = fleet_table.with_registration(rows(), health_fleet(now_available=False))
    by_name = dict((r["name"], r) for r in merged)
    assert fleet_table.attention(by_name["east"]) == []
    assert fleet_table.attention(by_name["central"])[:2] == ["unavailable", "not-synced"]
    lines = fleet_table.table(merged)
    central = next(line for line in lines if line.startswith("central"))
    assert "UNKNOWN 15m ago" in central and " False " in central and "v1.31.2" in central
    east = next(line for line in lines if line.startswith("east"))
    assert "20s ago" in east and " True " in east and "1/1" in east
    west = next(line for line in lines if line.startswith("west"))
    assert west.split()[3:7] == ["-", "-", "-", "-"]  # the directory: no heartbeat, no conditions
    assert fleet_table.failing(merged, ["unavailable"], 3) == [("central", "unavailable")]
    assert ("central", "not-synced") in fleet_table.failing(merged, ["not-synced"], 3)


def test_a_heartbeat_not_known_is_no_attention_and_says_never_or_unread():
    row = {"name": "east", "role": "replica", "registered": True,
           "health": {"available": None, "heartbeat_age": None, "last_seen": None,
                      "heartbeat": "never renewed (no agent has run)"}}
    assert fleet_table.attention(row) == [] and fleet_table._cells(row)[3] == "never"
    unread = dict(row, health=dict(row["health"], heartbeat="not known: list Lease: 403 Forbidden"))
    assert fleet_table.attention(unread) == [] and fleet_table._cells(unread)[3] == "?"

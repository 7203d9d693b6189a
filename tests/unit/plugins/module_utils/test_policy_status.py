"""The fleet's Cluster Policies, cluster by policy (policy_status.yml's matrix and table)."""

import json

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import fleet_status
from ansible_collections.coreos.multicluster.plugins.plugin_utils import fleet_status as fleet_table
from ansible_collections.coreos.multicluster.plugins.plugin_utils import policy_status


def replica(name, items, **extra):
    found = {"enabled": True, "error": None, "allowlist": ["view", "edit", "admin"], "items": items, "released": []}
    found.update(extra)
    return {"name": name, "role": "replica", "error": None, "policies": found}


APPLIED = {"state": "applied", "objects": ["Namespace monitoring", "RoleBinding monitoring/x"], "conflicts": [],
           "refused": [], "failed": []}
REFUSED = {"state": "refused", "objects": [], "conflicts": [], "failed": [],
           "refused": [{"object": "ClusterRoleBinding clusterpolicy:root:cluster-admin",
                        "reason": "ClusterRole cluster-admin is not in this replica's allowlist (view, edit, admin)"}]}


def rows():
    return [
        replica("east", {"aws-admins": {"state": "not selected"}, "root": REFUSED}),
        {"name": "west", "role": "directory", "error": None, "policies": None},
        replica("central", {"aws-admins": APPLIED, "root": {"state": "not selected"}},
                released=[{"object": "Namespace old", "reason": "it holds ConfigMap x"}]),
        {"name": "north", "role": "replica", "error": "read ConfigMap ...: the API server did not answer within 30 s",
         "policies": None},
        replica("south", {"aws-admins": {"state": "disabled"}}, enabled=False),
    ]


def test_the_matrix_has_one_entry_per_cluster_with_each_policy_state_and_its_reasons():
    entries = dict((e["cluster"], e) for e in policy_status.matrix(rows()))
    assert [e["cluster"] for e in policy_status.matrix(rows())] == ["central", "east", "north", "south", "west"]
    assert entries["central"]["policies"]["aws-admins"] == {"state": "applied", "objects": 2}
    assert entries["east"]["policies"]["root"]["refused"] == REFUSED["refused"]
    assert entries["north"]["error"].endswith("within 30 s") and entries["north"]["policies"] == {}
    assert entries["south"]["enabled"] is False
    assert entries["west"]["error"] == "the directory: policies apply to replicas only"
    json.dumps(policy_status.matrix(rows()))  # plain data, for set_stats and the JSON file


def test_the_table_reads_cluster_by_policy_then_the_reasons():
    lines = policy_status.table(rows())
    assert lines[0].split() == ["CLUSTER", "aws-admins", "root"]
    cells = dict((line.split("  ")[0].strip(), [c for c in line.split("  ")[1:] if c.strip()])
                 for line in lines[1:6])
    assert [c.strip() for c in cells["central"]] == ["applied", "not selected"]
    assert [c.strip() for c in cells["east"]] == ["not selected", "refused"]
    assert [c.strip() for c in cells["north"]] == ["unknown", "unknown"]
    assert [c.strip() for c in cells["south"]] == ["disabled", "-"]
    assert [c.strip() for c in cells["west"]] == ["-", "-"]
    assert ("east root: refused ClusterRoleBinding clusterpolicy:root:cluster-admin: ClusterRole cluster-admin is "
            "not in this replica's allowlist (view, edit, admin)") in lines
    assert "central: released Namespace old (kept, no longer managed): it holds ConfigMap x" in lines
    assert lines[-1] == "4 replicas, 2 policies, 1 policy results need attention"


def test_a_status_with_policies_in_trouble_needs_attention_in_the_fleet_status():
    row = {"name": "east", "role": "replica", "reachable": True, "sync": {"stale": False, "result": "ok"},
           "credential": {"present": True}, "policies": replica("east", {"root": REFUSED})["policies"]}
    assert "policies" in fleet_table.attention(row)
    row["policies"] = replica("east", {"root": APPLIED})["policies"]
    assert "policies" not in fleet_table.attention(row)
    row["policies"] = replica("east", {}, error="cannot read the directory's ClusterPolicies")["policies"]
    assert "policies" in fleet_table.attention(row)
    assert fleet_status.policies_row({"policies": json.dumps({"enabled": True})}) == {
        "enabled": True, "error": None, "allowlist": [], "items": {}, "released": []}
    assert fleet_status.policies_row({"policies": "not json"}) is None and fleet_status.policies_row({}) is None


def test_a_replica_cannot_fake_another_clusters_line_with_a_policy_name_or_reason():
    """Policy names and reasons come from the replica's status ConfigMap: read through fleet_status.policies_row
    they are one line each; the table makes raw rows one line per cell as well."""
    refusal = {"object": "ClusterRoleBinding x\x1b[2J", "reason": "no\nwest root: applied"}
    item = {"state": "refused", "objects": [], "conflicts": [], "failed": [], "refused": [refusal]}
    recorded = {"enabled": True, "error": None, "allowlist": [], "released": [], "items": {"root\nwest  applied": item}}
    read = {"name": "east", "role": "replica", "error": None,
            "policies": fleet_status.policies_row({"policies": json.dumps(recorded)})}
    raw = replica("central", {"aws\nadmins\x1b[31m": {"state": "applied\nwest  applied"}})
    lines = policy_status.table([read, raw])
    assert lines[0].split() == ["CLUSTER", "aws", "admins", "root", "west", "applied"]
    assert [line.split()[0] for line in lines[1:3]] == ["central", "east"]
    assert "east root west applied: refused ClusterRoleBinding x: no west root: applied" in lines
    assert not any(line.startswith("west") for line in lines)
    assert all("\x1b" not in line and "\n" not in line for line in lines)
    assert len(lines) == 1 + 2 + 1 + 1  # header, two clusters, east's refusal, the total
    assert list(policy_status.matrix([read])[0]["policies"]) == ["root west applied"]

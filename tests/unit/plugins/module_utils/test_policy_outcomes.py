"""policies/status.py: the one per-policy status type, as the syncer builds it and as readers read it back."""

import json

from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status


def test_an_outcome_takes_the_worst_of_what_happened_and_sorts_its_lists():
    report = status.Report()
    report.add(["a", "b"], "conflicts", "Namespace x", "made by hand")
    report.add(["b"], "refused", "RoleBinding x/y", "not allowed")
    report.add(["b"], "failed", "RoleBinding x/z", "403")
    report.policy("c").holds("Namespace c2")
    report.policy("c").holds("Namespace c1")
    items = report.items()
    assert [items[n]["state"] for n in "abc"] == [status.CONFLICT, status.FAILED, status.APPLIED]
    assert items["c"] == {"state": "applied", "objects": ["Namespace c1", "Namespace c2"], "conflicts": [],
                          "refused": [], "failed": []}


def test_invalid_keeps_its_problems_and_settled_policies_have_a_state_and_a_reason_only():
    report = status.Report()
    report.policy("bad", status.INVALID).problems = ["spec.namespaces[0].name: required"]
    report.add(["bad"], "refused", "Namespace kube-system", "protected")
    report.settle("other", status.NOT_SELECTED)
    items = report.items()
    assert items["bad"]["state"] == status.INVALID and items["bad"]["problems"] == ["spec.namespaces[0].name: required"]
    assert items["other"] == {"state": "not selected"}
    off = status.not_applied([{"metadata": {"name": "p"}}], status.DISABLED, "policies are disabled").items()
    assert off == {"p": {"state": "disabled", "reason": "policies are disabled"}}


def test_a_replica_status_its_counts_and_its_message():
    items = {"a": {"state": "applied"}, "b": {"state": "refused"}, "c": {"state": "applied"}}
    found = status.replica_status(items, allowlist=("view",), released=[{"object": "Namespace old", "reason": "r"}])
    assert found == {"enabled": True, "error": None, "items": items, "allowlist": ["view"],
                     "released": [{"object": "Namespace old", "reason": "r"}]}
    assert status.counts(found) == {"applied": 2, "refused": 1}
    assert status.message(found) == ("policies: 2 applied, 1 refused; released (kept, no longer managed): "
                                     "Namespace old")
    assert status.message(status.replica_status({}, enabled=False)) == "policies disabled on this replica"
    assert status.message(status.replica_status({}, error="cannot read")) == "policies not applied: cannot read"
    assert status.message(status.replica_status({})) is None
    assert [status.needs_attention(items[n]) for n in "abc"] == [False, True, False]


def test_what_a_replica_recorded_is_read_into_the_shape_only_each_string_one_bounded_line():
    outcome = {"state": "applied" * 10, "objects": ["Namespace a\rb"], "run": "code",
               "refused": [{"object": "x", "reason": "y", "more": 1}, "not a map"]}
    recorded = {"enabled": "yes", "error": "bad\nline", "allowlist": "view", "extra": "dropped",
                "items": {"p\x1b[2J": outcome, "q": "not a map"}, "released": [{"object": "Namespace old"}]}
    found = status.read_recorded(json.dumps(recorded))
    assert set(found) == {"enabled", "error", "allowlist", "items", "released"}
    assert found["enabled"] is None and found["allowlist"] == [] and "\n" not in found["error"]
    name = [n for n in found["items"] if n.startswith("p")][0]
    assert "\x1b" not in name
    outcome = found["items"][name]
    assert set(outcome) == {"state", "objects", "refused"} and len(outcome["state"]) <= 32
    assert "\r" not in outcome["objects"][0] and outcome["refused"] == [{"object": "x", "reason": "y"}]
    assert found["items"]["q"] == {"state": "unknown"}
    for text in (None, "", "not json", "[1, 2]"):
        assert status.read_recorded(text) is None


def test_what_the_syncer_writes_reads_back_the_same():
    report = status.Report()
    report.add(["a"], "conflicts", "Namespace x", "made by hand")
    report.settle("b", status.DISABLED, "off")
    written = status.replica_status(report.items(), allowlist=["view"])
    assert status.read_recorded(json.dumps(written)) == written

"""registry/health.py: the heartbeat as readers see it, and the conditions a replica writes on its own Cluster."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import plain_text
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as outcomes

NOW = 1796000000.0


def lease(renewed_ago=None, duration=60, renew_time=None):
    spec = {"holderIdentity": "east"}
    if duration is not None:
        spec["leaseDurationSeconds"] = duration
    if renew_time is not None:
        spec["renewTime"] = renew_time
    elif renewed_ago is not None:
        spec["renewTime"] = health.micro_time(NOW - renewed_ago)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "east", "namespace": "tectonic-multi-cluster", "resourceVersion": "7"},
            "spec": spec}


def test_micro_time_round_trips_and_a_time_without_fraction_is_read_too():
    assert health.micro_time(NOW + 0.25) == "2026-11-30T00:53:20.250000Z"
    assert health.parse_micro_time("2026-11-30T00:53:20.250000Z") == NOW + 0.25
    assert health.parse_micro_time("2026-11-30T00:53:20Z") == NOW
    for bad in (None, 5, "yesterday", "2026-11-30T00:53:20.250000Z" * 3):
        assert health.parse_micro_time(bad) is None


@pytest.mark.parametrize("ago, available", [(0, True), (299, True), (300, True), (301, False), (86400, False)])
def test_available_within_five_periods_of_the_last_renewal(ago, available):
    found = health.heartbeat(lease(ago), NOW)
    assert found["available"] is available and found["age"] == ago
    assert found["last_seen"] == health.iso_time(int(NOW - ago))


def test_the_grace_is_periods_of_the_leases_own_duration_when_it_is_believable():
    assert health.heartbeat(lease(500, duration=120), NOW)["available"]  # 5 x 120 s
    assert not health.heartbeat(lease(500, duration=120), NOW, grace_periods=4)["available"]
    # a duration the replica made up to look alive for a day is not believed: the reader's period is
    assert not health.heartbeat(lease(500, duration=86400), NOW)["available"]
    assert not health.heartbeat(lease(500, duration="600"), NOW)["available"]
    assert not health.heartbeat(lease(500, duration=True), NOW)["available"]


def test_a_renewal_dated_in_the_future_is_not_believed():
    found = health.heartbeat(lease(-3600), NOW)
    assert not found["available"] and found["last_seen"] is None and "future" in found["reason"]
    assert health.heartbeat(lease(-30), NOW)["available"]  # clocks a little apart


def test_no_lease_or_no_renewal_is_not_known_not_down():
    assert health.heartbeat(None, NOW) == {"available": None, "last_seen": None, "age": None,
                                           "reason": "no heartbeat Lease (onboarded before heartbeats: onboard it again)"}
    never = "never renewed (no agent has run)"
    assert health.heartbeat(lease(), NOW) == {"available": None, "last_seen": None, "age": None, "reason": never}
    assert health.heartbeat({"spec": "junk"}, NOW)["reason"] == never
    assert health.heartbeat(lease(renew_time="\x1b[31mnow"), NOW)["available"] is None


def test_a_renewal_moves_only_the_heartbeat_fields():
    live = lease(120)
    live["metadata"]["labels"] = {"multicluster.coreos.com/replica": "east"}
    body = health.renewed(live, "east", 60, NOW)
    assert body["metadata"] == live["metadata"] and body["spec"]["renewTime"] == health.micro_time(NOW)
    assert body["spec"]["acquireTime"] == health.micro_time(NOW)  # it had none
    again = health.renewed(body, "east", 60, NOW + 60)
    assert again["spec"]["acquireTime"] == body["spec"]["acquireTime"]


def policy_status(**states):
    return outcomes.replica_status(dict((name, {"state": state}) for name, state in states.items()))


def test_policies_applied_counts_the_selected_and_names_the_failing():
    wanted = health.cluster_status(None, True, None, policy_status(
        a=outcomes.APPLIED, b=outcomes.CONFLICT, c=outcomes.NOT_SELECTED, d=outcomes.REFUSED), "v1.31.0", "1.4.0", NOW)
    policies = wanted["conditions"][1]
    assert (policies["status"], policies["reason"]) == ("False", "Failing") and wanted["policiesApplied"] == "1/3"
    assert policies["message"] == "1/3 applied; not applied: b (conflict), d (refused)"
    clean = health.cluster_status(None, True, None, policy_status(a=outcomes.APPLIED), None, None, NOW)
    assert clean["conditions"][1]["status"] == "True" and clean["policiesApplied"] == "1/1"
    assert clean["kubernetesVersion"] is None
    off = health.cluster_status(None, True, None, outcomes.replica_status({}, enabled=False), None, None, NOW)
    assert off["conditions"][1]["reason"] == "Disabled"
    # no settings on the replica: an error, which matters only when the directory holds policies
    unset = outcomes.replica_status({}, error="no directory-sync-config")
    assert health.cluster_status(None, True, None, unset, None, None, NOW)["conditions"][1]["reason"] == "NoPolicies"
    held = outcomes.replica_status({"a": {"state": outcomes.FAILED}, "b": {"state": outcomes.FAILED}},
                                   error="no directory-sync-config")
    refused = health.cluster_status(None, True, None, held, None, None, NOW)
    assert (refused["conditions"][1]["status"], refused["policiesApplied"]) == ("False", "0/2")
    assert refused["conditions"][1]["message"] == "policies not applied: no directory-sync-config"


def test_a_failed_sync_makes_the_policies_unknown_and_keeps_a_message_of_one_bounded_line():
    wanted = health.cluster_status(None, False, "line one\nline two " + "x" * 5000, None, "v1", "v2", NOW)
    synced, policies = wanted["conditions"]
    assert (synced["status"], synced["reason"]) == ("False", "SyncFailed") and "\n" not in synced["message"]
    assert len(synced["message"]) <= plain_text.MAX_TEXT and policies["status"] == "Unknown"


def test_the_transition_time_moves_only_with_the_status_and_no_change_is_no_patch():
    first = health.cluster_status(None, True, None, None, "v1.31.0", "1.4.0", NOW)
    same = health.cluster_status(first, True, None, None, "v1.31.0", "1.4.0", NOW + 600)
    assert same == first and health.status_patch(first, same) is None
    failed = health.cluster_status(first, False, "refused", None, "v1.31.0", "1.4.0", NOW + 900)
    assert failed["conditions"][0]["lastTransitionTime"] == health.iso_time(NOW + 900)
    assert health.status_patch(first, failed) == {"status": failed}
    # what the server adds to a status (an observedGeneration, another tool's key) is not ours: no patch
    assert health.status_patch(dict(first, observedGeneration=3), same) is None


def test_conditions_read_back_as_bounded_strings_only():
    cluster = {"status": {"conditions": [
        {"type": "Synced", "status": "True", "reason": "InSync", "message": "\x1b]0;owned\x07ok" + "y" * 900,
         "lastTransitionTime": "2026-12-07T01:00:00Z"},
        {"type": "Sneaky", "status": "True"}, "junk", {"type": "PoliciesApplied", "status": ["True"]}],
        "policiesApplied": "2/2", "kubernetesVersion": {"not": "a string"}}}
    read = health.read_conditions(cluster)
    assert sorted(read["conditions"]) == ["PoliciesApplied", "Synced"]
    assert read["conditions"]["Synced"]["message"].startswith("ok") and len(read["conditions"]["Synced"]["message"]) <= 512
    assert read["conditions"]["PoliciesApplied"]["status"] is None
    assert read["policies_applied"] == "2/2" and read["kubernetes_version"] is None
    assert health.read_conditions({"status": "junk"})["conditions"] == {}

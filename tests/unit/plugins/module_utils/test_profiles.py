"""The ClusterProfile export (registry/profiles.py) above the resource layer: one profile per Cluster, the plan
(create, update, delete, conflict, unchanged, deferred), the KEP's status budget, a foreign profile left alone,
untrusted Cluster data, check mode and bad input. (The real API server, its status subresource and the exporter's
RBAC: tests/integration/test_cluster_profiles.py.)"""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MissingResourceTypeError, MulticlusterError)
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import profiles
from tests.unit.utils.fake_cluster import FakeCluster

NOW = 1800000000
NS = "fleet-inventory"
MANAGER = {"x-k8s.io/cluster-manager": "coreos-multicluster"}


def cluster(name, labels=None, console="https://console.%s.example.com", server="https://%s.example.com:6443",
            version="v1.20.2"):
    obj = {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
           "metadata": {"name": name, "labels": dict(labels or {}),
                        "annotations": {"multicluster.coreos.com/console-url": console % name} if console else {}},
           "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": server % name}]}}}
    if version:
        obj["status"] = {"kubernetesVersion": version}
    return obj


def lease(name, renewed, duration=60):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "tectonic-multi-cluster"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": duration,
                     "renewTime": health.micro_time(renewed)}}


def directory(*objects):
    fake = FakeCluster(label="west")
    for obj in objects:
        fake.add(obj)
    return fake


def export(fake, now=NOW, budget=None, **params):
    return profiles.export(fake, dict({"namespace": NS}, **params), now, budget)


def stored(fake, name):
    return fake.stored("ClusterProfile", name, NS)


def condition(obj):
    return next(c for c in obj["status"]["conditions"] if c["type"] == "ControlPlaneHealthy")


def test_one_profile_per_cluster_with_its_properties_version_health_and_access_provider():
    fake = directory(cluster("east", {"stage": "production", "cloud": "gcp"}), lease("east", NOW - 10))
    result = export(fake)
    assert result["changed"] is True and result["created"] == ["east"]
    assert fake.writes == [("create", "ClusterProfile", "east"), ("patch", "ClusterProfileStatus", "east")]
    profile = stored(fake, "east")
    assert profile["metadata"]["labels"] == MANAGER
    assert profile["spec"] == {"clusterManager": {"name": "coreos-multicluster"}, "displayName": "east"}
    status = profile["status"]
    assert status["version"] == {"kubernetes": "v1.20.2"}
    assert status["properties"] == [
        {"name": "multicluster.coreos.com/cloud", "value": "gcp"},
        {"name": "multicluster.coreos.com/stage", "value": "production"},
        {"name": "multicluster.coreos.com/console-url", "value": "https://console.east.example.com"}]
    assert status["accessProviders"] == [{"name": "coreos-multicluster",
                                          "cluster": {"server": "https://east.example.com:6443"}}]
    health_condition = condition(profile)
    assert health_condition["status"] == "True" and health_condition["reason"] == "HeartbeatRenewed"
    assert health_condition["lastTransitionTime"] == "2027-01-15T08:00:00Z"
    assert result["diff"]["before"] == {"east": None}
    assert result["diff"]["after"]["east"]["status"] == status


def test_a_converged_export_writes_nothing_even_as_the_heartbeat_ages():
    fake = directory(cluster("east"), cluster("central"), lease("east", NOW), lease("central", NOW))
    export(fake)
    fake.writes[:] = []
    again = export(fake, now=NOW + 200)  # within 5 periods of 60 s: the message names no age
    assert again["changed"] is False and again["unchanged"] == ["central", "east"]
    assert fake.writes == []


def test_properties_follow_a_relabel_and_the_transition_time_stays():
    fake = directory(cluster("east", {"stage": "staging"}), lease("east", NOW))
    export(fake)
    since = condition(stored(fake, "east"))["lastTransitionTime"]
    fake.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "production", "role": "edge"}
    fake.writes[:] = []
    result = export(fake, now=NOW + 100)
    assert result["updated"] == ["east"]
    assert fake.writes == [("patch", "ClusterProfileStatus", "east")]  # the profile itself is unchanged
    profile = stored(fake, "east")
    assert [p["name"] for p in profile["status"]["properties"]] == [
        "multicluster.coreos.com/role", "multicluster.coreos.com/stage", "multicluster.coreos.com/console-url"]
    assert condition(profile)["lastTransitionTime"] == since


def test_a_stale_heartbeat_is_unknown_and_a_fresh_one_true():
    fake = directory(cluster("east"), lease("east", NOW - 301))  # more than 5 x 60 s
    export(fake)
    stale = condition(stored(fake, "east"))
    assert stale["status"] == "Unknown" and stale["reason"] == "HeartbeatExpired"
    assert stale["message"].endswith("last renewed at 2027-01-15T07:54:59Z")
    fake.objects[("Lease", "tectonic-multi-cluster", "east")]["spec"]["renewTime"] = health.micro_time(NOW + 5)
    export(fake, now=NOW + 10)
    fresh = condition(stored(fake, "east"))
    assert fresh["status"] == "True" and fresh["lastTransitionTime"] == "2027-01-15T08:00:10Z"


def test_no_lease_is_unknown():
    fake = directory(cluster("east"))
    export(fake)
    assert condition(stored(fake, "east"))["reason"] == "NoHeartbeat"
    assert condition(stored(fake, "east"))["status"] == "Unknown"


def test_the_directory_has_no_agent_and_is_healthy_when_it_answers_the_export():
    hub = cluster("west")
    hub["metadata"]["annotations"]["multicluster.coreos.com/directory"] = "true"
    fake = directory(hub, cluster("east"))
    export(fake)
    assert (condition(stored(fake, "west"))["status"], condition(stored(fake, "west"))["reason"]) == (
        "True", "DirectoryAnswered")
    assert condition(stored(fake, "east"))["status"] == "Unknown"  # a replica without a Lease: not the directory


def test_a_deregistered_clusters_profile_is_deleted_and_its_budget_entry_dropped():
    fake = directory(cluster("east"), cluster("central"))
    budget = {}
    export(fake, budget=budget)
    assert sorted(budget) == ["central", "east"]
    del fake.objects[("Cluster", "", "central")]
    fake.writes[:] = []
    result = export(fake, now=NOW + 60, budget=budget)
    assert result["deleted"] == ["central"] and result["diff"]["after"] == {"central": None}
    assert fake.writes == [("delete", "ClusterProfile", "central")]
    assert stored(fake, "central") is None and sorted(budget) == ["east"]


def test_a_foreign_profile_is_a_conflict_left_alone_and_one_of_no_cluster_is_not_mentioned():
    foreign = {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ClusterProfile",
               "metadata": {"name": "east", "namespace": NS,
                            "labels": {"x-k8s.io/cluster-manager": "open-cluster-management"}},
               "spec": {"clusterManager": {"name": "open-cluster-management"}}}
    other = dict(foreign, metadata=dict(foreign["metadata"], name="elsewhere"))
    fake = directory(cluster("east"), foreign, other)
    result = export(fake)
    assert result["conflicts"] == [{"name": "east", "manager": "open-cluster-management"}]
    assert result["actions"] == {"east": "conflict"} and result["changed"] is False
    assert fake.writes == []
    absent = export(fake, state="absent")
    assert absent["deleted"] == [] and fake.writes == []


def test_a_profile_made_by_another_manager_between_the_read_and_the_write_is_a_conflict():
    fake = directory(cluster("east"))

    def race(verb, kind, namespace, name):
        if verb == "create" and kind == "ClusterProfile":
            fake.before_write.clear()
            fake.add({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ClusterProfile",
                      "metadata": {"name": name, "namespace": namespace, "labels": {
                          "x-k8s.io/cluster-manager": "karmada"}}, "spec": {"clusterManager": {"name": "karmada"}}})
    fake.before_write.append(race)
    result = export(fake)
    assert result["conflicts"] == [{"name": "east", "manager": "karmada"}]
    assert stored(fake, "east")["metadata"]["labels"] == {"x-k8s.io/cluster-manager": "karmada"}


def test_the_budget_defers_a_property_change_but_not_a_health_transition():
    fake = directory(cluster("east", {"stage": "a"}), lease("east", NOW))
    budget = {}
    export(fake, budget=budget)
    assert budget == {"east": NOW}
    fake.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "b"}
    fake.writes[:] = []
    held = export(fake, now=NOW + 10, budget=budget)
    assert held["deferred"] == ["east"] and held["changed"] is False and fake.writes == []
    due = export(fake, now=NOW + 30, budget=budget)
    assert due["updated"] == ["east"] and budget == {"east": NOW + 30}
    fake.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "c"}
    del fake.objects[("Lease", "tectonic-multi-cluster", "east")]  # a health transition: True -> Unknown
    fake.writes[:] = []
    transition = export(fake, now=NOW + 31, budget=budget)
    assert transition["updated"] == ["east"] and fake.writes == [("patch", "ClusterProfileStatus", "east")]
    assert condition(stored(fake, "east"))["status"] == "Unknown"


def test_the_module_has_no_budget():
    fake = directory(cluster("east", {"stage": "a"}))
    export(fake)
    fake.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "b"}
    assert export(fake, now=NOW + 1)["updated"] == ["east"]


def test_an_edited_profile_is_restored_but_other_labels_are_kept():
    fake = directory(cluster("east"))
    export(fake)
    live = fake.objects[("ClusterProfile", NS, "east")]
    live["metadata"]["labels"]["team"] = "platform"
    live["spec"]["displayName"] = "changed"
    fake.writes[:] = []
    assert export(fake)["updated"] == ["east"]
    assert fake.writes == [("patch", "ClusterProfile", "east")]
    assert stored(fake, "east")["spec"]["displayName"] == "east"
    assert stored(fake, "east")["metadata"]["labels"]["team"] == "platform"


def test_untrusted_cluster_data_is_checked_and_bounded():
    bad = cluster("east", {"stage": "x" * 63, "empty": "", "note": "\x1b[31mred\x1b[0m"},
                  console="http://console.%s.example.com", server="https://user@%s.example.com",
                  version="v1.20.2\n" + "9" * 200)
    bad["metadata"]["labels"]["weird"] = ["not", "text"]
    fake = directory(bad, {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
                           "metadata": {"name": "Not_A_Name"}})
    result = export(fake)
    assert result["created"] == ["east"]
    status = stored(fake, "east")["status"]
    assert status["properties"] == [{"name": "multicluster.coreos.com/note", "value": "red"},
                                    {"name": "multicluster.coreos.com/stage", "value": "x" * 63}]
    assert "accessProviders" not in status  # user info in the URL: not an address anything is sent to
    assert len(status["version"]["kubernetes"]) <= 64 and "\n" not in status["version"]["kubernetes"]


def test_properties_are_capped():
    fake = directory(cluster("east", dict(("k%03d" % i, "v") for i in range(100))))
    export(fake)
    found = stored(fake, "east")["status"]["properties"]
    assert len(found) == profiles.MAX_PROPERTIES and found[-1]["name"] == profiles.CONSOLE_PROPERTY


def test_check_mode_writes_nothing_and_shows_the_diff():
    fake = directory(cluster("east"), lease("east", NOW))
    fake.check_mode = True
    result = export(fake)
    assert result["changed"] is True and result["created"] == ["east"] and fake.writes == []
    assert stored(fake, "east") is None
    assert result["diff"]["after"]["east"]["status"]["conditions"][0]["status"] == "True"
    fake.check_mode = False
    export(fake)
    fake.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "b"}
    fake.check_mode = True
    update = export(fake, now=NOW + 1)
    assert update["updated"] == ["east"] and fake.writes[-1] == ("patch", "ClusterProfileStatus", "east")
    assert update["diff"]["before"]["east"]["status"]["properties"] != update["diff"]["after"]["east"]["status"][
        "properties"]
    assert "multicluster.coreos.com/stage" not in str(stored(fake, "east")["status"])


def test_absent_deletes_only_the_profiles_carrying_the_manager_label():
    fake = directory(cluster("east"), cluster("central"))
    export(fake)
    fake.writes[:] = []
    result = export(fake, state="absent")
    assert result["deleted"] == ["central", "east"]
    assert sorted(fake.writes) == [("delete", "ClusterProfile", "central"), ("delete", "ClusterProfile", "east")]
    assert export(fake, state="absent")["changed"] is False


@pytest.mark.parametrize("params, message", [
    ({"namespace": "Fleet_Inventory"}, "namespace: 'Fleet_Inventory' is not a DNS-1123 label"),
    ({"grace_periods": 0}, "grace_periods must be a whole number from 1 to 1000, not 0"),
    ({"heartbeat_period": 0}, "heartbeat_period must be a whole number from 1 to 3600, not 0"),
    ({"grace_periods": True}, "grace_periods must be a whole number"),
    ({"state": "gone"}, "state must be present or absent"),
])
def test_bad_input_is_refused_before_any_request(params, message):
    fake = directory(cluster("east"))
    with pytest.raises(MulticlusterError, match=message.replace("(", r"\(")):
        export(fake, **params)
    assert fake.requests == [] and fake.writes == []


def test_without_the_api_the_error_says_how_to_install_it():
    fake = FakeCluster(label="west", missing_kinds=("ClusterProfile",))
    with pytest.raises(MissingResourceTypeError, match="registry_cluster_profiles: true"):
        export(fake)


def test_the_reads_are_one_list_of_each():
    fake = directory(cluster("east"), lease("east", NOW))
    export(fake)
    fake.requests[:] = []
    export(fake)
    assert sorted(r[1] for r in fake.requests) == ["Cluster", "ClusterProfile", "Lease"]


def test_an_edited_profile_is_restored_at_once_but_its_status_waits_for_the_budget():
    fake = directory(cluster("east", {"stage": "a"}), lease("east", NOW))
    budget = {}
    export(fake, budget=budget)
    fake.objects[("ClusterProfile", NS, "east")]["spec"]["displayName"] = "changed"
    fake.objects[("Cluster", "", "east")]["metadata"]["labels"] = {"stage": "b"}
    fake.writes[:] = []
    result = export(fake, now=NOW + 5, budget=budget)
    assert result["updated"] == ["east"] and fake.writes == [("patch", "ClusterProfile", "east")]
    assert "multicluster.coreos.com/stage" in str(stored(fake, "east")["status"]) and budget == {"east": NOW}
    assert stored(fake, "east")["status"]["properties"][0]["value"] == "a"
    assert export(fake, now=NOW + 30, budget=budget)["updated"] == ["east"]
    assert stored(fake, "east")["status"]["properties"][0]["value"] == "b" and budget == {"east": NOW + 30}


def test_a_profile_that_cannot_be_written_is_reported_and_the_others_are_still_exported():
    fake = directory(cluster("central"), cluster("east"), lease("central", NOW), lease("east", NOW))
    original = fake.create

    def create(body, parent=None):
        if body["metadata"]["name"] == "central":
            raise MulticlusterError("create ClusterProfile fleet-inventory/central on cluster 'west': 422 Invalid",
                                    details={"status": 422})
        return original(body, parent)
    fake.create = create
    result = export(fake)
    assert result["failed"] == [{"name": "central",
                                 "reason": "create ClusterProfile fleet-inventory/central on cluster 'west': 422 Invalid"}]
    assert result["created"] == ["east"] and stored(fake, "east") is not None and stored(fake, "central") is None
    with pytest.raises(MulticlusterError) as raised:
        profiles.fail_on_failed(result)
    assert "1 ClusterProfile(s) in %s could not be written (the others were): central: create" % NS in str(raised.value)
    assert profiles.fail_on_failed(export(directory(cluster("east")))) is not None

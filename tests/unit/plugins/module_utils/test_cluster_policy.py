"""The core of mc_cluster_policy above the resource layer: validation before
any request, the desired object, "no change" with the spec owned whole, the
collection's mark, absent, check mode and info. (The resource layer itself
and the real API server: tests/integration/test_mc_cluster_policy.py.)"""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.policies import cluster_policy as cp
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from tests.unit.utils.fake_cluster import FakeCluster

SPEC = {"selector": {"cloud": "aws"},
        "authorization": {"clusterBindings": [{"clusterRole": "admin", "groups": ["aws-admins"]}]},
        "namespaces": [{"name": "monitoring", "resourceQuota": {"hard": {"pods": 20}}}]}
MARK = {"app.kubernetes.io/managed-by": "coreos.multicluster"}


def test_desired_object_carries_the_mark_and_quantities_as_strings():
    obj = cp.desired("aws-admins", SPEC, {"team": "platform"})
    assert obj["apiVersion"] == "multicluster.coreos.com/v1" and obj["kind"] == "ClusterPolicy"
    assert obj["metadata"] == {"name": "aws-admins", "labels": dict(MARK, team="platform")}
    assert obj["spec"]["namespaces"][0]["resourceQuota"]["hard"] == {"pods": "20"}
    assert SPEC["namespaces"][0]["resourceQuota"]["hard"] == {"pods": 20}  # the input is not changed


def test_create_then_no_change_makes_no_write():
    directory = FakeCluster(label="west")
    first = cp.ensure_policy(directory, "aws-admins", SPEC, {"team": "platform"})
    assert first["changed"] is True
    assert directory.writes == [("create", "ClusterPolicy", "aws-admins")]
    assert first["before"] is None and first["diff"]["before"] == {}
    assert first["policy"]["metadata"]["labels"] == dict(MARK, team="platform")
    assert "resourceVersion" not in first["policy"]["metadata"]
    again = cp.ensure_policy(directory, "aws-admins", SPEC, {"team": "platform"})
    assert again["changed"] is False
    assert directory.writes == [("create", "ClusterPolicy", "aws-admins")]
    assert again["diff"]["before"] == again["diff"]["after"] == first["policy"]


def test_the_spec_is_owned_whole_labels_of_others_are_kept():
    directory = FakeCluster(label="west")
    cp.ensure_policy(directory, "aws-admins", SPEC)
    live = directory.stored("ClusterPolicy", "aws-admins")
    live["metadata"]["labels"]["other-tool"] = "yes"
    directory.objects[("ClusterPolicy", "", "aws-admins")] = live
    smaller = {"selector": {"cloud": "aws"}}
    result = cp.ensure_policy(directory, "aws-admins", smaller)
    assert result["changed"] is True
    stored = directory.stored("ClusterPolicy", "aws-admins")
    assert stored["spec"] == smaller  # authorization and namespaces removed, not merged
    assert stored["metadata"]["labels"] == dict(MARK, **{"other-tool": "yes"})
    assert result["diff"]["before"]["spec"] == cp.desired("x", SPEC)["spec"]
    assert result["diff"]["after"]["spec"] == smaller


def test_a_label_given_none_is_removed():
    directory = FakeCluster(label="west")
    cp.ensure_policy(directory, "p", SPEC, {"team": "a"})
    cp.ensure_policy(directory, "p", SPEC, {"team": None})
    assert directory.stored("ClusterPolicy", "p")["metadata"]["labels"] == MARK


def test_a_policy_made_by_another_tool_gets_the_mark_when_the_module_names_it():
    directory = FakeCluster(label="west")
    directory.add({"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy",
                   "metadata": {"name": "p"}, "spec": cp.desired("p", SPEC)["spec"]})
    result = cp.ensure_policy(directory, "p", SPEC)
    assert result["changed"] is True
    assert [w[0] for w in directory.writes] == ["patch"]
    assert cp.is_managed(directory.stored("ClusterPolicy", "p"))


def test_invalid_policy_lists_every_problem_and_sends_nothing():
    directory = FakeCluster(label="west")
    bad = {"selector": {"cloud": "a b"}, "namespaces": [{"name": "Mon"}, {"name": "x", "quota": {}}]}
    with pytest.raises(cp.InvalidPolicyError) as caught:
        cp.ensure_policy(directory, "Bad_Name", bad, {"app.kubernetes.io/managed-by": "helm"})
    problems = caught.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [
        "metadata.labels[app.kubernetes.io/managed-by]", "metadata.name", "spec.selector.cloud",
        "spec.namespaces[0].name", "spec.namespaces[1].quota"]
    assert "is set by this collection to 'coreos.multicluster', not 'helm'" in problems[0]
    assert str(caught.value).startswith("ClusterPolicy Bad_Name is not valid, nothing was written (5 problems): ")
    assert caught.value.details == {"problems": problems}
    assert isinstance(caught.value, MulticlusterError)
    assert directory.requests == [] and directory.writes == []


def test_present_needs_a_spec():
    with pytest.raises(cp.InvalidPolicyError, match=r"\(1 problem\): spec: is required with state present"):
        cp.ensure_policy(FakeCluster(), "p", None)


def test_the_mark_given_with_its_own_value_is_accepted():
    assert cp.check("p", {}, dict(MARK))["metadata"]["labels"] == MARK


def test_absent_deletes_and_twice_is_no_change():
    directory = FakeCluster(label="west")
    cp.ensure_policy(directory, "p", SPEC)
    gone = cp.ensure_policy(directory, "p", state="absent")
    assert gone["changed"] is True and gone["policy"] is None and gone["diff"]["after"] == {}
    assert gone["before"]["metadata"]["name"] == "p"
    assert directory.stored("ClusterPolicy", "p") is None
    again = cp.ensure_policy(directory, "p", state="absent")
    assert again["changed"] is False
    assert directory.writes == [("create", "ClusterPolicy", "p"), ("delete", "ClusterPolicy", "p")]


def test_absent_checks_the_name_only():
    directory = FakeCluster(label="west")
    with pytest.raises(cp.InvalidPolicyError, match="metadata.name: ClusterPolicy name 'P!' is not a valid"):
        cp.ensure_policy(directory, "P!", state="absent")
    assert directory.requests == []
    assert cp.ensure_policy(directory, "p", {"bad": 1}, state="absent")["changed"] is False


def test_check_mode_writes_nothing_and_reports_the_change():
    directory = FakeCluster(label="west", check_mode=True)
    result = cp.ensure_policy(directory, "p", SPEC)
    assert result["changed"] is True and result["after"]["spec"] == cp.desired("p", SPEC)["spec"]
    assert directory.objects == {} and directory.writes == []


def test_missing_api_is_the_registry_message():
    directory = FakeCluster(label="west", missing_kinds=("ClusterPolicy",))
    with pytest.raises(MulticlusterError, match=r"registry is not installed on cluster 'west' \(no ClusterPolicy API\)"):
        cp.ensure_policy(directory, "p", SPEC)


def test_info_by_name_selector_and_the_managed_ones():
    directory = FakeCluster(label="west")
    cp.ensure_policy(directory, "b-policy", SPEC, {"stage": "prod"})
    cp.ensure_policy(directory, "a-policy", SPEC)
    directory.add({"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy",
                   "metadata": {"name": "by-hand", "labels": {"stage": "prod"}}, "spec": {}})
    everything = cp.info(directory)
    assert everything["names"] == ["a-policy", "b-policy", "by-hand"]
    assert everything["managed"] == ["a-policy", "b-policy"]
    assert everything["changed"] is False
    assert "managedFields" not in everything["policies"][0]["metadata"]
    assert cp.info(directory, label_selector="stage=prod")["names"] == ["b-policy", "by-hand"]
    assert cp.info(directory, label_selector=cp.MANAGED_SELECTOR)["names"] == ["a-policy", "b-policy"]
    assert cp.info(directory, name="by-hand")["managed"] == []
    assert cp.info(directory, name="nowhere")["policies"] == []
    with pytest.raises(MulticlusterError, match="name: ClusterPolicy name 'No!' is not"):
        cp.info(directory, name="No!")

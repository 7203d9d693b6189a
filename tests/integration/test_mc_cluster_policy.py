"""mc_cluster_policy, mc_cluster_policy_info, the cluster_policies role and
apply_policies.yml against the lab's real apiservers, write requests checked
in the audit log."""

import json

import pytest
import yaml

from tests.integration.conftest import assert_writes, write_private

MARK = "app.kubernetes.io/managed-by"

SPEC = {
    "selector": {"cloud": "aws"},
    "matchExpressions": [{"key": "stage", "operator": "In", "values": ["production"]}],
    "authorization": {"clusterBindings": [{"clusterRole": "admin", "users": ["alice@example.com"],
                                           "groups": ["aws-admins"],
                                           "serviceAccounts": [{"namespace": "monitoring", "name": "deployer"}]}]},
    "namespaces": [{
        "name": "monitoring",
        "labels": {"team": "platform"},
        "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]},
        "resourceQuota": {"hard": {"pods": 20, "requests.cpu": "4"}},
        "limitRange": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                                   "defaultRequest": {"cpu": "100m"}}]},
    }],
}
STORED_SPEC = json.loads(json.dumps(SPEC).replace('"pods": 20', '"pods": "20"'))


def conn(cluster, **extra):
    args = {"kubeconfig": cluster.kubeconfig, "context": cluster.context}
    args.update(extra)
    return args


def live_policy(cluster, name):
    """The ClusterPolicy as kubectl reads it, or None."""
    got = cluster.kubectl("get", "clusterpolicies.multicluster.coreos.com", name, "-o", "json", check=False)
    return json.loads(got.stdout) if got.returncode == 0 else None


def kubectl_apply(cluster, obj):
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(obj))


def policy_object(name, labels=None, spec=None):
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy", "metadata": meta,
            "spec": spec if spec is not None else {"selector": {"cloud": "gcp"}}}


@pytest.fixture
def directory(registry):
    """The directory cluster with the ClusterPolicy API and no policies left from another test."""
    west = registry[0]
    west.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                 "crd/clusterpolicies.multicluster.coreos.com")
    west.kubectl("delete", "clusterpolicies.multicluster.coreos.com", "--all", "--wait=true")
    yield west
    west.kubectl("delete", "clusterpolicies.multicluster.coreos.com", "--all", "--wait=true")


# --- the module -----------------------------------------------------------------------------------------

def test_check_apply_check_apply(directory, run_module):
    args = conn(directory, name="aws-admins", spec=SPEC, labels={"team": "platform"})
    mark = directory.audit_mark()
    check = run_module("mc_cluster_policy", args, check=True)
    assert not check.failed, check.result
    assert check.changed is True
    assert check["diff"]["before"] == {}
    assert check["diff"]["after"]["spec"] == STORED_SPEC
    assert_writes(directory, mark, [])
    assert live_policy(directory, "aws-admins") is None

    apply = run_module("mc_cluster_policy", args)
    assert not apply.failed, apply.result
    assert apply.changed is True
    assert apply["policy"]["spec"] == STORED_SPEC
    assert_writes(directory, mark, [("create", "clusterpolicies", "", "aws-admins")])
    live = live_policy(directory, "aws-admins")
    assert live["spec"] == STORED_SPEC
    assert live["metadata"]["labels"] == {MARK: "coreos.multicluster", "team": "platform"}

    mark = directory.audit_mark()
    again_check = run_module("mc_cluster_policy", args, check=True)
    assert again_check.changed is False and not again_check.failed
    again = run_module("mc_cluster_policy", args)
    assert again.changed is False and not again.failed
    assert again["diff"]["before"] == again["diff"]["after"]
    assert_writes(directory, mark, [])


@pytest.mark.parametrize("spec", [
    {},
    {"selector": {}, "matchExpressions": [], "authorization": {"clusterBindings": []}, "namespaces": []},
    {"selector": None, "namespaces": [{"name": "empty", "labels": {}, "resourceQuota": {"hard": {}}}]},
])
def test_empty_parts_are_kept_and_a_rerun_writes_nothing(directory, run_module, spec):
    """The server keeps {} and [] as given (nulls are dropped), so a re-run is no change."""
    args = conn(directory, name="empty-parts", spec=spec)
    first = run_module("mc_cluster_policy", args)
    assert first.changed and not first.failed, first.result
    mark = directory.audit_mark()
    again = run_module("mc_cluster_policy", args)
    assert again.changed is False and not again.failed
    assert_writes(directory, mark, [])


def test_the_spec_is_owned_whole(directory, run_module):
    assert run_module("mc_cluster_policy", conn(directory, name="aws-admins", spec=SPEC)).changed
    directory.kubectl("label", "clusterpolicies.multicluster.coreos.com", "aws-admins", "other-tool=yes")
    smaller = {"selector": {"cloud": "aws"}, "namespaces": [{"name": "monitoring"}]}
    mark = directory.audit_mark()
    check = run_module("mc_cluster_policy", conn(directory, name="aws-admins", spec=smaller), check=True)
    assert check.changed and check["diff"]["after"]["spec"] == smaller
    assert check["diff"]["before"]["spec"] == STORED_SPEC
    assert live_policy(directory, "aws-admins")["spec"] == STORED_SPEC
    update = run_module("mc_cluster_policy", conn(directory, name="aws-admins", spec=smaller))
    assert update.changed and not update.failed
    live = live_policy(directory, "aws-admins")
    assert live["spec"] == smaller  # matchExpressions, authorization and the namespace's fields are gone
    assert live["metadata"]["labels"]["other-tool"] == "yes"  # labels other tools set are kept
    assert_writes(directory, mark, [("patch", "clusterpolicies", "", "aws-admins")])
    mark = directory.audit_mark()
    assert run_module("mc_cluster_policy", conn(directory, name="aws-admins", spec=smaller)).changed is False
    assert_writes(directory, mark, [])


def test_an_invalid_policy_fails_with_every_problem_and_writes_nothing(directory, run_module):
    bad = {
        "selector": {"cloud": "a b"},
        "authorization": {"clusterBindings": [{"clusterRole": "admin", "users": ["a"]},
                                              {"clusterRole": "admin", "groups": ["b"]}]},
        "namespaces": [{"name": "monitoring", "resourceQuota": {"hard": {"pods": "1.5.3"}}},
                       {"name": "monitoring", "limitRange": {"limits": [{"type": "Container", "maximum": {}}]}}],
        "colour": "blue",
    }
    mark = directory.audit_mark()
    for check in (True, False):
        result = run_module("mc_cluster_policy", conn(directory, name="Bad_Policy", spec=bad), check=check)
        assert result.failed
        problems = result["details"]["problems"]
        assert [p.split(": ", 1)[0] for p in problems] == [
            "metadata.name", "spec.colour", "spec.selector.cloud",
            "spec.authorization.clusterBindings[1].clusterRole", "spec.namespaces[0].resourceQuota.hard.pods",
            "spec.namespaces[1].name", "spec.namespaces[1].limitRange.limits[0].maximum"]
        assert "merge the subjects" in problems[3]
        assert "'1.5.3' is not a Kubernetes quantity" in problems[4]
        assert result["msg"].startswith("ClusterPolicy Bad_Policy is not valid, nothing was written (7 problems): ")
        assert all(p in result["msg"] for p in problems)
    assert_writes(directory, mark, [])
    assert directory.kubectl("get", "clusterpolicies.multicluster.coreos.com", "-o", "name").stdout.strip() == ""


def test_state_present_needs_a_spec(directory, run_module):
    result = run_module("mc_cluster_policy", conn(directory, name="p"))
    assert result.failed and "spec" in result["msg"]


def test_absent_check_apply_and_again(directory, run_module):
    assert run_module("mc_cluster_policy", conn(directory, name="aws-admins", spec=SPEC)).changed
    check = run_module("mc_cluster_policy", conn(directory, name="aws-admins", state="absent"), check=True)
    assert check.changed and check["diff"]["after"] == {} and check["policy"] is None
    assert live_policy(directory, "aws-admins") is not None
    mark = directory.audit_mark()
    gone = run_module("mc_cluster_policy", conn(directory, name="aws-admins", state="absent"))
    assert gone.changed and gone["before"]["spec"] == STORED_SPEC
    assert live_policy(directory, "aws-admins") is None
    assert_writes(directory, mark, [("delete", "clusterpolicies", "", "aws-admins")])
    mark = directory.audit_mark()
    again = run_module("mc_cluster_policy", conn(directory, name="aws-admins", state="absent"))
    assert again.changed is False and not again.failed
    assert_writes(directory, mark, [])


def test_info_names_the_managed_ones(directory, run_module):
    assert run_module("mc_cluster_policy", conn(directory, name="aws-admins", spec=SPEC, labels={"team": "a"})).changed
    kubectl_apply(directory, policy_object("by-hand", labels={"team": "a"}))
    everything = run_module("mc_cluster_policy_info", conn(directory))
    assert not everything.failed, everything.result
    assert everything["names"] == ["aws-admins", "by-hand"] and everything["managed"] == ["aws-admins"]
    assert everything.changed is False
    assert "resourceVersion" not in everything["policies"][0]["metadata"]
    managed = run_module("mc_cluster_policy_info", conn(directory, label_selectors=[MARK + "=coreos.multicluster"]))
    assert managed["names"] == ["aws-admins"]
    one = run_module("mc_cluster_policy_info", conn(directory, name="by-hand"))
    assert one["names"] == ["by-hand"] and one["managed"] == []
    assert run_module("mc_cluster_policy_info", conn(directory, name="nowhere"))["policies"] == []


def test_without_the_policy_api_the_message_says_so(registry, run_module):
    bare = registry[2]
    bare.kubectl("delete", "crd", "clusterpolicies.multicluster.coreos.com", "--wait=true")
    try:
        result = run_module("mc_cluster_policy", conn(bare, name="p", spec={}))
        assert result.failed
        assert ("the multi-cluster registry is not installed on cluster '%s' (no ClusterPolicy API)" % bare.context
                in result["msg"])
        assert "Traceback" not in result.stdout
    finally:
        from tests.integration.conftest import REGISTRY_MANIFEST
        bare.kubectl("apply", "-f", REGISTRY_MANIFEST)
        bare.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                     "crd/clusterpolicies.multicluster.coreos.com")


# --- the role, through apply_policies.yml ----------------------------------------------------------------

@pytest.fixture
def inventory(directory, tmp_path):
    """An inventory of the lab's directory alone (the role runs on it only)."""
    hosts = {"west-coast-production": {"mc_kubeconfig": directory.kubeconfig, "mc_context": directory.context}}
    inventory = {"all": {"vars": {"ansible_connection": "local",
                                  "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                         "children": {"directory": {"hosts": hosts}}}}
    return write_private(tmp_path / "inventory.yml", yaml.safe_dump(inventory))


POLICIES = [
    {"name": "aws-admins", "labels": {"team": "platform"}, "spec": SPEC},
    {"name": "everyone-views", "spec": {"authorization": {"clusterBindings": [
        {"clusterRole": "view", "groups": ["everyone"]}]}}},
]


def summary_records(run, host="west-coast-production"):
    result = run.task_results("Record the outcome for the summary")[host]
    return result["ansible_facts"]["cluster_policies_summary"]


def test_role_applies_prunes_only_its_own_and_is_idempotent(directory, inventory, run_playbook):
    kubectl_apply(directory, policy_object("stale", labels={MARK: "coreos.multicluster"}))
    kubectl_apply(directory, policy_object("by-hand"))
    extra = {"mc_cluster_policies": POLICIES, "cluster_policies_prune": True}

    check = run_playbook("apply_policies.yml", inventory, extra_vars=extra, check=True)
    assert check.rc == 0, check.failures()
    assert live_policy(directory, "aws-admins") is None and live_policy(directory, "stale") is not None

    mark = directory.audit_mark()
    run = run_playbook("apply_policies.yml", inventory, extra_vars=extra)
    assert run.rc == 0, run.failures()
    assert sorted(directory.kubectl("get", "clusterpolicies.multicluster.coreos.com", "-o", "name").stdout.split()) == [
        "clusterpolicy.multicluster.coreos.com/aws-admins", "clusterpolicy.multicluster.coreos.com/by-hand",
        "clusterpolicy.multicluster.coreos.com/everyone-views"]
    assert live_policy(directory, "aws-admins")["spec"] == STORED_SPEC
    assert live_policy(directory, "aws-admins")["metadata"]["labels"]["team"] == "platform"
    assert MARK not in (live_policy(directory, "by-hand")["metadata"].get("labels") or {})
    assert_writes(directory, mark, [("create", "clusterpolicies", "", "aws-admins"),
                                    ("create", "clusterpolicies", "", "everyone-views"),
                                    ("delete", "clusterpolicies", "", "stale")])
    assert summary_records(run) == [
        {"step": "ClusterPolicy aws-admins", "status": "changed"},
        {"step": "ClusterPolicy everyone-views", "status": "changed"},
        {"step": "prune ClusterPolicy stale", "status": "changed"}]

    mark = directory.audit_mark()
    again = run_playbook("apply_policies.yml", inventory, extra_vars=extra)
    assert again.rc == 0, again.failures()
    assert again.changed() == {"west-coast-production": 0}
    assert_writes(directory, mark, [])
    assert summary_records(again) == [{"step": "ClusterPolicy aws-admins", "status": "ok"},
                                      {"step": "ClusterPolicy everyone-views", "status": "ok"}]

    # dropped from the list: pruned; without prune, kept
    kept = run_playbook("apply_policies.yml", inventory, extra_vars={"mc_cluster_policies": POLICIES[:1]})
    assert kept.rc == 0 and live_policy(directory, "everyone-views") is not None
    mark = directory.audit_mark()
    pruned = run_playbook("apply_policies.yml", inventory,
                          extra_vars={"mc_cluster_policies": POLICIES[:1], "cluster_policies_prune": True})
    assert pruned.rc == 0, pruned.failures()
    assert live_policy(directory, "everyone-views") is None and live_policy(directory, "by-hand") is not None
    assert_writes(directory, mark, [("delete", "clusterpolicies", "", "everyone-views")])


def test_a_bad_policy_fails_the_role_applies_the_others_and_prunes_nothing(directory, inventory, run_playbook):
    kubectl_apply(directory, policy_object("stale", labels={MARK: "coreos.multicluster"}))
    bad = {"name": "broken", "spec": {"namespaces": [{"name": "Bad_Namespace"}]}}
    mark = directory.audit_mark()
    run = run_playbook("apply_policies.yml", inventory,
                       extra_vars={"mc_cluster_policies": [bad] + POLICIES[:1], "cluster_policies_prune": True})
    assert run.rc != 0
    assert run.failed_hosts() == ["west-coast-production"]
    messages = " ".join(msg for _host, _task, msg in run.failures())
    assert "ClusterPolicy broken is not valid, nothing was written (1 problem): spec.namespaces[0].name" in messages
    assert live_policy(directory, "aws-admins") is not None and live_policy(directory, "stale") is not None
    assert_writes(directory, mark, [("create", "clusterpolicies", "", "aws-admins")])
    records = summary_records(run)
    assert records[0]["step"] == "ClusterPolicy broken" and records[0]["status"] == "failed"
    assert records[1:] == [{"step": "ClusterPolicy aws-admins", "status": "changed"},
                           {"step": "prune ClusterPolicies", "status": "skipped",
                            "msg": "not pruned: a policy of the list failed"}]


@pytest.mark.parametrize("policies, message", [
    ([{"name": "a", "spec": {}}, {"name": "b", "spec": {}}, {"name": "a", "spec": {}}],
     "cluster_policies_list (default mc_cluster_policies) of west-coast-production names a more than once"),
    ([{"name": "a", "spec": {}, "colour": "blue"}], "colour. Supported parameters include"),
    ([{"name": "a"}], "missing required arguments: spec found in cluster_policies_list"),
    ([{"name": "a", "spec": "selector: {}"}], "cluster_policies_list"),
    ({"name": "a", "spec": {}}, "cluster_policies_list"),
])
def test_role_preflight_names_the_variable(directory, inventory, run_playbook, policies, message):
    mark = directory.audit_mark()
    run = run_playbook("apply_policies.yml", inventory, extra_vars={"mc_cluster_policies": policies})
    assert run.rc != 0
    messages = " ".join(msg for _host, _task, msg in run.failures())
    assert message in messages, messages
    assert_writes(directory, mark, [])


def test_apply_policies_without_policies_does_nothing(directory, inventory, run_playbook):
    kubectl_apply(directory, policy_object("stale", labels={MARK: "coreos.multicluster"}))
    mark = directory.audit_mark()
    run = run_playbook("apply_policies.yml", inventory)
    assert run.rc == 0, run.failures()
    assert run.task_results("Apply coreos.multicluster.cluster_policies")["west-coast-production"].get("skipped")
    assert live_policy(directory, "stale") is not None
    assert_writes(directory, mark, [])

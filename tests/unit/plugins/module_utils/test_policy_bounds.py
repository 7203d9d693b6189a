"""What a replica refuses of a Cluster Policy (protected namespaces, system:
subjects, scope, reserved labels), through whole syncs between in-memory
clusters, and the directory's own check of the same bounds."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import plan as pol
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import bounds
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.cluster_policy import InvalidPolicyError, check
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from tests.unit.plugins.module_utils.test_client import kubeconfig as client_kubeconfig
from tests.unit.plugins.module_utils.test_policy_sync import (
    REGISTRY_DEFAULTS, T0, cluster, converged, directory_with, held, policy, policy_status, replica_cluster,
    run_sync)

QUOTA = {"hard": {"pods": "0"}}
LIMITS = {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}


def entry(name, role="edit", **extra):
    found = {"name": name, "authorization": {"bindings": [{"clusterRole": role, "groups": ["sre"]}]},
             "resourceQuota": QUOTA, "limitRange": LIMITS}
    found.update(extra)
    return found


def recording(replica):
    """The replica, recording every write as (verb, kind, namespace, name) in .recorded."""
    replica.recorded = []
    replica.before_write.append(lambda verb, kind, namespace, name: replica.recorded.append(
        (verb, kind, namespace, name)))
    return replica


def written_into(replica, namespace):
    """Every write of a policy object the sync made into *namespace* (or on the Namespace itself)."""
    return [w for w in replica.recorded if w[1] in [k.kind for k in pol.TARGETS]
            and (w[2] == namespace or (w[1] == "Namespace" and w[3] == namespace))]


def refused(replica, name):
    return policy_status(replica)["items"][name]["refused"]


# --- protected namespaces -------------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace", bounds.PROTECTED_NAMESPACES)
def test_nothing_is_written_into_a_protected_namespace_and_the_rest_applies(namespace):
    starve = policy("starve", {"namespaces": [entry(namespace, labels={"team": "x"}), entry("team-a")]})
    replica = recording(replica_cluster())
    if replica.stored("Namespace", namespace) is None:
        replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    directory = directory_with(starve)
    run_sync(directory, replica)
    assert written_into(replica, namespace) == []
    assert "team" not in replica.stored("Namespace", namespace)["metadata"].get("labels", {})
    assert [r["object"] for r in refused(replica, "starve")] == ["Namespace %s" % namespace]
    assert "protected namespace" in refused(replica, "starve")[0]["reason"]
    assert policy_status(replica)["items"]["starve"]["state"] == "refused"
    # the policy's other entry applies
    assert held(replica, "ResourceQuota") == ["team-a/clusterpolicy.starve"]
    assert held(replica, "RoleBinding") == ["team-a/clusterpolicy:starve:edit", "team-a/" + names.INSPECT_BINDING]
    assert converged(directory, replica)


def test_a_namespace_the_replica_protects_is_refused_there_only():
    directory = directory_with(policy("pay", {"namespaces": [entry("payments")]}))
    protecting = recording(replica_cluster(settings=dict(REGISTRY_DEFAULTS, protectedNamespaces='["payments"]')))
    run_sync(directory, protecting)
    assert held(protecting, "Namespace") == [] and written_into(protecting, "payments") == []
    assert "protected by this replica" in refused(protecting, "pay")[0]["reason"]
    other = replica_cluster()
    run_sync(directory, other)
    assert held(other, "Namespace") == ["payments"]


def test_a_protected_namespace_carrying_the_mark_by_mistake_gets_no_inspect_binding_and_is_never_deleted():
    replica = replica_cluster()
    replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "kube-public", "labels": {names.MANAGED_BY_LABEL: names.SYNCED_BY}}})
    directory = directory_with(policy("p", {"namespaces": [entry("kube-public")]}))
    result = run_sync(directory, replica)
    assert replica.stored("RoleBinding", names.INSPECT_BINDING, "kube-public") is None
    assert replica.stored("Namespace", "kube-public") is not None
    assert result["released"] == ["Namespace kube-public"]
    assert "protected namespace" in result["policies"]["released"][0]["reason"]


# --- subjects ----------------------------------------------------------------------------------------------------

SYSTEM = policy("open", {"authorization": {"clusterBindings": [
    {"clusterRole": "view", "groups": ["system:unauthenticated", "system:authenticated", "readers"]}]},
    "namespaces": [{"name": "team-a", "authorization": {"bindings": [
        {"clusterRole": "edit", "users": ["system:anonymous"], "groups": ["system:masters"]}]}}]})


def test_system_users_and_groups_are_never_bound_and_the_other_subjects_are():
    directory, replica = directory_with(SYSTEM), replica_cluster()
    run_sync(directory, replica)
    crb = replica.stored("ClusterRoleBinding", "clusterpolicy:open:view")
    assert [s["name"] for s in crb["subjects"]] == ["readers"]
    # a binding left with no subject is not made at all
    assert replica.stored("RoleBinding", "clusterpolicy:open:edit", "team-a") is None
    subjects = sorted(r["reason"].split(":", 1)[0] + ":" + r["reason"].split(":")[1] for r in refused(replica, "open"))
    assert subjects == ["subject Group system:authenticated", "subject Group system:masters",
                        "subject Group system:unauthenticated", "subject User system:anonymous"]
    assert all("never bind" in r["reason"] for r in refused(replica, "open"))
    bound = [s["name"] for k, o in replica.objects.items() if k[0] in ("ClusterRoleBinding", "RoleBinding")
             for s in o.get("subjects") or []]
    assert not [name for name in bound if name.startswith("system:")]


def test_a_system_subject_the_replica_allows_by_name_is_bound():
    directory = directory_with(SYSTEM)
    replica = replica_cluster(settings=dict(REGISTRY_DEFAULTS, allowedSubjects='["system:authenticated"]'))
    run_sync(directory, replica)
    crb = replica.stored("ClusterRoleBinding", "clusterpolicy:open:view")
    assert [s["name"] for s in crb["subjects"]] == ["system:authenticated", "readers"]


def test_service_accounts_only_of_the_namespaces_the_policy_creates():
    accounts = policy("ci", {"authorization": {"clusterBindings": [{"clusterRole": "view", "serviceAccounts": [
        {"namespace": "ci", "name": "deployer"}, {"namespace": "kube-system", "name": "default"},
        {"namespace": "elsewhere", "name": "x"}]}]}, "namespaces": [{"name": "ci"}]})
    directory, replica = directory_with(accounts), replica_cluster()
    run_sync(directory, replica)
    crb = replica.stored("ClusterRoleBinding", "clusterpolicy:ci:view")
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]
    assert sorted(r["reason"].split(":")[0] for r in refused(replica, "ci")) == [
        "subject ServiceAccount elsewhere/x", "subject ServiceAccount kube-system/default"]


# --- scope ---------------------------------------------------------------------------------------------------------

ADMINS = policy("admins", {"authorization": {"clusterBindings": [{"clusterRole": "admin", "users": ["alice"]}]},
                           "namespaces": [{"name": "team-a", "authorization": {"bindings": [
                               {"clusterRole": "admin", "users": ["alice"]}]}}]})


def test_admin_is_refused_cluster_wide_and_applied_in_a_policy_namespace_by_default():
    directory, replica = directory_with(ADMINS), replica_cluster()
    run_sync(directory, replica)
    assert held(replica, "ClusterRoleBinding") == []
    assert held(replica, "RoleBinding") == ["team-a/clusterpolicy:admins:admin", "team-a/" + names.INSPECT_BINDING]
    assert refused(replica, "admins") == [{
        "object": "ClusterRoleBinding clusterpolicy:admins:admin",
        "reason": "ClusterRole admin is not in this replica's allowlist of roles policies may bind cluster-wide "
                  "(view)"}]


def test_a_cluster_wide_admin_binding_made_before_is_removed_under_the_new_bounds():
    directory = directory_with(ADMINS)
    replica = replica_cluster(settings=dict(REGISTRY_DEFAULTS, clusterRoles='["view", "admin"]'))
    run_sync(directory, replica)
    assert held(replica, "ClusterRoleBinding") == ["clusterpolicy:admins:admin"]
    replica.objects[("ConfigMap", names.SYSTEM_NAMESPACE, names.SETTINGS_CONFIG_MAP)]["data"] = dict(REGISTRY_DEFAULTS)
    result = run_sync(directory, replica, now=T0 + 1)
    assert held(replica, "ClusterRoleBinding") == [] and "ClusterRoleBinding clusterpolicy:admins:admin" in result[
        "deleted"]


def test_a_role_only_the_cluster_wide_list_holds_is_refused_inside_namespaces():
    directory = directory_with(policy("p", {"namespaces": [{"name": "team-a", "authorization": {"bindings": [
        {"clusterRole": "view", "users": ["bob"]}]}}]}))
    replica = replica_cluster(settings=dict(REGISTRY_DEFAULTS, namespaceRoles='["edit"]'))
    run_sync(directory, replica)
    assert "inside namespaces (edit)" in refused(replica, "p")[0]["reason"]
    assert held(replica, "RoleBinding") == ["team-a/" + names.INSPECT_BINDING]


def test_the_inspect_binding_is_created_before_the_policies_bindings_in_a_namespace():
    directory, replica = directory_with(ADMINS), recording(replica_cluster())
    run_sync(directory, replica)
    created = [w[3] for w in replica.recorded if w[0] == "create" and w[1] == "RoleBinding"]
    assert created == [names.INSPECT_BINDING, "clusterpolicy:admins:admin"]


# --- labels --------------------------------------------------------------------------------------------------------

LABELLED = policy("labels", {"namespaces": [{"name": "team-a", "labels": {
    "pod-security.kubernetes.io/enforce": "privileged", "kubernetes.io/metadata.name": "x",
    "node.k8s.io/pool": "x", "multicluster.coreos.com/replica": "x", "app.kubernetes.io/managed-by": "me",
    "team": "a", "example.com/tier": "gold"}}]})


def test_reserved_label_keys_are_refused_and_ordinary_ones_applied():
    directory, replica = directory_with(LABELLED), replica_cluster()
    run_sync(directory, replica)
    labels = replica.stored("Namespace", "team-a")["metadata"]["labels"]
    assert labels["team"] == "a" and labels["example.com/tier"] == "gold"
    assert "pod-security.kubernetes.io/enforce" not in labels and "node.k8s.io/pool" not in labels
    assert "multicluster.coreos.com/replica" not in labels
    assert labels[names.MANAGED_BY_LABEL] == names.SYNCED_BY  # the syncer's own mark, not the policy's value
    assert sorted(r["reason"].split(":")[0] for r in refused(replica, "labels")) == [
        "label app.kubernetes.io/managed-by", "label kubernetes.io/metadata.name",
        "label multicluster.coreos.com/replica", "label node.k8s.io/pool", "label pod-security.kubernetes.io/enforce"]
    assert converged(directory, replica)


def test_a_label_key_the_replica_allows_by_name_is_set():
    directory = directory_with(LABELLED)
    replica = replica_cluster(settings=dict(REGISTRY_DEFAULTS,
                                            allowedLabelKeys='["pod-security.kubernetes.io/enforce"]'))
    run_sync(directory, replica)
    labels = replica.stored("Namespace", "team-a")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "node.k8s.io/pool" not in labels


@pytest.mark.parametrize("key, reserved", [
    ("kubernetes.io/x", True), ("pod-security.kubernetes.io/enforce", True), ("k8s.io/x", True),
    ("a.b.k8s.io/x", True), ("multicluster.coreos.com/policies", True), ("x.multicluster.coreos.com/y", True),
    ("team", False), ("example.com/x", False), ("notkubernetes.io/x", False), ("kubernetes.io.example.com/x", False),
])
def test_reserved_label_key(key, reserved):
    assert bounds.is_reserved_label_key(key) is reserved


# --- no settings: nothing applied, nothing removed --------------------------------------------------------------

def test_without_the_settings_config_map_nothing_is_applied_nor_removed():
    directory, replica = directory_with(ADMINS), replica_cluster()
    run_sync(directory, replica)
    before = dict((k, v) for k, v in replica.objects.items() if sp.is_held(v) and k[0] != "Cluster")
    del replica.objects[("ConfigMap", names.SYSTEM_NAMESPACE, names.SETTINGS_CONFIG_MAP)]
    del directory.objects[("ClusterPolicy", "", "admins")]  # would remove everything, were policies applied
    directory.add(policy("new", {"namespaces": [{"name": "team-b"}]}))
    result = run_sync(directory, replica, now=T0 + 1)
    after = dict((k, v) for k, v in replica.objects.items() if sp.is_held(v) and k[0] != "Cluster")
    assert after == before and replica.stored("Namespace", "team-b") is None
    assert "has no ConfigMap tectonic-system/directory-sync-config" in result["policies"]["error"]
    assert result["policies"]["items"]["new"]["state"] == "failed"


def test_a_fresh_replica_without_settings_gets_nothing():
    directory, replica = directory_with(ADMINS), replica_cluster(settings=None)
    result = run_sync(directory, replica)
    assert held(replica, "Namespace") == held(replica, "RoleBinding") == []
    assert "policies not applied" in replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")["data"][
        "message"]
    assert "east" in result["created"]  # the Cluster sync still runs


# --- the directory's check: what every replica refuses, refused at apply time ----------------------------------------

def test_the_directory_refuses_what_every_replica_refuses_with_the_path_of_each_field():
    spec = {"authorization": {"clusterBindings": [{"clusterRole": "view", "groups": ["system:unauthenticated"],
                                                   "serviceAccounts": [{"namespace": "kube-system",
                                                                        "name": "default"}]}]},
            "namespaces": [{"name": "kube-system", "resourceQuota": QUOTA},
                           {"name": "team-a", "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
                            "authorization": {"bindings": [{"clusterRole": "edit", "users": ["system:anonymous"],
                                                            "serviceAccounts": [{"namespace": "team-a",
                                                                                 "name": "ci"}]}]}}]}
    with pytest.raises(InvalidPolicyError) as raised:
        check("bad", spec)
    paths = [p.split(": ", 1)[0] for p in raised.value.problems]
    assert paths == ["spec.authorization.clusterBindings[0].groups[0]",
                     "spec.authorization.clusterBindings[0].serviceAccounts[0].namespace",
                     "spec.namespaces[0].name",
                     "spec.namespaces[1].labels[pod-security.kubernetes.io/enforce]",
                     "spec.namespaces[1].authorization.bindings[0].users[0]"]
    assert "nothing was written" in str(raised.value)


def test_the_directory_accepts_a_policy_within_the_bounds():
    spec = {"authorization": {"clusterBindings": [{"clusterRole": "admin", "users": ["alice"],
                                                   "serviceAccounts": [{"namespace": "ci", "name": "deployer"}]}]},
            "namespaces": [{"name": "ci", "labels": {"team": "ci", "example.com/tier": "gold"}}]}
    assert check("good", spec)["spec"] == spec
    assert bounds.problems(spec) == []


def test_a_replica_still_reads_a_policy_the_directory_would_refuse_entry_by_entry():
    """A policy written before the directory checked the bounds (or with kubectl on an old CRD) is refused
    entry by entry on the replica, never as a whole."""
    plan = pol.materialise([policy("old", {"namespaces": [entry("default"), entry("team-a")]})], "east",
                           [cluster("east")], pol.Settings.from_data(REGISTRY_DEFAULTS), lambda role: True, set())
    assert plan["report"].items()["old"]["state"] == "refused"
    assert [o["metadata"]["name"] for o in plan["desired"]["Namespace"]] == ["team-a"]


# --- the same bounds from Ansible: policy objects through the agent's identity ----------------------------------------

class Refusing(object):
    """The replica as seen through a credential that may not impersonate: every request is refused (HTTP 403)."""

    def __init__(self, replica):
        self.label, self.check_mode, self.requests = replica.label, replica.check_mode, []

    def __getattr__(self, verb):
        def refuse(*args, **kwargs):
            self.requests.append((verb,) + args)
            raise MulticlusterError('%s on cluster \'east\': HTTP 403 Forbidden: users "system:serviceaccount:'
                                    'tectonic-system:directory-sync" is forbidden: User "admin" cannot impersonate '
                                    'resource "users" in API group "" at the cluster scope' % verb,
                                    details={"status": 403})
        return refuse


def test_policies_go_through_the_policy_client_and_clusters_through_the_replicas():
    directory, replica = directory_with(ADMINS), replica_cluster()
    refusing = Refusing(replica)
    result = ds.sync(directory, replica, "https://directory.example.com:6443", now=T0, policy_replica=refusing)
    assert "east" in result["created"]  # the Cluster sync still runs, with the replica's own client
    assert "cannot impersonate" in result["policies"]["error"]
    assert result["policies"]["items"]["admins"]["state"] == "failed"
    assert held(replica, "Namespace") == [] and refusing.requests
    assert "policies not applied" in replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")["data"][
        "message"]


def test_when_impersonation_is_refused_what_policies_made_before_stays():
    directory, replica = directory_with(ADMINS), replica_cluster()
    run_sync(directory, replica)
    before = dict((k, v) for k, v in replica.objects.items() if sp.is_held(v) and k[0] != "Cluster")
    del directory.objects[("ClusterPolicy", "", "admins")]
    ds.sync(directory, replica, "https://directory.example.com:6443", now=T0 + 1, policy_replica=Refusing(replica))
    assert dict((k, v) for k, v in replica.objects.items() if sp.is_held(v) and k[0] != "Cluster") == before


def test_an_impersonating_client_sends_the_agents_name_and_leaves_the_original_alone():
    original = ClusterClient({"kubeconfig": client_kubeconfig(), "request_timeout": 7}, check_mode=True)
    agent = original.impersonating(pol.AGENT_USER)
    assert agent.api_client.default_headers["Impersonate-User"] == \
        "system:serviceaccount:tectonic-system:directory-sync"
    assert "Impersonate-User" not in original.api_client.default_headers
    assert (agent.label, agent.server, agent.timeout, agent.check_mode) == (
        original.label, original.server, 7.0, True)
    assert agent.configuration is original.configuration  # the same credential and TLS trust

"""Cluster Policies through whole syncs between two in-memory clusters
(FakeCluster, shaped as 1.21-1.3x API servers return objects): selection,
ownership, drift, overlap, leaving, refusals, and what is recorded."""

import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.sync import engine as ds
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import plan as pol
from ansible_collections.coreos.multicluster.plugins.module_utils.sync import plan as sp
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import quantities
from tests.unit.utils.fake_cluster import FakeCluster

DIRECTORY = "https://directory.example.com:6443"
T0 = 1780000000.0
ANNOTATION = pol.POLICIES_ANNOTATION


def cluster(name, **labels):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "Cluster",
            "metadata": {"name": name, "labels": labels},
            "spec": {"KubernetesAPIEndpoints": {"ServerEndpoints": [{"ServerAddress": "https://%s:6443" % name}]}}}


def policy(name, spec):
    return {"apiVersion": "multicluster.coreos.com/v1", "kind": "ClusterPolicy", "metadata": {"name": name},
            "spec": spec}


AWS_ADMINS = policy("aws-admins", {
    "selector": {"cloud": "aws"},
    "authorization": {"clusterBindings": [{"clusterRole": "view", "users": ["alice@example.com"],
                                           "groups": ["aws-admins"]}]},
    "namespaces": [{"name": "monitoring",
                    "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]},
                    "resourceQuota": {"hard": {"pods": "20", "requests.cpu": "4000m", "requests.memory": "8Gi"}},
                    "limitRange": {"limits": [{"type": "Container", "max": {"cpu": "2", "memory": "1Gi"},
                                               "min": {"cpu": "10m"}}]}}]})


def directory_with(*policies, **labels):
    directory = FakeCluster(label="directory", server=DIRECTORY)
    directory.add(cluster("east", **(labels or {"cloud": "aws", "stage": "production"})))
    directory.add(cluster("west", cloud="gcp"))
    for obj in policies:
        directory.add(obj)
    return directory


# the registry role's defaults (roles/registry/defaults/main.yml, as its ConfigMap template writes them)
REGISTRY_DEFAULTS = {"policies": "enabled", "clusterRoles": '["view"]', "namespaceRoles": '["view", "edit", "admin"]',
                     "protectedNamespaces": "[]", "allowedSubjects": "[]", "allowedLabelKeys": "[]"}


def replica_cluster(name="east", check_mode=False, settings="defaults"):
    """A replica with the registry's settings ConfigMap holding *settings* (the registry role's defaults
    unless given; None: no ConfigMap)."""
    settings = dict(REGISTRY_DEFAULTS) if settings == "defaults" else settings
    replica = FakeCluster(label=name)
    replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tectonic-system"}})
    replica.add({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "tectonic-config", "namespace": "tectonic-system"},
                 "data": {"clusterName": name}})
    for role in ("view", "edit", "admin", "cluster-admin"):
        replica.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role},
                     "rules": []})
    if settings is not None:
        replica.add({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": names.SETTINGS_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE},
                     "data": settings})
    replica.check_mode = check_mode
    return replica


def run_sync(directory, replica, now=T0):
    return ds.sync(directory, replica, DIRECTORY, now=now)


def policy_status(replica):
    data = replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)["data"]
    return json.loads(data["policies"])


def held(replica, kind):
    return sorted("%s/%s" % (k[1], k[2]) if k[1] else k[2] for k, obj in replica.objects.items()
                  if k[0] == kind and sp.is_held(obj))


def converged(directory, replica, now=T0 + 10):
    replica.writes[:] = []
    result = run_sync(directory, replica, now)
    return not result["changed"] and replica.writes == []


# --- selection --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, labels, expected", [
    ({}, {"cloud": "aws"}, True),
    ({"selector": {}}, {}, True),
    ({"selector": {"cloud": "aws"}}, {"cloud": "aws", "stage": "dev"}, True),
    ({"selector": {"cloud": "aws"}}, {"cloud": "gcp"}, False),
    ({"selector": {"cloud": "aws"}}, {}, False),
    ({"matchExpressions": [{"key": "stage", "operator": "In", "values": ["dev", "qa"]}]}, {"stage": "qa"}, True),
    ({"matchExpressions": [{"key": "stage", "operator": "In", "values": ["dev"]}]}, {}, False),
    ({"matchExpressions": [{"key": "stage", "operator": "NotIn", "values": ["dev"]}]}, {}, True),
    ({"matchExpressions": [{"key": "stage", "operator": "NotIn", "values": ["dev"]}]}, {"stage": "dev"}, False),
    ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, {"gpu": ""}, True),
    ({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, {"gpu": "x"}, False),
    ({"matchExpressions": [{"key": "gpu", "operator": "Sometimes"}]}, {"gpu": "x"}, False),
    # ANDed with the selector
    ({"selector": {"cloud": "aws"}, "matchExpressions": [{"key": "stage", "operator": "In", "values": ["prod"]}]},
     {"cloud": "aws", "stage": "dev"}, False),
])
def test_selection(spec, labels, expected):
    assert pol.selects(spec, labels) is expected


def test_settings_as_the_registry_role_writes_them():
    settings = pol.Settings.from_data(REGISTRY_DEFAULTS)
    assert settings.enabled and settings.cluster_roles == ("view",)
    assert settings.namespace_roles == ("view", "edit", "admin") and settings.roles == ("view", "edit", "admin")
    assert settings.protected_namespaces == settings.allowed_subjects == settings.allowed_label_keys == ()


@pytest.mark.parametrize("data, attribute, expected", [
    ({"policies": "disabled"}, "enabled", False),
    # a missing key allows nothing, never the registry's defaults
    ({"policies": "enabled"}, "cluster_roles", ()),
    ({"policies": "enabled"}, "namespace_roles", ()),
    ({"policyRoles": '["view", "edit", "admin"]'}, "roles", ()),  # the key older registry roles wrote is not read
    ({"clusterRoles": '["view", "cluster-admin"]'}, "cluster_roles", ("view", "cluster-admin")),
    ({"protectedNamespaces": '["payments"]'}, "protected_namespaces", ("payments",)),
    ({"allowedSubjects": '["system:serviceaccounts:ci"]'}, "allowed_subjects", ("system:serviceaccounts:ci",)),
    ({"allowedLabelKeys": '["pod-security.kubernetes.io/warn"]'}, "allowed_label_keys",
     ("pod-security.kubernetes.io/warn",)),
])
def test_settings(data, attribute, expected):
    assert getattr(pol.Settings.from_data(data), attribute) == expected


def test_protected_namespaces_are_the_builtin_ones_and_the_replicas():
    settings = pol.Settings(protected_namespaces=("payments",))
    assert [n for n in ("kube-system", "kube-public", "kube-node-lease", "default", "tectonic-system",
                        "tectonic-multi-cluster", "payments", "monitoring") if settings.protected(n)] == [
        "kube-system", "kube-public", "kube-node-lease", "default", "tectonic-system", "tectonic-multi-cluster",
        "payments"]


@pytest.mark.parametrize("data, message", [
    ({"policies": "maybe"}, "'policies' is 'maybe'"),
    ({"clusterRoles": "view,edit"}, "'clusterRoles' is not a JSON list"),
    ({"namespaceRoles": '[""]'}, "'namespaceRoles' is not a JSON list"),
    ({"protectedNamespaces": '{"a": 1}'}, "'protectedNamespaces' is not a JSON list"),
    ({"allowedSubjects": "[1]"}, "'allowedSubjects' is not a JSON list"),
])
def test_bad_settings_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        pol.Settings.from_data(data)


# --- a policy lands where it selects, and only there ------------------------------------------------------

def test_a_policy_lands_on_a_matching_replica_with_derived_names_and_the_mark():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    result = run_sync(directory, replica)
    assert held(replica, "Namespace") == ["monitoring"]
    assert held(replica, "ClusterRoleBinding") == ["clusterpolicy:aws-admins:view"]
    assert held(replica, "RoleBinding") == ["monitoring/clusterpolicy:aws-admins:edit",
                                            "monitoring/" + names.INSPECT_BINDING]
    assert held(replica, "ResourceQuota") == held(replica, "LimitRange") == ["monitoring/clusterpolicy.aws-admins"]
    crb = replica.stored("ClusterRoleBinding", "clusterpolicy:aws-admins:view")
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert [(s["kind"], s["name"]) for s in crb["subjects"]] == [("User", "alice@example.com"),
                                                                 ("Group", "aws-admins")]
    assert crb["metadata"]["annotations"][ANNOTATION] == "aws-admins"
    assert replica.stored("Namespace", "monitoring")["metadata"]["annotations"][ANNOTATION] == "aws-admins"
    inspect = replica.stored("RoleBinding", names.INSPECT_BINDING, "monitoring")
    assert inspect["roleRef"]["name"] == names.INSPECT_ROLE
    assert inspect["subjects"] == [{"kind": "ServiceAccount", "name": "directory-sync",
                                    "namespace": "tectonic-system"}]
    status = policy_status(replica)
    entry = status["items"]["aws-admins"]
    assert entry["state"] == "applied" and entry["conflicts"] == entry["refused"] == entry["failed"] == []
    assert len(entry["objects"]) == 5 and "Namespace monitoring" in entry["objects"]
    assert status["allowlist"] == ["view", "edit", "admin"]  # cluster-wide ones first
    assert "policies: 1 applied" in replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")[
        "data"]["message"]
    assert result["policies"] == status
    assert "Namespace monitoring" in result["created"] and result["changed"]
    assert directory.writes == []  # pull-only


def test_a_converged_sync_writes_nothing_though_the_server_rewrote_quantities_and_defaulted_limits():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    quota = replica.stored("ResourceQuota", "clusterpolicy.aws-admins", "monitoring")
    assert quota["spec"]["hard"]["requests.cpu"] == "4"  # the server's spelling of 4000m
    limits = replica.stored("LimitRange", "clusterpolicy.aws-admins", "monitoring")
    assert limits["spec"]["limits"][0]["default"] == {"cpu": "2", "memory": "1Gi"}  # defaulted from max
    assert converged(directory, replica)
    # other tools' annotations and labels on a synced object are no difference either
    replica.objects[("Namespace", "", "monitoring")]["metadata"]["annotations"]["team.example.com/owner"] = "x"
    replica.objects[("Namespace", "", "monitoring")]["metadata"]["labels"]["audit"] = "on"
    assert converged(directory, replica, now=T0 + 20)


def test_a_policy_that_does_not_select_the_replica_writes_nothing_of_its_own():
    directory, replica = directory_with(AWS_ADMINS, cloud="gcp"), replica_cluster()
    run_sync(directory, replica)
    assert held(replica, "Namespace") == held(replica, "ClusterRoleBinding") == []
    assert policy_status(replica)["items"] == {"aws-admins": {"state": "not selected"}}
    assert "policies: 1 not selected" in replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")[
        "data"]["message"]


def test_relabelling_the_cluster_in_the_directory_moves_it_out_and_its_empty_namespace_goes():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    directory.objects[("Cluster", "", "east")]["metadata"]["labels"]["cloud"] = "azure"
    result = run_sync(directory, replica, now=T0 + 1)
    assert held(replica, "Namespace") == held(replica, "ClusterRoleBinding") == held(replica, "RoleBinding") == []
    assert replica.stored("Namespace", "monitoring") is None  # only the syncer's and Kubernetes' objects were there
    assert "Namespace monitoring" in result["deleted"] and result["released"] == []
    deletes = [w[1] for w in replica.writes if w[0] == "delete"]
    assert deletes.index("RoleBinding") < deletes.index("Namespace")  # what is in it goes first
    assert policy_status(replica)["items"]["aws-admins"] == {"state": "not selected"}
    # and back in
    directory.objects[("Cluster", "", "east")]["metadata"]["labels"]["cloud"] = "aws"
    run_sync(directory, replica, now=T0 + 2)
    assert held(replica, "Namespace") == ["monitoring"]


# --- drift, ownership and conflicts ---------------------------------------------------------------------------

def test_a_hand_edited_or_deleted_synced_object_is_put_back():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    key = ("RoleBinding", "monitoring", "clusterpolicy:aws-admins:edit")
    replica.objects[key]["subjects"].append({"kind": "User", "apiGroup": "rbac.authorization.k8s.io",
                                             "name": "mallory"})
    del replica.objects[("ResourceQuota", "monitoring", "clusterpolicy.aws-admins")]
    result = run_sync(directory, replica, now=T0 + 1)
    assert [s["name"] for s in replica.objects[key]["subjects"]] == ["sre"]
    assert replica.stored("ResourceQuota", "clusterpolicy.aws-admins", "monitoring") is not None
    assert "RoleBinding monitoring/clusterpolicy:aws-admins:edit" in result["updated"]
    assert converged(directory, replica, now=T0 + 2)


def test_a_changed_role_ref_is_a_replace():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    edited = json.loads(json.dumps(AWS_ADMINS))
    edited["spec"]["namespaces"][0]["authorization"]["bindings"][0]["clusterRole"] = "view"
    directory.objects[("ClusterPolicy", "", "aws-admins")]["spec"] = edited["spec"]
    run_sync(directory, replica, now=T0 + 1)
    assert held(replica, "RoleBinding") == ["monitoring/clusterpolicy:aws-admins:view",  # a new name for a new role
                                            "monitoring/" + names.INSPECT_BINDING]
    # the same name with another role: a binding edited by hand to point elsewhere
    key = ("ClusterRoleBinding", "", "clusterpolicy:aws-admins:view")
    replica.objects[key]["roleRef"]["name"] = "cluster-admin"
    replica.writes[:] = []
    run_sync(directory, replica, now=T0 + 2)
    assert replica.objects[key]["roleRef"]["name"] == "view"
    assert [w[:2] for w in replica.writes if w[1] == "ClusterRoleBinding"] == [
        ("delete", "ClusterRoleBinding"), ("create", "ClusterRoleBinding")]


def test_objects_of_the_same_name_made_by_hand_are_conflicts_left_alone():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring", "labels": {"mine": "1"}}})
    replica.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                 "metadata": {"name": "clusterpolicy:aws-admins:view"},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                 "subjects": [{"kind": "User", "name": "bob"}]})
    result = run_sync(directory, replica)
    ns = replica.stored("Namespace", "monitoring")
    assert not sp.is_held(ns) and ns["metadata"]["labels"]["mine"] == "1"
    assert replica.stored("ClusterRoleBinding", "clusterpolicy:aws-admins:view")["roleRef"]["name"] == "view"
    assert sorted(result["conflicts"]) == ["ClusterRoleBinding clusterpolicy:aws-admins:view",
                                           "Namespace monitoring"]
    entry = policy_status(replica)["items"]["aws-admins"]
    assert entry["state"] == "refused"  # the worst: what would go in the hand-made namespace
    assert [c["object"] for c in entry["conflicts"]] == ["ClusterRoleBinding clusterpolicy:aws-admins:view",
                                                         "Namespace monitoring"]
    # nothing is written into a hand-made namespace, and the agent is given nothing there
    assert [r["object"] for r in entry["refused"]] == [
        "LimitRange monitoring/clusterpolicy.aws-admins", "ResourceQuota monitoring/clusterpolicy.aws-admins",
        "RoleBinding monitoring/clusterpolicy:aws-admins:edit"]
    assert "was not made by the syncer" in entry["refused"][0]["reason"]
    assert held(replica, "RoleBinding") == held(replica, "ResourceQuota") == held(replica, "LimitRange") == []
    assert converged(directory, replica)


# --- overlap ----------------------------------------------------------------------------------------------------

def shared(name, role, labels=None):
    entry = {"name": "shared", "authorization": {"bindings": [{"clusterRole": role, "groups": [name]}]}}
    if labels:
        entry["labels"] = labels
    return policy(name, {"namespaces": [entry]})


def test_two_policies_share_a_namespace_and_it_stays_while_either_wants_it():
    directory, replica = directory_with(shared("alpha", "view"), shared("beta", "edit")), replica_cluster()
    run_sync(directory, replica)
    assert replica.stored("Namespace", "shared")["metadata"]["annotations"][ANNOTATION] == "alpha,beta"
    assert held(replica, "RoleBinding") == ["shared/clusterpolicy:alpha:view", "shared/clusterpolicy:beta:edit",
                                            "shared/" + names.INSPECT_BINDING]
    assert converged(directory, replica)
    del directory.objects[("ClusterPolicy", "", "alpha")]
    run_sync(directory, replica, now=T0 + 1)
    assert replica.stored("Namespace", "shared")["metadata"]["annotations"][ANNOTATION] == "beta"
    assert held(replica, "RoleBinding") == ["shared/clusterpolicy:beta:edit", "shared/" + names.INSPECT_BINDING]
    del directory.objects[("ClusterPolicy", "", "beta")]
    run_sync(directory, replica, now=T0 + 2)
    assert replica.stored("Namespace", "shared") is None


def test_two_policies_asking_for_different_labels_on_one_namespace_both_conflict():
    directory = directory_with(shared("alpha", "view", {"tier": "gold", "team": "a"}),
                               shared("beta", "edit", {"tier": "silver"}))
    replica = replica_cluster()
    run_sync(directory, replica)
    labels = replica.stored("Namespace", "shared")["metadata"]["labels"]
    assert labels.get("team") == "a" and "tier" not in labels  # set by neither
    items = policy_status(replica)["items"]
    for name in ("alpha", "beta"):
        assert items[name]["state"] == "conflict"
        assert items[name]["conflicts"][0]["object"] == "Namespace shared"
        assert "label tier" in items[name]["conflicts"][0]["reason"]
    assert converged(directory, replica)


# --- leaving ----------------------------------------------------------------------------------------------------

def test_a_namespace_holding_a_hand_made_object_is_released_not_deleted():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    replica.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dashboards", "namespace": "monitoring"},
                 "data": {"a": "b"}})
    del directory.objects[("ClusterPolicy", "", "aws-admins")]
    result = run_sync(directory, replica, now=T0 + 1)
    ns = replica.stored("Namespace", "monitoring")
    assert ns is not None and not sp.is_held(ns)
    assert ANNOTATION not in ns["metadata"].get("annotations", {})
    assert replica.stored("ConfigMap", "dashboards", "monitoring") is not None
    assert replica.stored("RoleBinding", names.INSPECT_BINDING, "monitoring") is None
    assert held(replica, "RoleBinding") == held(replica, "ResourceQuota") == []
    assert result["released"] == ["Namespace monitoring"] and result["changed"]
    status = policy_status(replica)
    assert status["released"] == [{"object": "Namespace monitoring", "reason": "it holds ConfigMap dashboards"}]
    assert "released (kept, no longer managed): Namespace monitoring" in replica.stored(
        "ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")["data"]["message"]
    # the next sync has nothing left to do with it
    run_sync(directory, replica, now=T0 + 2)
    assert converged(directory, replica, now=T0 + 3)


def test_a_namespace_whose_content_cannot_be_checked_is_released():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    replica.failures[("inspect", "Namespace")] = MulticlusterError(
        "list secrets in namespace monitoring on cluster 'east': HTTP 403 Forbidden", details={"status": 403})
    del directory.objects[("ClusterPolicy", "", "aws-admins")]
    result = run_sync(directory, replica, now=T0 + 1)
    assert result["released"] == ["Namespace monitoring"]
    assert "cannot be checked" in policy_status(replica)["released"][0]["reason"]


# --- what the replica refuses -------------------------------------------------------------------------------------

def test_a_role_outside_the_allowlist_is_refused_and_the_rest_applies():
    escalating = policy("root", {"authorization": {"clusterBindings": [
        {"clusterRole": "cluster-admin", "groups": ["everyone"]}, {"clusterRole": "view", "groups": ["everyone"]}]}})
    directory, replica = directory_with(escalating), replica_cluster()
    run_sync(directory, replica)
    assert held(replica, "ClusterRoleBinding") == ["clusterpolicy:root:view"]
    entry = policy_status(replica)["items"]["root"]
    assert entry["state"] == "refused"
    assert entry["refused"] == [{"object": "ClusterRoleBinding clusterpolicy:root:cluster-admin",
                                 "reason": "ClusterRole cluster-admin is not in this replica's allowlist of roles "
                                           "policies may bind cluster-wide (view)"}]
    # a replica that lists cluster-admin grants it
    other = replica_cluster("east", settings=dict(REGISTRY_DEFAULTS, clusterRoles='["view", "cluster-admin"]'))
    run_sync(directory, other)
    assert held(other, "ClusterRoleBinding") == ["clusterpolicy:root:cluster-admin", "clusterpolicy:root:view"]


def test_a_missing_cluster_role_and_a_refused_write_fail_alone():
    directory = directory_with(AWS_ADMINS, policy("custom", {"authorization": {"clusterBindings": [
        {"clusterRole": "view", "groups": ["x"]}]}}))
    replica = replica_cluster()
    del replica.objects[("ClusterRole", "", "edit")]

    def refuse(verb, kind, namespace, name):
        if verb == "create" and name == "clusterpolicy.aws-admins" and kind == "LimitRange":
            raise MulticlusterError("create LimitRange monitoring/clusterpolicy.aws-admins on cluster 'east': "
                                    "HTTP 403 Forbidden: limitranges is forbidden", details={"status": 403})
    replica.before_write.append(refuse)
    result = run_sync(directory, replica)
    items = policy_status(replica)["items"]
    assert items["aws-admins"]["state"] == "failed"
    assert sorted(f["object"] for f in items["aws-admins"]["failed"]) == [
        "LimitRange monitoring/clusterpolicy.aws-admins", "RoleBinding monitoring/clusterpolicy:aws-admins:edit"]
    assert "ClusterRole edit does not exist" in json.dumps(items["aws-admins"]["failed"])
    assert items["custom"]["state"] == "applied"
    assert held(replica, "ResourceQuota") == ["monitoring/clusterpolicy.aws-admins"]
    assert held(replica, "Cluster") == ["east", "west"]  # the Cluster sync went on
    assert result["failed"][0]["object"] == "LimitRange monitoring/clusterpolicy.aws-admins"


def test_an_invalid_policy_is_applied_nowhere_and_says_why():
    broken = policy("broken", {"namespaces": [{"name": "Not_A_Name"}], "colour": "red"})
    directory, replica = directory_with(broken, AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    items = policy_status(replica)["items"]
    assert items["broken"]["state"] == "invalid"
    assert any("colour" in p for p in items["broken"]["problems"])
    assert items["aws-admins"]["state"] == "applied"
    assert held(replica, "Namespace") == ["monitoring"]


# --- policies not applied now: nothing of theirs is touched ----------------------------------------------------------

def test_a_replica_with_policies_disabled_still_syncs_clusters_and_touches_no_policy_object():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster(settings={"policies": "disabled"})
    result = run_sync(directory, replica)
    assert held(replica, "Cluster") == ["east", "west"]
    assert held(replica, "Namespace") == []
    assert not [r for r in replica.requests if r[1] in ("Namespace", "RoleBinding", "ClusterRoleBinding")]
    status = policy_status(replica)
    assert status["enabled"] is False and status["items"]["aws-admins"]["state"] == "disabled"
    assert result["policies"] == status
    assert "policies disabled on this replica" in replica.stored(
        "ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")["data"]["message"]


@pytest.mark.parametrize("how", ["no ClusterPolicy API", "own Cluster not in the directory", "no tectonic-config",
                                 "no settings ConfigMap", "bad settings"])
def test_when_policies_cannot_be_applied_their_objects_stay_and_clusters_sync(how):
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    run_sync(directory, replica)
    before = dict((k, v) for k, v in replica.objects.items() if sp.is_held(v) and k[0] != "Cluster")
    if how == "no ClusterPolicy API":
        directory.missing_kinds.add("ClusterPolicy")
        expected = "cannot read the directory's ClusterPolicies"
    elif how == "own Cluster not in the directory":
        del directory.objects[("Cluster", "", "east")]
        expected = "the directory has no Cluster east"
    elif how == "no tectonic-config":
        del replica.objects[("ConfigMap", "tectonic-system", "tectonic-config")]
        expected = "has no ConfigMap tectonic-system/tectonic-config"
    elif how == "no settings ConfigMap":
        del replica.objects[("ConfigMap", names.SYSTEM_NAMESPACE, names.SETTINGS_CONFIG_MAP)]
        expected = "has no ConfigMap tectonic-system/directory-sync-config, the replica's policy settings"
    else:
        replica.objects[("ConfigMap", names.SYSTEM_NAMESPACE, names.SETTINGS_CONFIG_MAP)]["data"]["clusterRoles"] = "x"
        expected = "'clusterRoles' is not a JSON list"
    directory.add(cluster("north", cloud="aws"))
    result = run_sync(directory, replica, now=T0 + 1)
    assert "north" in result["created"]
    after = dict((k, v) for k, v in replica.objects.items() if sp.is_held(v) and k[0] != "Cluster")
    assert after == before
    status = policy_status(replica)
    assert status["enabled"] is True and expected in status["error"]
    assert expected in replica.stored("ConfigMap", names.STATUS_CONFIG_MAP, "tectonic-system")["data"]["message"]


def test_check_mode_reports_what_goes_in_a_new_namespace_without_trying_it():
    directory, replica = directory_with(AWS_ADMINS), replica_cluster(check_mode=True)
    result = run_sync(directory, replica)
    assert replica.writes == [] and held(replica, "Namespace") == []
    assert "RoleBinding monitoring/clusterpolicy:aws-admins:edit" in result["created"]
    assert "ResourceQuota monitoring/clusterpolicy.aws-admins" in result["created"]
    assert result["failed"] == []


def test_materialise_names_every_object_after_its_policy():
    asked = []

    def role_exists(role):
        asked.append(role)
        return role in ("view", "edit")
    plan = pol.materialise([AWS_ADMINS], "east", [cluster("east", cloud="aws")],
                           pol.Settings.from_data(REGISTRY_DEFAULTS), role_exists, set())
    held_names = dict((kind, [o["metadata"]["name"] for o in objs]) for kind, objs in plan["desired"].items())
    assert held_names == {"Namespace": ["monitoring"], "ClusterRoleBinding": ["clusterpolicy:aws-admins:view"],
                          "RoleBinding": ["clusterpolicy:aws-admins:edit", names.INSPECT_BINDING],
                          "ResourceQuota": ["clusterpolicy.aws-admins"], "LimitRange": ["clusterpolicy.aws-admins"]}
    assert plan["wanted_by"][("Namespace", "", "monitoring")] == ["aws-admins"]
    assert sorted(asked) == ["edit", "view"]  # each role once
    # only allowlisted roles are looked up on the replica
    asked[:] = []
    pol.materialise([AWS_ADMINS], "east", [cluster("east", cloud="aws")],
                    pol.Settings(namespace_roles=("view", "edit")), role_exists, set())
    assert asked == ["edit"]


def test_align_quantities_keeps_the_servers_spelling_of_the_same_amount_only():
    want = {"kind": "ResourceQuota", "spec": {"hard": {"cpu": "4000m", "memory": "1Gi", "pods": "10"}}}
    live = {"kind": "ResourceQuota", "spec": {"hard": {"cpu": "4", "memory": "1024Mi", "pods": "20"}}}
    assert quantities.align_quantities(want, live)["spec"]["hard"] == {"cpu": "4", "memory": "1024Mi", "pods": "10"}
    assert want["spec"]["hard"]["cpu"] == "4000m"  # a copy


def test_a_cluster_role_the_syncer_may_not_read_is_left_to_the_write_to_refuse():
    directory = directory_with(policy("root", {"authorization": {"clusterBindings": [
        {"clusterRole": "cluster-admin", "groups": ["everyone"]}]}}))
    replica = replica_cluster(settings={"clusterRoles": '["cluster-admin"]'})
    replica.failures[("get", "ClusterRole")] = MulticlusterError(
        "read ClusterRole cluster-admin on cluster 'east': HTTP 403 Forbidden", details={"status": 403})

    def escalation_check(verb, kind, namespace, name):
        if kind == "ClusterRoleBinding" and verb == "create":
            raise MulticlusterError("create ClusterRoleBinding %s on cluster 'east': HTTP 403 Forbidden: "
                                    "attempting to grant RBAC permissions not currently held" % name,
                                    details={"status": 403})
    replica.before_write.append(escalation_check)
    result = run_sync(directory, replica)
    entry = policy_status(replica)["items"]["root"]
    assert entry["state"] == "failed" and "attempting to grant RBAC" in entry["failed"][0]["reason"]
    assert "east" in result["created"]  # the Cluster sync went on
    # any other failure to read a role is the replica failing: the sync stops
    replica.failures[("get", "ClusterRole")] = MulticlusterError("read ClusterRole x: HTTP 500", details={"status": 500})
    with pytest.raises(MulticlusterError, match="HTTP 500"):
        run_sync(directory, replica, now=T0 + 1)


@pytest.mark.parametrize("verb, kind", [("get", "ConfigMap"), ("list", "Namespace"), ("list", "LimitRange")])
def test_an_agent_whose_rbac_predates_policies_still_syncs_clusters(verb, kind):
    directory, replica = directory_with(AWS_ADMINS), replica_cluster()
    forbidden = MulticlusterError("%s %s on cluster 'east': HTTP 403 Forbidden" % (verb, kind),
                                  details={"status": 403})
    if verb == "list":
        replica.failures[(verb, kind)] = forbidden
    else:  # only the settings ConfigMap: the status ConfigMap is still readable
        original = replica.get

        def get(kind_, name, namespace=None):
            if name == names.SETTINGS_CONFIG_MAP:
                raise forbidden
            return original(kind_, name, namespace)
        replica.get = get
    result = run_sync(directory, replica)
    assert held(replica, "Cluster") == ["east", "west"]
    assert "403" in result["policies"]["error"] and held(replica, "Namespace") == []


def test_a_namespace_deleted_while_it_is_being_released_is_not_made_again():
    """The release's patch meets 409 because the namespace changed (its deletion began), and the read after it
    finds it gone: nothing is released, and nothing is created."""
    from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import ConflictError
    from ansible_collections.coreos.multicluster.plugins.module_utils.sync import replica_policies

    class DeletedMeanwhile(FakeCluster):
        def patch(self, kind, name, patch, namespace=None, *, content_type):
            if getattr(kind, "kind", kind) == "Namespace":  # a Kind, or its name
                del self.objects[("Namespace", "", name)]
                raise ConflictError("update Namespace %s: the object has been modified" % name,
                                    details={"status": 409})
            return super().patch(kind, name, patch, namespace, content_type=content_type)

    replica = DeletedMeanwhile(label="east")
    replica.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring", "labels": {
        names.MANAGED_BY_LABEL: names.SYNCED_BY}}})
    replica.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dashboards", "namespace": "monitoring"}})
    have = replica.stored("Namespace", "monitoring")
    replica.writes.clear()
    replica_policies.remove_namespace(replica, have)
    assert replica.stored("Namespace", "monitoring") is None
    assert [w for w in replica.writes if w[0] == "create"] == []

"""policies/plan.py called directly (test_policy_sync.py and test_policy_bounds.py go through the sync engine):
what materialise asks of one replica - selection by its Cluster's labels, protected namespaces, refused subjects,
the scope of each allowlist, quotas and limit ranges only where the policy may write, two policies on one
Namespace - and that the same input always gives the same plan."""

import copy
import itertools
import json

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import is_dns1123_subdomain
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import plan as pol
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import quantities
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as outcomes
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.bounds import PROTECTED_NAMESPACES
from tests.unit.plugins.module_utils.test_policy_sync import REGISTRY_DEFAULTS, cluster, policy

DEFAULTS = pol.Settings.from_data(REGISTRY_DEFAULTS)  # view cluster-wide; view, edit, admin inside namespaces
EAST = cluster("east", cloud="aws", stage="production")
WEST = cluster("west", cloud="gcp", stage="dev")
QUOTA = {"hard": {"pods": "20", "requests.cpu": "4"}}
LIMITS = {"limits": [{"type": "Container", "max": {"cpu": "2"}}]}
PROTECTED = "is a protected namespace: a Cluster Policy writes nothing into it (no quota, limit range, binding or label)"


def team(name, **extra):
    """A namespace entry with a binding, a quota and a limit range."""
    entry = {"name": name, "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]},
             "resourceQuota": QUOTA, "limitRange": LIMITS}
    entry.update(extra)
    return entry


def plan(policies, settings=DEFAULTS, clusters=(EAST, WEST), roles=("view", "edit", "admin"), held=(), name="east"):
    return pol.materialise(policies, name, list(clusters), settings, lambda role: role in roles, set(held))


def desired(result):
    """{Kind: ["namespace/name" or "name"]} of the plan, kinds with nothing left out."""
    return dict((kind, ["/".join(filter(None, (o["metadata"].get("namespace"), o["metadata"]["name"]))) for o in objs])
                for kind, objs in result["desired"].items() if objs)


def report(result, policy_name):
    return result["report"].items()[policy_name]


def reasons(result, policy_name, what="refused"):
    return [(item["object"], item["reason"]) for item in report(result, policy_name)[what]]


def obj(result, kind, name, namespace=None):
    found = [o for o in result["desired"][kind]
             if o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace]
    assert len(found) == 1, (kind, namespace, name)
    return found[0]


# --- selection: the labels of this replica's Cluster in the directory ---------------------------------------------

@pytest.mark.parametrize("spec, selected", [
    ({"selector": {"cloud": "aws"}}, True),
    ({"selector": {"cloud": "aws", "stage": "production"}}, True),
    ({"selector": {"cloud": "gcp"}}, False),  # west's labels, not this replica's
    ({"selector": {"cloud": "aws", "stage": "dev"}}, False),
    ({"matchExpressions": [{"key": "stage", "operator": "NotIn", "values": ["dev"]}]}, True),
    ({"selector": {"cloud": "aws"}, "matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, False),
    ({}, True),
])
def test_a_policy_plans_objects_only_for_the_replica_its_labels_select(spec, selected):
    result = plan([policy("p", dict(spec, namespaces=[team("team-a")]))])
    if selected:
        assert report(result, "p")["state"] == "applied"
        assert desired(result)["Namespace"] == ["team-a"]
    else:
        assert report(result, "p") == {"state": "not selected"}
        assert desired(result) == {}


def test_a_replica_missing_from_the_directory_has_no_labels_and_only_unselective_policies_apply():
    result = plan([policy("everyone", {"namespaces": [{"name": "shared"}]}),
                   policy("aws", {"selector": {"cloud": "aws"}, "namespaces": [{"name": "aws"}]})], clusters=[WEST])
    assert desired(result)["Namespace"] == ["shared"]
    assert report(result, "aws") == {"state": "not selected"}


def test_an_invalid_policy_plans_nothing_and_says_why_and_the_others_still_apply():
    broken = policy("broken", {"namespaces": [{"name": "Team_A"}], "surprise": True})
    result = plan([broken, policy("fine", {"namespaces": [{"name": "team-b"}]})])
    entry = report(result, "broken")
    assert entry["state"] == "invalid"
    assert any(p.startswith("spec.surprise: unknown key 'surprise'") for p in entry["problems"])
    assert any(p.startswith("spec.namespaces[0].name: Namespace name 'Team_A' is not") for p in entry["problems"])
    assert desired(result)["Namespace"] == ["team-b"]


# --- what one policy asks: names, marks and the inspect binding ------------------------------------------------

def test_every_object_is_named_after_its_policy_and_marked_with_it():
    result = plan([policy("aws-admins", {"authorization": {"clusterBindings": [{"clusterRole": "view",
                                                                                "users": ["alice@example.com"]}]},
                                         "namespaces": [team("monitoring", labels={"team": "sre"})]})])
    assert desired(result) == {
        "Namespace": ["monitoring"], "ClusterRoleBinding": ["clusterpolicy:aws-admins:view"],
        "RoleBinding": ["monitoring/clusterpolicy:aws-admins:edit", "monitoring/" + names.INSPECT_BINDING],
        "ResourceQuota": ["monitoring/clusterpolicy.aws-admins"], "LimitRange": ["monitoring/clusterpolicy.aws-admins"]}
    assert obj(result, "Namespace", "monitoring")["metadata"] == {
        "name": "monitoring", "annotations": {pol.POLICIES_ANNOTATION: "aws-admins"}, "labels": {"team": "sre"}}
    crb = obj(result, "ClusterRoleBinding", "clusterpolicy:aws-admins:view")
    assert crb == {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "clusterpolicy:aws-admins:view",
                                "annotations": {pol.POLICIES_ANNOTATION: "aws-admins"}},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                   "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice@example.com"}]}
    quota = obj(result, "ResourceQuota", "clusterpolicy.aws-admins", "monitoring")
    assert quota["spec"] == QUOTA and quota["metadata"]["annotations"] == {pol.POLICIES_ANNOTATION: "aws-admins"}
    assert obj(result, "LimitRange", "clusterpolicy.aws-admins", "monitoring")["spec"] == LIMITS
    assert obj(result, "RoleBinding", names.INSPECT_BINDING, "monitoring") == pol.inspect_binding("monitoring")
    assert result["wanted_by"][("ResourceQuota", "monitoring", "clusterpolicy.aws-admins")] == ["aws-admins"]
    assert result["wanted_by"][("RoleBinding", "monitoring", names.INSPECT_BINDING)] == []  # the syncer's own
    assert report(result, "aws-admins")["state"] == "applied"


def test_the_plan_holds_copies_not_the_policys_own_dicts():
    source = policy("p", {"namespaces": [team("team-a")]})
    before = copy.deepcopy(source)
    result = plan([source])
    obj(result, "ResourceQuota", "clusterpolicy.p", "team-a")["spec"]["hard"]["pods"] = "0"
    obj(result, "LimitRange", "clusterpolicy.p", "team-a")["spec"]["limits"].append({})
    assert source == before


def test_the_inspect_binding_grants_the_agent_in_that_namespace_only():
    binding = pol.inspect_binding("team-a")
    assert binding["metadata"] == {"name": names.INSPECT_BINDING, "namespace": "team-a"}
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": names.INSPECT_ROLE}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": names.AGENT_ACCOUNT,
                                    "namespace": names.SYSTEM_NAMESPACE}]


def test_a_namespace_the_syncer_holds_keeps_its_inspect_binding_but_a_protected_one_never_gets_one():
    result = plan([], held=["left-over", "kube-system", "tectonic-system"])
    assert desired(result) == {"RoleBinding": ["left-over/" + names.INSPECT_BINDING]}
    assert result["wanted_by"] == {("RoleBinding", "left-over", names.INSPECT_BINDING): []}


@pytest.mark.parametrize("keys, expected", [
    ([("team-a", "zeta"), ("team-a", names.INSPECT_BINDING), ("team-a", "alpha")],
     [("team-a", names.INSPECT_BINDING), ("team-a", "alpha"), ("team-a", "zeta")]),
    ([("b", names.INSPECT_BINDING), ("a", "z"), ("a", names.INSPECT_BINDING)],
     [("a", names.INSPECT_BINDING), ("a", "z"), ("b", names.INSPECT_BINDING)]),
])
def test_the_inspect_binding_is_created_first_in_each_namespace(keys, expected):
    assert sorted(keys, key=pol.create_order) == expected


# --- protected namespaces ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace", PROTECTED_NAMESPACES)
def test_nothing_is_planned_in_a_protected_namespace_and_the_reason_names_it(namespace):
    entry = team(namespace, labels={"team": "x"})
    entry["authorization"]["bindings"][0]["serviceAccounts"] = [{"namespace": namespace, "name": "builder"}]
    result = plan([policy("p", {"namespaces": [entry, team("team-a")]})])
    everything = [o for objs in result["desired"].values() for o in objs]
    assert [o for o in everything if namespace in (o["metadata"]["name"], o["metadata"].get("namespace"))] == []
    assert reasons(result, "p") == [("Namespace %s" % namespace, "%s %s" % (namespace, PROTECTED))]
    assert report(result, "p")["state"] == "refused"
    assert desired(result)["ResourceQuota"] == desired(result)["LimitRange"] == ["team-a/clusterpolicy.p"]


def test_a_namespace_protected_by_the_replica_is_refused_saying_so():
    settings = pol.Settings(namespace_roles=("edit",), protected_namespaces=("payments",))
    result = plan([policy("p", {"namespaces": [team("payments"), team("team-a")]})], settings=settings)
    assert reasons(result, "p") == [("Namespace payments", "payments %s (protected by this replica)" % PROTECTED)]
    assert desired(result)["Namespace"] == ["team-a"]
    # on another replica that does not protect it, it is planned
    assert "payments" in desired(plan([policy("p", {"namespaces": [team("payments")]})]))["Namespace"]


def test_a_service_account_of_a_protected_namespace_the_policy_lists_is_not_one_of_its_own():
    accounts = [{"namespace": "kube-system", "name": "deployer"}, {"namespace": "ci", "name": "deployer"}]
    spec = {"authorization": {"clusterBindings": [{"clusterRole": "view", "serviceAccounts": accounts}]},
            "namespaces": [{"name": "kube-system"}, {"name": "ci"}]}
    result = plan([policy("p", spec)])
    assert obj(result, "ClusterRoleBinding", "clusterpolicy:p:view")["subjects"] == [
        {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"}]
    assert ("ClusterRoleBinding clusterpolicy:p:view", "subject ServiceAccount kube-system/deployer: a policy binds "
            "only service accounts of the namespaces it creates (kube-system is not one of them)") in reasons(result, "p")


# --- subjects -------------------------------------------------------------------------------------------------------

def test_system_subjects_are_refused_one_by_one_and_the_binding_keeps_the_others():
    binding = {"clusterRole": "view", "users": ["system:anonymous", "alice"], "groups": ["system:masters", "sre"],
               "serviceAccounts": [{"namespace": "elsewhere", "name": "bot"}]}
    result = plan([policy("p", {"authorization": {"clusterBindings": [binding]}})])
    assert [(s["kind"], s["name"]) for s in obj(result, "ClusterRoleBinding", "clusterpolicy:p:view")["subjects"]] == [
        ("User", "alice"), ("Group", "sre")]
    ref = "ClusterRoleBinding clusterpolicy:p:view"
    assert reasons(result, "p") == [
        (ref, "subject Group system:masters: is a system: group: policies never bind those unless a replica allows "
              "one by name"),
        (ref, "subject ServiceAccount elsewhere/bot: a policy binds only service accounts of the namespaces it "
              "creates (elsewhere is not one of them)"),
        (ref, "subject User system:anonymous: is a system: user: policies never bind those unless a replica allows "
              "one by name")]


def test_a_binding_whose_every_subject_is_refused_is_not_planned():
    result = plan([policy("p", {"namespaces": [{"name": "team-a", "authorization": {"bindings": [
        {"clusterRole": "edit", "groups": ["system:authenticated"]}]}}]})])
    assert desired(result)["RoleBinding"] == ["team-a/" + names.INSPECT_BINDING]
    assert [r[0] for r in reasons(result, "p")] == ["RoleBinding team-a/clusterpolicy:p:edit"]


def test_a_system_subject_the_replica_allows_by_name_is_bound_and_no_other():
    settings = pol.Settings(cluster_roles=("view",), allowed_subjects=("system:serviceaccounts:ci",))
    result = plan([policy("p", {"authorization": {"clusterBindings": [
        {"clusterRole": "view", "groups": ["system:serviceaccounts:ci", "system:serviceaccounts"]}]}})],
        settings=settings)
    assert [s["name"] for s in obj(result, "ClusterRoleBinding", "clusterpolicy:p:view")["subjects"]] == [
        "system:serviceaccounts:ci"]
    assert [r[1].split(":")[0] for r in reasons(result, "p")] == ["subject Group system"]


# --- scope: the cluster-wide allowlist and the in-namespace one ----------------------------------------------------

@pytest.mark.parametrize("where, role, planned, reason", [
    ("cluster", "view", True, None),
    ("cluster", "admin", False, "ClusterRole admin is not in this replica's allowlist of roles policies may bind "
                                "cluster-wide (view)"),
    ("namespace", "admin", True, None),
    ("namespace", "cluster-admin", False, "ClusterRole cluster-admin is not in this replica's allowlist of roles "
                                          "policies may bind inside namespaces (view, edit, admin)"),
])
def test_each_scope_has_its_own_allowlist(where, role, planned, reason):
    binding = {"clusterRole": role, "users": ["alice"]}
    if where == "cluster":
        spec, kind, ref = {"authorization": {"clusterBindings": [binding]}}, "ClusterRoleBinding", ""
    else:
        spec = {"namespaces": [{"name": "team-a", "authorization": {"bindings": [binding]}}]}
        kind, ref = "RoleBinding", "team-a/"
    result = plan([policy("p", spec)], roles=("view", "edit", "admin", "cluster-admin"))
    name = "clusterpolicy:p:" + role
    assert ((ref + name) in desired(result).get(kind, [])) is planned
    assert reasons(result, "p") == ([] if planned else [("%s %s%s" % (kind, ref, name), reason)])


def test_a_role_only_the_cluster_wide_list_holds_is_refused_inside_namespaces_and_an_empty_list_says_so():
    settings = pol.Settings(cluster_roles=("view",))
    result = plan([policy("p", {"namespaces": [{"name": "team-a", "authorization": {"bindings": [
        {"clusterRole": "view", "users": ["alice"]}]}}]})], settings=settings)
    assert reasons(result, "p") == [("RoleBinding team-a/clusterpolicy:p:view", "ClusterRole view is not in this "
                                     "replica's allowlist of roles policies may bind inside namespaces (empty)")]


def test_a_role_missing_on_the_replica_fails_that_binding_alone_and_each_role_is_asked_once():
    asked = []

    def role_exists(role):
        asked.append(role)
        return role != "edit"
    spec = {"authorization": {"clusterBindings": [{"clusterRole": "view", "users": ["a"]}]},
            "namespaces": [team("team-a"), team("team-b", authorization={"bindings": [
                {"clusterRole": "edit", "users": ["b"]}, {"clusterRole": "view", "users": ["b"]},
                {"clusterRole": "cluster-admin", "users": ["b"]}]})]}
    result = pol.materialise([policy("p", spec)], "east", [EAST], DEFAULTS, role_exists, set())
    assert sorted(asked) == ["edit", "view"]  # each once; never a role outside the allowlists
    assert reasons(result, "p", "failed") == [
        ("RoleBinding team-a/clusterpolicy:p:edit", "ClusterRole edit does not exist on this cluster"),
        ("RoleBinding team-b/clusterpolicy:p:edit", "ClusterRole edit does not exist on this cluster")]
    assert report(result, "p")["state"] == "failed"  # failed outranks refused (cluster-admin)
    assert desired(result)["ClusterRoleBinding"] == ["clusterpolicy:p:view"]
    assert "team-b/clusterpolicy:p:view" in desired(result)["RoleBinding"]
    assert desired(result)["ResourceQuota"] == ["team-a/clusterpolicy.p", "team-b/clusterpolicy.p"]


# --- quotas and limit ranges --------------------------------------------------------------------------------------

def test_quotas_and_limit_ranges_only_where_asked_and_allowed():
    spec = {"namespaces": [team("team-a"), {"name": "quota-only", "resourceQuota": QUOTA},
                           {"name": "limits-only", "limitRange": LIMITS}, {"name": "bare"},
                           team("default"), team("kube-public")]}
    result = plan([policy("p", spec)])
    assert desired(result)["ResourceQuota"] == ["quota-only/clusterpolicy.p", "team-a/clusterpolicy.p"]
    assert desired(result)["LimitRange"] == ["limits-only/clusterpolicy.p", "team-a/clusterpolicy.p"]
    assert desired(result)["Namespace"] == ["bare", "limits-only", "quota-only", "team-a"]


def test_an_empty_quota_is_still_a_quota_and_null_is_none():
    result = plan([policy("p", {"namespaces": [{"name": "team-a", "resourceQuota": {}},
                                               {"name": "team-b", "resourceQuota": None, "limitRange": None}]})])
    assert obj(result, "ResourceQuota", "clusterpolicy.p", "team-a")["spec"] == {}
    assert desired(result)["ResourceQuota"] == ["team-a/clusterpolicy.p"] and "LimitRange" not in desired(result)


# --- labels --------------------------------------------------------------------------------------------------------

def test_reserved_label_keys_are_refused_unless_allowed_by_name_and_the_others_set():
    labels = {"team": "a", "pod-security.kubernetes.io/enforce": "restricted", "k8s.io/x": "y",
              "multicluster.coreos.com/replica": "east", "example.com/tier": "gold"}
    spec = {"namespaces": [{"name": "team-a", "labels": labels}]}
    result = plan([policy("p", spec)])
    assert obj(result, "Namespace", "team-a")["metadata"]["labels"] == {"team": "a", "example.com/tier": "gold"}
    assert sorted(r[1].split(":")[0] for r in reasons(result, "p")) == [
        "label k8s.io/x", "label multicluster.coreos.com/replica", "label pod-security.kubernetes.io/enforce"]
    allowed = pol.Settings(allowed_label_keys=("pod-security.kubernetes.io/enforce",))
    result = plan([policy("p", spec)], settings=allowed)
    assert obj(result, "Namespace", "team-a")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == \
        "restricted"


# --- two policies ----------------------------------------------------------------------------------------------------

def test_two_policies_share_a_namespace_and_each_keeps_its_own_objects_in_it():
    result = plan([policy("b-team", {"namespaces": [team("shared", labels={"team": "x"})]}),
                   policy("a-team", {"namespaces": [team("shared", labels={"team": "x", "cost": "1"})]})])
    namespace = obj(result, "Namespace", "shared")
    assert namespace["metadata"]["annotations"] == {pol.POLICIES_ANNOTATION: "a-team,b-team"}
    assert namespace["metadata"]["labels"] == {"team": "x", "cost": "1"}  # the same value is no conflict
    assert result["wanted_by"][("Namespace", "", "shared")] == ["a-team", "b-team"]
    assert desired(result)["ResourceQuota"] == ["shared/clusterpolicy.a-team", "shared/clusterpolicy.b-team"]
    assert desired(result)["RoleBinding"] == ["shared/clusterpolicy:a-team:edit", "shared/clusterpolicy:b-team:edit",
                                              "shared/" + names.INSPECT_BINDING]
    assert report(result, "a-team")["state"] == report(result, "b-team")["state"] == "applied"


def test_a_label_two_policies_set_differently_is_set_by_neither_and_both_report_it():
    result = plan([policy("p1", {"namespaces": [{"name": "shared", "labels": {"team": "red", "tier": "gold"}}]}),
                   policy("p2", {"namespaces": [{"name": "shared", "labels": {"team": "blue"}}]}),
                   policy("p3", {"namespaces": [{"name": "shared", "labels": {"team": "red"}}]})])
    assert obj(result, "Namespace", "shared")["metadata"]["labels"] == {"tier": "gold"}
    conflict = ("Namespace shared", "label team: 'blue' by p2; 'red' by p1, p3 (set by neither)")
    for name in ("p1", "p2", "p3"):
        assert reasons(result, name, "conflicts") == [conflict]
        assert report(result, name)["state"] == "conflict"


def test_a_conflict_on_a_label_leaves_no_labels_key_when_nothing_else_is_set():
    result = plan([policy("p1", {"namespaces": [{"name": "shared", "labels": {"team": "red"}}]}),
                   policy("p2", {"namespaces": [{"name": "shared", "labels": {"team": "blue"}}]})])
    assert "labels" not in obj(result, "Namespace", "shared")["metadata"]


# --- the same input, the same plan -----------------------------------------------------------------------------------

POLICIES = [policy("zeta", {"authorization": {"clusterBindings": [{"clusterRole": "view", "users": ["z", "a"]}]},
                            "namespaces": [team("shared", labels={"team": "z"}), team("zeta-only")]}),
            policy("alpha", {"namespaces": [team("shared", labels={"team": "a"}), team("kube-system")]}),
            policy("mid", {"selector": {"cloud": "gcp"}, "namespaces": [team("mid")]}),
            policy("beta", {"authorization": {"clusterBindings": [{"clusterRole": "admin", "users": ["b"]}]},
                            "namespaces": [{"name": "beta", "labels": {"b": "1", "a": "2"}}]})]


def _as_text(result):
    return json.dumps({"desired": result["desired"], "report": result["report"].items(),
                       "wanted_by": sorted((list(k), v) for k, v in result["wanted_by"].items())}, sort_keys=True)


def test_the_plan_does_not_depend_on_the_order_policies_clusters_or_held_namespaces_come_in():
    first = _as_text(plan(POLICIES, held=["old-b", "old-a"]))
    for order in itertools.permutations(range(len(POLICIES))):
        policies = [POLICIES[i] for i in order]
        assert _as_text(plan(policies, clusters=(WEST, EAST), held=["old-a", "old-b"])) == first


def test_objects_come_sorted_by_namespace_and_name_and_report_lists_are_sorted():
    result = plan(POLICIES, held=["old"])
    for objs in result["desired"].values():
        keys = [(o["metadata"].get("namespace") or "", o["metadata"]["name"]) for o in objs]
        assert keys == sorted(keys)
    assert list(result["desired"]) == ["Namespace", "ClusterRoleBinding", "RoleBinding", "ResourceQuota", "LimitRange"]
    for entry in result["report"].items().values():
        for what in ("refused", "conflicts", "failed"):
            items = entry.get(what, [])
            assert items == sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    assert obj(result, "Namespace", "shared")["metadata"]["annotations"][pol.POLICIES_ANNOTATION] == "alpha,zeta"


# --- the report ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("added, state", [
    ((), "applied"), (("conflicts",), "conflict"), (("refused", "conflicts"), "refused"),
    (("conflicts", "failed", "refused"), "failed")])
def test_a_policys_state_is_the_worst_of_what_happened(added, state):
    report_ = outcomes.Report()
    report_.policy("p")
    for what in added:
        report_.add(["p"], what, "Namespace x", "why")
    assert report_.items()["p"]["state"] == state


def test_a_state_set_outright_is_kept():
    report_ = outcomes.Report()
    report_.policy("p", outcomes.INVALID)
    report_.add(["p"], "refused", "Namespace x", "why")
    assert report_.items()["p"]["state"] == "invalid"


def test_not_applied_gives_every_policy_the_state_and_the_reason():
    why = "policies are disabled on this replica"
    report_ = outcomes.not_applied([policy("a", {}), policy("b", {})], outcomes.DISABLED, why)
    assert report_.items() == {"a": {"state": "disabled", "reason": why}, "b": {"state": "disabled", "reason": why}}
    assert outcomes.not_applied(None, outcomes.FAILED, "x").items() == {}


# --- quantities as the server spells them ------------------------------------------------------------------------

def test_a_limit_range_takes_the_servers_spelling_of_the_same_amounts_in_every_limit():
    want = {"kind": "LimitRange", "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2000m", "memory": "1Gi"}, "min": {"cpu": "0.1"},
         "default": {"cpu": "500m"}, "defaultRequest": {"memory": "128Mi"}, "maxLimitRequestRatio": {"cpu": "4"}},
        {"type": "Pod", "max": {"cpu": "4"}}]}}
    live = {"kind": "LimitRange", "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2", "memory": "1024Mi"}, "min": {"cpu": "100m"},
         "default": {"cpu": "500m"}, "defaultRequest": {"memory": "0.125Gi"}, "maxLimitRequestRatio": {"cpu": "5"}},
        {"type": "Pod", "max": {"cpu": "3"}}]}}
    aligned = quantities.align_quantities(want, live)
    assert aligned["spec"]["limits"] == [
        {"type": "Container", "max": {"cpu": "2", "memory": "1024Mi"}, "min": {"cpu": "100m"},
         "default": {"cpu": "500m"}, "defaultRequest": {"memory": "0.125Gi"}, "maxLimitRequestRatio": {"cpu": "4"}},
        {"type": "Pod", "max": {"cpu": "4"}}]
    assert want["spec"]["limits"][0]["max"]["cpu"] == "2000m"  # a copy


@pytest.mark.parametrize("want, live", [
    ({"kind": "Namespace", "metadata": {"name": "x"}}, {"kind": "Namespace"}),
    ({"kind": "ResourceQuota", "spec": {"hard": {"cpu": "1000m"}}}, None),
    ({"kind": "ResourceQuota", "spec": {"hard": {"cpu": "1000m"}}}, {"kind": "ResourceQuota", "spec": {"hard": "?"}}),
    ({"kind": "ResourceQuota", "spec": {"hard": {"cpu": "1000m"}}}, {"spec": {"hard": {"cpu": "not a quantity"}}}),
])
def test_nothing_to_align_leaves_the_wanted_object_as_it_is(want, live):
    assert quantities.align_quantities(want, live) == want


# --- names the API server accepts ------------------------------------------------------------------------------------

def test_a_valid_policy_name_gives_valid_object_names():
    long_name = "p" * 240
    result = plan([policy(long_name, {"namespaces": [team("team-a")]})])
    assert report(result, long_name)["state"] == "invalid" or \
        all(is_dns1123_subdomain(o["metadata"]["name"]) for kind in ("ResourceQuota", "LimitRange")
            for o in result["desired"][kind])

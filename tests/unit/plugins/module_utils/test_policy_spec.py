"""The ClusterPolicy format: every rule of policy_spec with a passing and a
failing case, each problem naming its path; the quantity grammar."""

import copy
from fractions import Fraction

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.policies import spec as ps
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import quantities


def policy():
    """The format of the contract, every field given once."""
    return {
        "apiVersion": "multicluster.coreos.com/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "aws-admins"},
        "spec": {
            "selector": {"cloud": "aws"},
            "matchExpressions": [{"key": "stage", "operator": "In", "values": ["production"]}],
            "authorization": {"clusterBindings": [{
                "clusterRole": "admin", "users": ["alice@example.com"], "groups": ["aws-admins"],
                "serviceAccounts": [{"namespace": "ci", "name": "deployer"}]}]},
            "namespaces": [{
                "name": "monitoring",
                "labels": {"pod-security.kubernetes.io/enforce": "baseline"},
                "authorization": {"bindings": [{"clusterRole": "edit", "groups": ["sre"]}]},
                "resourceQuota": {"hard": {"pods": "20", "requests.cpu": "4"}, "scopes": ["NotTerminating"],
                                  "scopeSelector": {"matchExpressions": [
                                      {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}},
                "limitRange": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                                           "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "2"},
                                           "min": {"cpu": "10m"}, "maxLimitRequestRatio": {"cpu": "10"}}]},
            }],
        },
    }


def changed(path, value):
    """policy() with the value at *path* (keys and list indexes) set, or removed when value is DELETE."""
    obj = policy()
    target = obj
    for step in path[:-1]:
        target = target[step]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


DELETE = object()
NS = ("spec", "namespaces", 0)
CB = ("spec", "authorization", "clusterBindings", 0)
QUOTA = NS + ("resourceQuota",)
LIMIT = NS + ("limitRange", "limits", 0)


def test_the_contract_example_is_valid():
    assert ps.validate(policy()) == []


def test_validate_spec_alone_and_its_path():
    assert ps.validate_spec(policy()["spec"]) == []
    assert ps.validate_spec({"selectr": {}}) == ["spec.selectr: unknown key 'selectr' (known keys: selector, "
                                                 "matchExpressions, authorization, namespaces)"]
    assert ps.validate_spec({"selectr": {}}, path="x")[0].startswith("x.selectr: ")


@pytest.mark.parametrize("spec", [None, {}, {"selector": {}}, {"selector": None, "namespaces": []},
                                  {"authorization": {}}, {"authorization": {"clusterBindings": []}}])
def test_an_empty_spec_is_valid(spec):
    assert ps.validate_spec(spec) == []
    assert ps.validate({"metadata": {"name": "p"}, "spec": spec}) == []


def test_server_metadata_and_status_are_not_checked():
    obj = policy()
    obj["metadata"].update({"uid": "u-1", "resourceVersion": "7", "managedFields": [{}], "annotations": {"a": "b"}})
    obj["status"] = {"anything": True}
    assert ps.validate(obj) == []


# --- one failing case per rule: (where, what) -> the problem, which names the path --------------

FAILING = [
    # the object
    ((), "not a dict", "(policy): must be a mapping, not a string"),
    (("extra",), 1, "extra: unknown key 'extra' (known keys: apiVersion, kind, metadata, spec, status)"),
    (("apiVersion",), "multicluster.coreos.com/v2", "apiVersion: 'multicluster.coreos.com/v2' is not "
                                                    "multicluster.coreos.com/v1"),
    (("kind",), "Cluster", "kind: 'Cluster' is not ClusterPolicy"),
    (("metadata",), DELETE, "metadata.name: is required"),
    (("metadata",), ["x"], "metadata: must be a mapping, not a list"),
    (("metadata", "name"), DELETE, "metadata.name: is required"),
    (("metadata", "name"), "AWS_admins", "metadata.name: ClusterPolicy name 'AWS_admins' is not a valid Kubernetes name"),
    (("metadata", "name"), "-aws", "metadata.name: ClusterPolicy name '-aws' is not a valid Kubernetes name"),
    (("metadata", "name"), "a" * 254, "metadata.name: ClusterPolicy name"),
    (("metadata", "name"), "a" * 240, r"metadata.name: is 240 characters: at most 239, so that the quota"),
    (("metadata", "labels"), {"team": "a b"}, "metadata.labels.team: label value 'a b' is not valid"),
    (("spec",), [], "spec: must be a mapping, not a list"),
    (("spec", "namespace"), [], "spec.namespace: unknown key 'namespace' (known keys: selector, matchExpressions, "
                                "authorization, namespaces)"),
    # selector
    (("spec", "selector"), ["cloud=aws"], "spec.selector: must be a mapping, not a list"),
    (("spec", "selector"), {"cloud": True}, "spec.selector.cloud: label value True is a bool, not a string"),
    (("spec", "selector"), {"cloud": "a" * 64}, "spec.selector.cloud: label value"),
    (("spec", "selector"), {"cloud": "-aws"}, "spec.selector.cloud: label value '-aws' is not valid"),
    (("spec", "selector"), {"bad key": "x"}, "spec.selector[bad key]: 'bad key' is not a valid Kubernetes label name"),
    (("spec", "selector"), {"Bad_Prefix/cloud": "x"}, "spec.selector[Bad_Prefix/cloud]: 'Bad_Prefix/cloud' is not a "
                                                      "valid Kubernetes label name"),
    (("spec", "selector"), {"example.com/" + "n" * 64: "x"}, "is not a valid Kubernetes label name"),
    (("spec", "selector"), {"/cloud": "x"}, "spec.selector[/cloud]: '/cloud' is not a valid Kubernetes label name"),
    # matchExpressions
    (("spec", "matchExpressions"), {"key": "stage"}, "spec.matchExpressions: must be a list, not a mapping"),
    (("spec", "matchExpressions", 0), None, "spec.matchExpressions[0]: must be a mapping, not null"),
    (("spec", "matchExpressions", 0, "value"), ["x"], "spec.matchExpressions[0].value: unknown key 'value' "
                                                      "(known keys: key, operator, values)"),
    (("spec", "matchExpressions", 0, "key"), DELETE, "spec.matchExpressions[0].key: is required"),
    (("spec", "matchExpressions", 0, "key"), "st age", "spec.matchExpressions[0].key: 'st age' is not a valid "
                                                       "Kubernetes label name"),
    (("spec", "matchExpressions", 0, "operator"), DELETE, "spec.matchExpressions[0].operator: is required "
                                                          "(one of In, NotIn, Exists, DoesNotExist)"),
    (("spec", "matchExpressions", 0, "operator"), "in", "spec.matchExpressions[0].operator: 'in' is not one of "
                                                        "In, NotIn, Exists, DoesNotExist"),
    (("spec", "matchExpressions", 0, "values"), [], "spec.matchExpressions[0].values: operator In needs at least "
                                                    "one value"),
    (("spec", "matchExpressions", 0, "values"), DELETE, "spec.matchExpressions[0].values: operator In needs"),
    (("spec", "matchExpressions", 0, "values"), "production", "spec.matchExpressions[0].values: must be a list, "
                                                              "not a string"),
    (("spec", "matchExpressions", 0, "values"), ["ok", "not ok"], "spec.matchExpressions[0].values[1]: label value "
                                                                  "'not ok' is not valid"),
    (("spec", "matchExpressions", 0), {"key": "stage", "operator": "Exists", "values": ["x"]},
     "spec.matchExpressions[0].values: must be empty with operator Exists"),
    (("spec", "matchExpressions", 0), {"key": "stage", "operator": "DoesNotExist", "values": ["x"]},
     "spec.matchExpressions[0].values: must be empty with operator DoesNotExist"),
    (("spec", "matchExpressions", 0), {"key": "stage", "operator": "NotIn"},
     "spec.matchExpressions[0].values: operator NotIn needs at least one value"),
    # authorization and bindings
    (("spec", "authorization"), [], "spec.authorization: must be a mapping, not a list"),
    (("spec", "authorization", "bindings"), [], "spec.authorization.bindings: unknown key 'bindings' (known keys: "
                                                "clusterBindings)"),
    (("spec", "authorization", "clusterBindings"), {}, "spec.authorization.clusterBindings: must be a list, "
                                                       "not a mapping"),
    (CB, "admin", "spec.authorization.clusterBindings[0]: must be a mapping, not a string"),
    (CB + ("user",), ["bob"], "spec.authorization.clusterBindings[0].user: unknown key 'user' (known keys: "
                              "clusterRole, users, groups, serviceAccounts)"),
    (CB + ("clusterRole",), DELETE, "spec.authorization.clusterBindings[0].clusterRole: is required"),
    (CB + ("clusterRole",), "", "spec.authorization.clusterBindings[0].clusterRole: must be a non-empty string, not ''"),
    (CB + ("clusterRole",), 7, "spec.authorization.clusterBindings[0].clusterRole: must be a non-empty string, "
                               "not an integer"),
    (CB + ("clusterRole",), "..", "spec.authorization.clusterBindings[0].clusterRole: '..' is not a valid role name"),
    (CB + ("clusterRole",), ".", "spec.authorization.clusterBindings[0].clusterRole: '.' is not a valid role name"),
    (CB + ("clusterRole",), "a/b", "clusterBindings[0].clusterRole: 'a/b' is not a valid role name (it may not "
                                   "contain '/')"),
    (CB + ("clusterRole",), "a%b", "clusterBindings[0].clusterRole: 'a%b' is not a valid role name (it may not "
                                   "contain '%')"),
    (CB + ("users",), "alice", "spec.authorization.clusterBindings[0].users: must be a list, not a string"),
    (CB + ("users",), ["alice", ""], "spec.authorization.clusterBindings[0].users[1]: must be a non-empty string, "
                                     "not ''"),
    (CB + ("users",), ["alice", "alice"], "spec.authorization.clusterBindings[0].users[1]: user 'alice' is listed twice"),
    (CB + ("groups",), [None], "spec.authorization.clusterBindings[0].groups[0]: must be a non-empty string, not null"),
    (CB + ("groups",), ["sre", "sre"], "spec.authorization.clusterBindings[0].groups[1]: group 'sre' is listed twice"),
    (CB + ("serviceAccounts",), {"namespace": "ci"}, "clusterBindings[0].serviceAccounts: must be a list, "
                                                     "not a mapping"),
    (CB + ("serviceAccounts",), ["ci:deployer"], "clusterBindings[0].serviceAccounts[0]: must be a mapping, "
                                                 "not a string"),
    (CB + ("serviceAccounts", 0, "namespace"), DELETE, "clusterBindings[0].serviceAccounts[0].namespace: is required"),
    (CB + ("serviceAccounts", 0, "namespace"), "CI", "clusterBindings[0].serviceAccounts[0].namespace: 'CI' is not "
                                                     "a DNS-1123 label"),
    (CB + ("serviceAccounts", 0, "namespace"), "ci.x", "serviceAccounts[0].namespace: 'ci.x' is not a DNS-1123 label"),
    (CB + ("serviceAccounts", 0, "name"), DELETE, "clusterBindings[0].serviceAccounts[0].name: is required"),
    (CB + ("serviceAccounts", 0, "name"), "De_ployer", "clusterBindings[0].serviceAccounts[0].name: 'De_ployer' is "
                                                       "not a valid Kubernetes name"),
    (CB + ("serviceAccounts", 0, "kind"), "User", "clusterBindings[0].serviceAccounts[0].kind: unknown key 'kind' "
                                                  "(known keys: namespace, name)"),
    (CB + ("serviceAccounts",), [{"namespace": "ci", "name": "d"}, {"namespace": "ci", "name": "d"}],
     "clusterBindings[0].serviceAccounts[1]: service account ci/d is listed twice"),
    (CB, {"clusterRole": "admin"}, "spec.authorization.clusterBindings[0]: binds clusterRole admin to nobody: give at "
                                   "least one of users, groups, serviceAccounts"),
    (CB, {"clusterRole": "admin", "users": [], "groups": [], "serviceAccounts": []},
     "spec.authorization.clusterBindings[0]: binds clusterRole admin to nobody"),
    (("spec", "authorization", "clusterBindings"), [{"clusterRole": "admin", "users": ["a"]},
                                                    {"clusterRole": "view", "users": ["b"]},
                                                    {"clusterRole": "admin", "groups": ["c"]}],
     "spec.authorization.clusterBindings[2].clusterRole: 'admin' is already bound by "
     "spec.authorization.clusterBindings[0]: merge the subjects of both entries into one"),
    # namespaces
    (("spec", "namespaces"), {"name": "monitoring"}, "spec.namespaces: must be a list, not a mapping"),
    (NS, "monitoring", "spec.namespaces[0]: must be a mapping, not a string"),
    (NS, None, "spec.namespaces[0]: must be a mapping, not null"),
    (NS + ("annotations",), {}, "spec.namespaces[0].annotations: unknown key 'annotations' (known keys: name, labels, "
                                "authorization, resourceQuota, limitRange)"),
    (NS + ("name",), DELETE, "spec.namespaces[0].name: is required"),
    (NS + ("name",), "Monitoring", "spec.namespaces[0].name: Namespace name 'Monitoring' is not a DNS-1123 label"),
    (NS + ("name",), "mon.itoring", "spec.namespaces[0].name: Namespace name 'mon.itoring' is not a DNS-1123 label"),
    (NS + ("name",), "m" * 64, "spec.namespaces[0].name: Namespace name"),
    (NS + ("labels",), ["a"], "spec.namespaces[0].labels: must be a mapping, not a list"),
    (NS + ("labels",), {"pod-security.kubernetes.io/enforce": "base line"},
     "spec.namespaces[0].labels[pod-security.kubernetes.io/enforce]: label value 'base line' is not valid"),
    (NS + ("labels",), {"a/b/c": "x"}, "spec.namespaces[0].labels[a/b/c]: 'a/b/c' is not a valid Kubernetes label name"),
    (NS + ("authorization",), {"clusterBindings": []}, "spec.namespaces[0].authorization.clusterBindings: unknown key "
                                                       "'clusterBindings' (known keys: bindings)"),
    (NS + ("authorization", "bindings", 0, "clusterRole"), "a/b", "spec.namespaces[0].authorization.bindings[0]."
                                                                  "clusterRole: 'a/b' is not a valid role name"),
    (NS + ("authorization", "bindings"), [{"clusterRole": "edit", "groups": ["a"]}, {"clusterRole": "edit",
                                                                                     "users": ["b"]}],
     "spec.namespaces[0].authorization.bindings[1].clusterRole: 'edit' is already bound by "
     "spec.namespaces[0].authorization.bindings[0]: merge the subjects"),
    (NS + ("authorization", "bindings", 0), {"clusterRole": "edit"}, "spec.namespaces[0].authorization.bindings[0]: "
                                                                     "binds clusterRole edit to nobody"),
    # resourceQuota
    (QUOTA, [], "spec.namespaces[0].resourceQuota: must be a mapping, not a list"),
    (QUOTA + ("hardd",), {}, "spec.namespaces[0].resourceQuota.hardd: unknown key 'hardd' (known keys: hard, scopes, "
                             "scopeSelector)"),
    (QUOTA + ("hard",), ["pods"], "spec.namespaces[0].resourceQuota.hard: must be a mapping, not a list"),
    (QUOTA + ("hard",), {"pods": "1.5.3"}, "spec.namespaces[0].resourceQuota.hard.pods: '1.5.3' is not a Kubernetes "
                                           "quantity"),
    (QUOTA + ("hard",), {"pods": "abc"}, "spec.namespaces[0].resourceQuota.hard.pods: 'abc' is not a Kubernetes quantity"),
    (QUOTA + ("hard",), {"requests.cpu": "-"}, "spec.namespaces[0].resourceQuota.hard[requests.cpu]: '-' is not a "
                                               "Kubernetes quantity"),
    (QUOTA + ("hard",), {"pods": "-1"}, "spec.namespaces[0].resourceQuota.hard.pods: '-1' is negative"),
    (QUOTA + ("hard",), {"pods": 0.5}, "spec.namespaces[0].resourceQuota.hard.pods: 0.5 is a floating-point number: "
                                       "write the quantity as a string ('0.5')"),
    (QUOTA + ("hard",), {"pods": None}, "spec.namespaces[0].resourceQuota.hard.pods: None is null, not a Kubernetes "
                                        "quantity"),
    (QUOTA + ("hard",), {"requests cpu": "1"}, "spec.namespaces[0].resourceQuota.hard[requests cpu]: 'requests cpu' "
                                               "is not a valid Kubernetes resource name"),
    (QUOTA + ("scopes",), "BestEffort", "spec.namespaces[0].resourceQuota.scopes: must be a list, not a string"),
    (QUOTA + ("scopes",), ["BestEffort", "besteffort"], "spec.namespaces[0].resourceQuota.scopes[1]: 'besteffort' is "
                                                        "not a ResourceQuota scope"),
    (QUOTA + ("scopeSelector",), {"matchLabels": {}}, "spec.namespaces[0].resourceQuota.scopeSelector.matchLabels: "
                                                      "unknown key 'matchLabels' (known keys: matchExpressions)"),
    (QUOTA + ("scopeSelector", "matchExpressions", 0, "key"), "x", "resourceQuota.scopeSelector.matchExpressions[0]."
                                                                   "key: unknown key 'key' (known keys: scopeName, "
                                                                   "operator, values)"),
    (QUOTA + ("scopeSelector", "matchExpressions", 0, "scopeName"), "Priority",
     "resourceQuota.scopeSelector.matchExpressions[0].scopeName: 'Priority' is not a ResourceQuota scope"),
    (QUOTA + ("scopeSelector", "matchExpressions", 0, "scopeName"), DELETE,
     "resourceQuota.scopeSelector.matchExpressions[0].scopeName: is required"),
    (QUOTA + ("scopeSelector", "matchExpressions", 0, "operator"), "Equals",
     "resourceQuota.scopeSelector.matchExpressions[0].operator: 'Equals' is not one of In, NotIn, Exists, DoesNotExist"),
    (QUOTA + ("scopeSelector", "matchExpressions", 0, "values"), [""],
     "resourceQuota.scopeSelector.matchExpressions[0].values[0]: must be a non-empty string, not ''"),
    # limitRange
    (NS + ("limitRange",), [], "spec.namespaces[0].limitRange: must be a mapping, not a list"),
    (NS + ("limitRange",), {}, "spec.namespaces[0].limitRange.limits: is required"),
    (NS + ("limitRange", "limit"), [], "spec.namespaces[0].limitRange.limit: unknown key 'limit' (known keys: limits)"),
    (NS + ("limitRange", "limits"), {"type": "Container"}, "spec.namespaces[0].limitRange.limits: must be a list, "
                                                           "not a mapping"),
    (LIMIT, None, "spec.namespaces[0].limitRange.limits[0]: must be a mapping, not null"),
    (LIMIT + ("maximum",), {}, "spec.namespaces[0].limitRange.limits[0].maximum: unknown key 'maximum' (known keys: "
                               "type, default, defaultRequest, max, min, maxLimitRequestRatio)"),
    (LIMIT + ("type",), DELETE, "spec.namespaces[0].limitRange.limits[0].type: is required"),
    (LIMIT + ("type",), "container", "spec.namespaces[0].limitRange.limits[0].type: 'container' is not one of "
                                     "Container, Pod, PersistentVolumeClaim"),
    (LIMIT + ("default",), {"cpu": "500x"}, "spec.namespaces[0].limitRange.limits[0].default.cpu: '500x' is not a "
                                            "Kubernetes quantity"),
    (LIMIT + ("defaultRequest",), {"cpu": "abc"}, "limits[0].defaultRequest.cpu: 'abc' is not a Kubernetes quantity"),
    (LIMIT + ("max",), {"cpu": "1.5.3"}, "limits[0].max.cpu: '1.5.3' is not a Kubernetes quantity"),
    (LIMIT + ("min",), {"cpu": "-1m"}, "limits[0].min.cpu: '-1m' is negative"),
    (LIMIT + ("min",), "1", "limits[0].min: must be a mapping, not a string"),
    (LIMIT + ("maxLimitRequestRatio",), {"cpu": "e"}, "limits[0].maxLimitRequestRatio.cpu: 'e' is not a Kubernetes "
                                                      "quantity"),
    (LIMIT + ("maxLimitRequestRatio",), {"cpu": "500m"}, "limits[0].maxLimitRequestRatio.cpu: must be at least 1"),
    (LIMIT + ("min",), {"cpu": "3"}, "limits[0].min.cpu: min cpu is more than its max"),
    (LIMIT + ("defaultRequest",), {"cpu": "600m"}, "limits[0].defaultRequest.cpu: defaultRequest cpu is more than "
                                                   "its default"),
    (LIMIT + ("default",), {"cpu": "3"}, "limits[0].default.cpu: default cpu is more than its max"),
    (LIMIT + ("min",), {"cpu": "200m"}, "limits[0].min.cpu: min cpu is more than its defaultRequest"),
    (NS + ("limitRange", "limits"), [{"type": "Pod", "max": {"cpu": "2"}}, {"type": "Pod", "max": {"cpu": "4"}}],
     "spec.namespaces[0].limitRange.limits[1].type: type Pod is already limited by "
     "spec.namespaces[0].limitRange.limits[0]"),
    (LIMIT, {"type": "Pod", "default": {"cpu": "1"}}, "limits[0].default: may not be given for type Pod"),
    (LIMIT, {"type": "Pod", "defaultRequest": {"cpu": "1"}}, "limits[0].defaultRequest: may not be given for type Pod"),
    (LIMIT, {"type": "PersistentVolumeClaim", "max": {"cpu": "1"}}, "spec.namespaces[0].limitRange.limits[0]: type "
                                                                    "PersistentVolumeClaim needs a min or max storage"),
]


FAILING_IDS = [" ".join(map(str, f[0])) + " " + f[2][:40] for f in FAILING]


@pytest.mark.parametrize("where, value, problem", FAILING, ids=FAILING_IDS)
def test_each_rule_fails_naming_the_path(where, value, problem):
    obj = value if where == () else changed(where, value)
    problems = ps.validate(obj)
    assert any(problem in found for found in problems), problems
    assert all(": " in found for found in problems)


def test_duplicate_namespace_entries():
    obj = policy()
    second = copy.deepcopy(obj["spec"]["namespaces"][0])
    second.pop("resourceQuota")
    obj["spec"]["namespaces"] += [{"name": "logging"}, second]
    assert ps.validate(obj) == ["spec.namespaces[2].name: Namespace monitoring is already listed as "
                                "spec.namespaces[0]: merge the two entries"]


def test_the_same_role_in_two_lists_is_fine():
    """A role once per list: clusterBindings and each namespace's bindings are separate lists."""
    obj = policy()
    obj["spec"]["namespaces"][0]["authorization"]["bindings"].append({"clusterRole": "admin", "users": ["x"]})
    obj["spec"]["namespaces"].append({"name": "logging", "authorization": {"bindings": [
        {"clusterRole": "edit", "groups": ["sre"]}, {"clusterRole": "admin", "groups": ["sre"]}]}})
    assert ps.validate(obj) == []


# --- one passing case per rule (beyond the contract's example) ------------------------------------

PASSING = [
    (("metadata", "name"), "aws-admins.example.com"),  # a subdomain, not only a label
    (("metadata", "name"), "a" * 239),  # at most 253 - len("clusterpolicy."): its quota's name is a subdomain too
    (("metadata", "labels"), {"example.com/team": "a", "empty": ""}),
    (("spec", "selector"), {"example.com/cloud": "aws", "stage": "", "tier_1": "A.b-c_1"}),
    (("spec", "selector"), {"a" * 63: "v" * 63}),
    (("spec", "matchExpressions"), [{"key": "stage", "operator": "NotIn", "values": ["dev", "test"]},
                                    {"key": "example.com/gpu", "operator": "Exists"},
                                    {"key": "legacy", "operator": "DoesNotExist", "values": []}]),
    (("spec", "matchExpressions"), []),
    (CB, {"clusterRole": "system:aggregate-to-view", "users": ["bob"]}),  # ':' is fine in RBAC names
    (CB, {"clusterRole": "admin", "groups": ["system:masters"]}),
    (CB, {"clusterRole": "admin", "serviceAccounts": [{"namespace": "ci", "name": "deployer.v2"},
                                                      {"namespace": "cd", "name": "deployer.v2"}]}),
    (CB, {"clusterRole": "view", "users": ["alice"], "groups": ["alice"]}),  # a user and a group of one name
    (NS + ("name",), "m" * 63),
    (NS + ("labels",), {}),
    (QUOTA, {"hard": {"pods": 20, "count/deployments.apps": "5", "requests.nvidia.com/gpu": "2",
                      "limits.memory": "1.5Gi", "requests.storage": "2e3", "services": "0"}}),
    (QUOTA, {"scopes": ["BestEffort"], "scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "Exists"}]}}),
    (QUOTA, {}),
    (NS + ("limitRange",), {"limits": [{"type": "Pod", "max": {"cpu": "2", "memory": "1Gi"}},
                                       {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}},
                                       {"type": "Container", "max": {"memory": "1Gi"}, "min": {"memory": "1Gi"},
                                        "maxLimitRequestRatio": {"cpu": "1"}}]}),
    (LIMIT, {"type": "Container", "default": {"cpu": "1000m"}, "max": {"cpu": "1"}}),  # equal values are in order
    (LIMIT, {"type": "Container", "default": {"memory": "1Gi"}, "max": {"cpu": "1"}}),  # different resources
]


@pytest.mark.parametrize("where, value", PASSING, ids=[" ".join(map(str, p[0])) for p in PASSING])
def test_each_rule_passes(where, value):
    assert ps.validate(changed(where, value)) == []


def test_every_problem_is_listed_not_only_the_first():
    obj = policy()
    obj["metadata"]["name"] = "Bad"
    obj["spec"]["selector"] = {"cloud": "a b"}
    obj["spec"]["namespaces"][0]["name"] = "Bad"
    obj["spec"]["namespaces"][0]["resourceQuota"]["hard"] = {"pods": "x", "cpu": "y"}
    obj["spec"]["authorization"]["clusterBindings"][0]["oops"] = 1
    paths = [problem.split(": ", 1)[0] for problem in ps.validate(obj)]
    assert paths == ["metadata.name", "spec.selector.cloud", "spec.authorization.clusterBindings[0].oops",
                     "spec.namespaces[0].name", "spec.namespaces[0].resourceQuota.hard.pods",
                     "spec.namespaces[0].resourceQuota.hard.cpu"]


def _paths(value, path=()):
    """Every path of the policy: keys and list indexes."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


JUNK = [None, 0, 7, -1, 1.5, True, "", "x", [], [None], [1, "a"], {}, {"a": 1}, {1: 2}, [{"name": []}]]


def test_any_value_anywhere_gives_problems_never_an_exception():
    for path in list(_paths(policy()))[1:]:
        for junk in JUNK:
            problems = ps.validate(changed(path, junk))
            assert isinstance(problems, list) and all(isinstance(p, str) and ": " in p for p in problems), (path, junk)


def test_null_fields_are_absent_ones():
    obj = policy()
    obj["spec"].update({"selector": None, "matchExpressions": None, "authorization": None})
    obj["spec"]["namespaces"][0].update({"labels": None, "resourceQuota": None, "limitRange": None,
                                         "authorization": None})
    assert ps.validate(obj) == []


# --- the quantity grammar ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("20", 20), (20, 20), ("0", 0), ("+3", 3), ("-3", -3), ("1.", 1), (".5", Fraction(1, 2)), ("1.5", Fraction(3, 2)),
    ("500m", Fraction(1, 2)), ("250000n", Fraction(1, 4000)), ("10u", Fraction(1, 100000)), ("1k", 1000),
    ("1M", 10 ** 6), ("1G", 10 ** 9), ("1T", 10 ** 12), ("1P", 10 ** 15), ("1E", 10 ** 18),
    ("1Ki", 1024), ("1.5Gi", 1536 * 1024 ** 2), ("1Mi", 1024 ** 2), ("1Ti", 1024 ** 4), ("1Pi", 1024 ** 5),
    ("7Ei", 7 * 1024 ** 6), ("2e3", 2000), ("2E3", 2000), ("2e+3", 2000), ("5e-3", Fraction(5, 1000)),
    ("1e-9", Fraction(1, 10 ** 9)), ("0e99999", 0), ("0.000", 0), ("00012", 12),
    ("9223372036854775807", 2 ** 63 - 1),
])
def test_quantities(text, value):
    assert quantities.parse_quantity(text) == value


@pytest.mark.parametrize("text, why", [
    ("1.5.3", "is not a Kubernetes quantity"), ("abc", "is not a Kubernetes quantity"),
    ("-", "is not a Kubernetes quantity"), ("", "is not a Kubernetes quantity"), (".", "is not a Kubernetes quantity"),
    ("1e", "is not a Kubernetes quantity"), ("1ki", "is not a Kubernetes quantity"),
    ("1KI", "is not a Kubernetes quantity"), ("1 Gi", "is not a Kubernetes quantity"),
    (" 1", "is not a Kubernetes quantity"), ("1Gi ", "is not a Kubernetes quantity"),
    ("1e1.5", "is not a Kubernetes quantity"), ("1Gim", "is not a Kubernetes quantity"),
    ("0x10", "is not a Kubernetes quantity"), ("1,5", "is not a Kubernetes quantity"),
    ("++1", "is not a Kubernetes quantity"), ("1e2Gi", "is not a Kubernetes quantity"),
    ("8Ei", "too large"), ("1e19", "too large"), ("9223372036854775808", "too large"),
    ("1e999999999", "too large"), ("0.1n", "below 1n"), ("1e-10", "below 1n"), ("1e-999999999", "below 1n"),
    (0.5, "floating-point number"), (True, "is a boolean"), (None, "is null"), ([1], "is a list"),
])
def test_not_quantities(text, why):
    with pytest.raises(quantities.QuantityError, match=why):
        quantities.parse_quantity(text)


# --- the stored form ----------------------------------------------------------------------------------

def test_normalize_spec_writes_numbers_as_quantity_strings():
    spec = {"namespaces": [{"name": "a", "resourceQuota": {"hard": {"pods": 20, "cpu": "4"}},
                            "limitRange": {"limits": [{"type": "Container", "max": {"cpu": 2},
                                                       "maxLimitRequestRatio": {"cpu": 3}}]}},
                           {"name": "b"}]}
    before = copy.deepcopy(spec)
    normal = ps.normalize_spec(spec)
    assert normal["namespaces"][0]["resourceQuota"]["hard"] == {"pods": "20", "cpu": "4"}
    assert normal["namespaces"][0]["limitRange"]["limits"][0] == {
        "type": "Container", "max": {"cpu": "2"}, "maxLimitRequestRatio": {"cpu": "3"}}
    assert normal["namespaces"][1] == {"name": "b"}
    assert spec == before  # a copy
    assert ps.validate_spec(normal) == []
    assert ps.normalize_spec(None) == {}

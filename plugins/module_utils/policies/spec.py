# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ClusterPolicy format (multicluster.coreos.com/v1), checked whole.

validate(policy) and validate_spec(spec) return every problem, each as
"<path>: <problem>" (for example ``spec.namespaces[1].resourceQuota.hard[pods]:
'abc' is not a Kubernetes quantity``), and an empty list for a valid policy.
Paths follow Kubernetes' own field paths: a field is ``.name``, a list item
``[i]``, a map key that is not a plain word ``[key]``. Unknown keys are refused
at every level, naming the key. Pure: no API calls; used by the module
(mc_cluster_policy, before anything is written) and by the replica's syncer.

The format, as written for Tectonic, plus ``matchExpressions``,
``resourceQuota`` and ``limitRange``::

    spec:
      selector: {cloud: aws}                  # labels of Cluster objects; {} or absent: every cluster
      matchExpressions: [{key, operator, values}]   # ANDed with selector
      authorization:
        clusterBindings: [{clusterRole, users, groups, serviceAccounts: [{namespace, name}]}]
      namespaces:
        - name: monitoring
          labels: {...}
          authorization: {bindings: [...]}    # RoleBindings to ClusterRoles, entries as clusterBindings
          resourceQuota: {...}                # a core/v1 ResourceQuotaSpec
          limitRange: {...}                   # a core/v1 LimitRangeSpec

Within one bindings list a clusterRole appears at most once: the syncer
names its objects after the policy and the role.

Quantities (which fields hold them, their grammar) are quantities.py's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import quantities
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.problems import (
    Problems, item_path, key_path, text_problem)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER_POLICY
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    label_key_problem, label_problem, label_value_problem, subdomain_problem, type_name)

SPEC_KEYS = ("selector", "matchExpressions", "authorization", "namespaces")
AUTHORIZATION_KEYS = ("clusterBindings",)
BINDING_KEYS = ("clusterRole", "users", "groups", "serviceAccounts")
SERVICE_ACCOUNT_KEYS = ("namespace", "name")
NAMESPACE_KEYS = ("name", "labels", "authorization", "resourceQuota", "limitRange")
NAMESPACE_AUTHORIZATION_KEYS = ("bindings",)
EXPRESSION_KEYS = ("key", "operator", "values")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
QUOTA_KEYS = ("hard", "scopes", "scopeSelector")
QUOTA_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
                "CrossNamespacePodAffinity")
SCOPE_SELECTOR_KEYS = ("matchExpressions",)
SCOPE_EXPRESSION_KEYS = ("scopeName", "operator", "values")
LIMIT_RANGE_KEYS = ("limits",)
LIMIT_KEYS = ("type",) + quantities.LIMIT_FIELDS
LIMIT_TYPES = ("Container", "Pod", "PersistentVolumeClaim")
# keys of the object itself; metadata holds what the server adds too, only its name and labels are checked
OBJECT_KEYS = ("apiVersion", "kind", "metadata", "spec", "status")
# a policy's quota and limit range are named <prefix>.<policy name>: a DNS-1123 subdomain too (253)
MAX_NAME = 253 - len(names.POLICY_OBJECT_PREFIX + ".")


# --- selection --------------------------------------------------------------------------------

def _check_expressions(problems, expressions, path, key_field, check_key, operators):
    """matchExpressions (of a selector or of a quota's scopeSelector)."""
    if not problems.sequence(expressions, path):
        return
    known = EXPRESSION_KEYS if key_field == "key" else SCOPE_EXPRESSION_KEYS
    for index, expression in enumerate(expressions):
        here = item_path(path, index)
        if not problems.mapping(expression, here, known, item=True):
            continue
        if problems.required(expression, key_field, here):
            problems.problem(key_path(here, key_field), check_key(expression[key_field]))
        operator = expression.get("operator")
        if operator is None:
            problems.add(key_path(here, "operator"), "is required (one of %s)" % ", ".join(operators))
        elif operator not in operators:
            problems.add(key_path(here, "operator"), "%r is not one of %s" % (operator, ", ".join(operators)))
        values = expression.get("values")
        needs_values = operator in ("In", "NotIn")
        if needs_values and not values:
            problems.add(key_path(here, "values"), "operator %s needs at least one value" % operator)
        elif operator in ("Exists", "DoesNotExist") and values:
            problems.add(key_path(here, "values"), "must be empty with operator %s" % operator)
        elif problems.sequence(values, key_path(here, "values")):
            for number, value in enumerate(values):
                problems.problem(item_path(key_path(here, "values"), number),
                                 label_value_problem(value) if key_field == "key" else text_problem(value))


def _scope_problem(scope):
    if scope not in QUOTA_SCOPES:
        return "%r is not a ResourceQuota scope (%s)" % (scope, ", ".join(QUOTA_SCOPES))
    return None


# --- authorization ----------------------------------------------------------------------------

def role_problem(name):
    """Why *name* is not a ClusterRole name (an RBAC name: a path segment), or None."""
    if text_problem(name):
        return text_problem(name)
    if name in (".", ".."):
        return "%r is not a valid role name" % name
    for char in ("/", "%"):
        if char in name:
            return "%r is not a valid role name (it may not contain %r)" % (name, char)
    return None


def _check_names(problems, names, path, what):
    """users / groups: non-empty strings, each once; returns how many."""
    if not problems.sequence(names, path):
        return 0
    seen = set()
    for index, name in enumerate(names):
        here = item_path(path, index)
        if problems.text(name, here):
            if name in seen:
                problems.add(here, "%s %r is listed twice" % (what, name))
            seen.add(name)
    return len(names)


def _check_service_accounts(problems, accounts, path):
    if not problems.sequence(accounts, path):
        return 0
    seen = set()
    for index, account in enumerate(accounts):
        here = item_path(path, index)
        if not problems.mapping(account, here, SERVICE_ACCOUNT_KEYS, item=True):
            continue
        namespace, name = account.get("namespace"), account.get("name")
        if problems.required(account, "namespace", here):
            problems.problem(key_path(here, "namespace"), label_problem(namespace))
        if problems.required(account, "name", here):
            problems.problem(key_path(here, "name"), subdomain_problem(name))
        if isinstance(namespace, str) and isinstance(name, str):
            if (namespace, name) in seen:
                problems.add(here, "service account %s/%s is listed twice" % (namespace, name))
            seen.add((namespace, name))
    return len(accounts)


def _entries(problems, entries, path, known, key, key_problem, duplicate):
    """(path, entry) of each mapping in the list *entries* at *path*, after its checks: only *known* keys; *key*
    required, valid (key_problem(value): a problem or None) and in one entry only (*duplicate* % value names the
    first entry as {first})."""
    if not problems.sequence(entries, path):
        return
    first = {}
    for index, entry in enumerate(entries):
        here = item_path(path, index)
        if not problems.mapping(entry, here, known, item=True):
            continue
        if problems.required(entry, key, here):
            found = key_problem(entry[key])
            problems.problem(key_path(here, key), found)
            if not found:
                problems.once(first, entry[key], index, key_path(here, key), path, duplicate % (entry[key],))
        yield here, entry


def _check_bindings(problems, bindings, path):
    """A list of {clusterRole, users, groups, serviceAccounts}; a role at most once."""
    for here, binding in _entries(problems, bindings, path, BINDING_KEYS, "clusterRole", role_problem,
                                  "%r is already bound by {first}: merge the subjects of both entries into one "
                                  "(each role is bound once per list)"):
        role = binding.get("clusterRole")
        subjects = (_check_names(problems, binding.get("users"), key_path(here, "users"), "user")
                    + _check_names(problems, binding.get("groups"), key_path(here, "groups"), "group")
                    + _check_service_accounts(problems, binding.get("serviceAccounts"), key_path(here, "serviceAccounts")))
        if not subjects:
            problems.add(here, "binds clusterRole %s to nobody: give at least one of users, groups, serviceAccounts"
                         % (role if isinstance(role, str) else "?"))


# --- resource limits --------------------------------------------------------------------------

def _check_quota(problems, quota, path):
    """A core/v1 ResourceQuotaSpec."""
    if not problems.mapping(quota, path, QUOTA_KEYS):
        return
    problems.quantities(quota.get("hard"), key_path(path, "hard"))
    scopes = quota.get("scopes")
    if problems.sequence(scopes, key_path(path, "scopes")):
        for index, scope in enumerate(scopes):
            problems.problem(item_path(key_path(path, "scopes"), index), _scope_problem(scope))
    selector = quota.get("scopeSelector")
    here = key_path(path, "scopeSelector")
    if problems.mapping(selector, here, SCOPE_SELECTOR_KEYS):
        _check_expressions(problems, selector.get("matchExpressions"), key_path(here, "matchExpressions"),
                           "scopeName", _scope_problem, OPERATORS)


def _check_order(problems, path, limit, low, high, relation):
    """Each resource in both maps: low <= high (Kubernetes refuses a limit range that is not)."""
    for name in sorted(set(limit.get(low, {})) & set(limit.get(high, {}))):
        if limit[low][name] > limit[high][name]:
            problems.add(key_path(key_path(path, low), name), "%s %s is more than its %s" % (low, name, relation))


def _limit_type_problem(kind):
    return None if kind in LIMIT_TYPES else "%r is not one of %s" % (kind, ", ".join(LIMIT_TYPES))


def _check_limit_range(problems, limit_range, path):
    """A core/v1 LimitRangeSpec."""
    if not problems.mapping(limit_range, path, LIMIT_RANGE_KEYS):
        return
    limits = limit_range.get("limits")
    here = key_path(path, "limits")
    if limits is None:
        problems.add(here, "is required (a LimitRange holds at least one limit)")
        return
    for item, limit in _entries(problems, limits, here, LIMIT_KEYS, "type", _limit_type_problem,
                                "type %s is already limited by {first}"):
        kind = limit.get("type")
        parsed = dict((field, problems.quantities(limit.get(field), key_path(item, field)))
                      for field in quantities.LIMIT_FIELDS)
        if kind == "Pod":
            for field in ("default", "defaultRequest"):
                if limit.get(field):
                    problems.add(key_path(item, field), "may not be given for type Pod")
        if kind == "PersistentVolumeClaim" and not any(
                isinstance(limit.get(f), dict) and "storage" in limit[f] for f in ("min", "max")):
            problems.add(item, "type PersistentVolumeClaim needs a min or max storage")
        for name, ratio in sorted(parsed["maxLimitRequestRatio"].items()):
            if ratio < 1:
                problems.add(key_path(key_path(item, "maxLimitRequestRatio"), name), "must be at least 1")
        _check_order(problems, item, parsed, "min", "max", "max")
        _check_order(problems, item, parsed, "defaultRequest", "default", "default")
        _check_order(problems, item, parsed, "default", "max", "max")
        _check_order(problems, item, parsed, "min", "defaultRequest", "defaultRequest")


# --- namespaces, the spec, the object ---------------------------------------------------------

def _namespace_name_problem(name):
    found = label_problem(name)
    return "Namespace name " + found if found else None


def _check_namespaces(problems, namespaces, path):
    for here, entry in _entries(problems, namespaces, path, NAMESPACE_KEYS, "name", _namespace_name_problem,
                                "Namespace %s is already listed as {first}: merge the two entries"):
        problems.labels(entry.get("labels"), key_path(here, "labels"))
        authorization = entry.get("authorization")
        if problems.mapping(authorization, key_path(here, "authorization"), NAMESPACE_AUTHORIZATION_KEYS):
            _check_bindings(problems, authorization.get("bindings"), key_path(key_path(here, "authorization"), "bindings"))
        _check_quota(problems, entry.get("resourceQuota"), key_path(here, "resourceQuota"))
        _check_limit_range(problems, entry.get("limitRange"), key_path(here, "limitRange"))


def validate_spec(spec, path="spec"):
    """Every problem of a ClusterPolicy spec, as "<path>: <problem>"; [] when valid.
    A spec that is null or absent is an empty one (it selects every cluster and asks for nothing)."""
    problems = Problems()
    if not problems.mapping(spec, path, SPEC_KEYS):
        return list(problems)
    selector = spec.get("selector")
    problems.labels(selector, key_path(path, "selector"))
    _check_expressions(problems, spec.get("matchExpressions"), key_path(path, "matchExpressions"), "key",
                       label_key_problem, OPERATORS)
    authorization = spec.get("authorization")
    if problems.mapping(authorization, key_path(path, "authorization"), AUTHORIZATION_KEYS):
        _check_bindings(problems, authorization.get("clusterBindings"),
                        key_path(key_path(path, "authorization"), "clusterBindings"))
    _check_namespaces(problems, spec.get("namespaces"), key_path(path, "namespaces"))
    return list(problems)


def validate(policy):
    """Every problem of a whole ClusterPolicy object (apiVersion, kind,
    metadata.name as a DNS-1123 subdomain, metadata.labels, spec), as
    "<path>: <problem>"; [] when valid. Other metadata (what the server adds)
    and status are not checked."""
    problems = Problems()
    if not isinstance(policy, dict):
        problems.add("(policy)", "must be a mapping, not %s" % type_name(policy))
        return list(problems)
    for key in policy:
        if key not in OBJECT_KEYS:
            problems.add(key_path("", key).lstrip("."), "unknown key %r (known keys: %s)" % (key, ", ".join(OBJECT_KEYS)))
    if policy.get("apiVersion") not in (None, CLUSTER_POLICY.api_version):
        problems.add("apiVersion", "%r is not %s" % (policy["apiVersion"], CLUSTER_POLICY.api_version))
    if policy.get("kind") not in (None, CLUSTER_POLICY.kind):
        problems.add("kind", "%r is not %s" % (policy["kind"], CLUSTER_POLICY.kind))
    metadata = policy.get("metadata")
    if metadata is None:
        problems.add("metadata.name", "is required")
    elif problems.mapping(metadata, "metadata"):
        if problems.required(metadata, "name", "metadata"):
            found = subdomain_problem(metadata["name"])
            problems.problem("metadata.name", "ClusterPolicy name " + found if found else None)
            if not found and len(metadata["name"]) > MAX_NAME:
                problems.add("metadata.name", "is %d characters: at most %d, so that the quota and limit range it "
                             "makes on replicas (%s.<name>) have valid names"
                             % (len(metadata["name"]), MAX_NAME, names.POLICY_OBJECT_PREFIX))
        problems.labels(metadata.get("labels"), "metadata.labels")
    problems.extend(validate_spec(policy.get("spec")))
    return list(problems)


# --- the form the policy is stored in ---------------------------------------------------------

def normalize_spec(spec):
    """A copy of *spec* with every quantity given as a number (YAML ``pods: 20``)
    as the string Kubernetes stores ("20"), so that a spec compares equal to
    its stored form. Call it on a valid spec."""
    spec = copy.deepcopy(spec) if spec is not None else {}
    for entry in spec.get("namespaces") or []:
        if not isinstance(entry, dict):
            continue
        quota = entry.get("resourceQuota")
        if isinstance(quota, dict):
            quantities.as_text(quota.get(quantities.QUOTA_FIELD))
        limit_range = entry.get("limitRange")
        for limit in (limit_range.get("limits") or []) if isinstance(limit_range, dict) else []:
            for field in quantities.LIMIT_FIELDS:
                if isinstance(limit, dict):
                    quantities.as_text(limit.get(field))
    return spec

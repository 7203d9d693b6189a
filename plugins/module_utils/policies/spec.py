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

parse_quantity() reads the Kubernetes resource quantity grammar ("500m",
"1.5Gi", "2e3") into an exact Fraction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from fractions import Fraction

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER_POLICY
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    label_key_problem, label_problem, label_value_problem, subdomain_problem)

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
LIMIT_KEYS = ("type", "default", "defaultRequest", "max", "min", "maxLimitRequestRatio")
LIMIT_TYPES = ("Container", "Pod", "PersistentVolumeClaim")
# keys of the object itself; metadata holds what the server adds too, only its name and labels are checked
OBJECT_KEYS = ("apiVersion", "kind", "metadata", "spec", "status")

# a quantity: sign, number, then a binary suffix, a decimal exponent or a decimal suffix
_QUANTITY = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|n|u|m|k|M|G|T|P|E|)$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_MAX_QUANTITY = 2 ** 63 - 1
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class QuantityError(ValueError):
    """Not a Kubernetes quantity (its text says why)."""


def parse_quantity(text):
    """The exact value of a Kubernetes quantity, as a Fraction.

    Grammar (k8s.io/apimachinery resource.Quantity): an optional sign, digits
    with an optional fraction ("1", "1.5", "1.", ".5"), then one suffix: binary
    Ki Mi Gi Ti Pi Ei, a decimal exponent e<n>/E<n>, or decimal n u m "" k M G
    T P E. An int is read as its digits. At most 2^63-1 in magnitude; a value
    other than 0 below 1n (which Kubernetes would round up) is refused."""
    if isinstance(text, float):
        raise QuantityError("%r is a floating-point number: write the quantity as a string (%r)" % (text, str(text)))
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise QuantityError("%r is %s, not a Kubernetes quantity" % (text, _type_name(text)))
    match = _QUANTITY.match(str(text))
    if not match:
        raise QuantityError("%r is not a Kubernetes quantity (a number with an optional suffix: m, k, M, G, T, P, E, "
                            "Ki, Mi, Gi, Ti, Pi, Ei or an exponent e<n>, for example 500m, 1.5Gi, 2e3, 20)" % (text,))
    sign, number, suffix = match.groups()
    whole, _dot, fraction = number.partition(".")
    digits = (whole + fraction).lstrip("0")
    if suffix in _BINARY:
        base, exponent = 1024, _BINARY[suffix]
    else:
        base = 10
        exponent = int(suffix[1:]) if suffix[:1] in ("e", "E") and len(suffix) > 1 else _DECIMAL[suffix]
    if not digits:
        return Fraction(0)
    if base == 10:  # bounded before it is computed: 1e999999999 must not be built
        magnitude = len(digits) - len(fraction) + exponent  # 10^(magnitude-1) <= value < 10^magnitude
        if magnitude > 19:
            raise QuantityError("%r is too large for a Kubernetes quantity (at most 2^63-1)" % (text,))
        if magnitude < -8:
            raise QuantityError("%r is below 1n, the smallest Kubernetes quantity" % (text,))
    value = Fraction(int(whole + fraction), 10 ** len(fraction)) * Fraction(base) ** exponent
    if base == 10 and value < Fraction(1, 10 ** 9):
        raise QuantityError("%r is below 1n, the smallest Kubernetes quantity" % (text,))
    if value > _MAX_QUANTITY:
        raise QuantityError("%r is too large for a Kubernetes quantity (at most 2^63-1)" % (text,))
    return -value if sign == "-" else value


def is_quantity(value):
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


# --- paths and the small checks every level uses ------------------------------------------

def _key(path, key):
    """path.key for a plain word, path[key] for anything else."""
    key = str(key)
    return "%s.%s" % (path, key) if _WORD.match(key) else "%s[%s]" % (path, key)


def _item(path, index):
    return "%s[%d]" % (path, index)


def _type_name(value):
    """'a mapping', 'a list', ..., 'null': what a value is, for messages."""
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), "a " + type(value).__name__)


class _Problems(list):
    """The problems found so far, and the checks that add to it."""

    def add(self, path, problem):
        self.append("%s: %s" % (path, problem))

    def mapping(self, value, path, known=None, item=False):
        """True for a dict (unknown keys reported when *known* is given). Null
        counts as absent, except for a list *item*."""
        if value is None and not item:
            return False
        if not isinstance(value, dict):
            self.add(path, "must be a mapping, not %s" % _type_name(value))
            return False
        if known is not None:
            for key in value:
                if key not in known:
                    self.add(_key(path, key), "unknown key %r (known keys: %s)" % (key, ", ".join(known)))
        return True

    def sequence(self, value, path):
        """True for a list; null counts as absent."""
        if value is None:
            return False
        if not isinstance(value, list):
            self.add(path, "must be a list, not %s" % _type_name(value))
            return False
        return True

    def text(self, value, path):
        """True for a non-empty string."""
        found = _text_problem(value)
        self.problem(path, found)
        return not found

    def required(self, mapping, key, path):
        if mapping.get(key) is None:
            self.add(_key(path, key), "is required")
            return False
        return True

    def once(self, first, value, index, path, list_path, message):
        """Report *value* when an earlier item of the list at *list_path* has it
        (first: value -> index, filled here); message names that item as {first}."""
        if value in first:
            self.add(path, message.replace("{first}", _item(list_path, first[value])))
        else:
            first[value] = index

    def problem(self, path, found):
        if found:
            self.add(path, found)

    def labels(self, value, path):
        """A map of label keys to label values."""
        if self.mapping(value, path):
            for key, label in value.items():
                self.problem(_key(path, key), label_key_problem(key))
                self.problem(_key(path, key), label_value_problem(label))

    def quantities(self, value, path):
        """A map of resource names to quantities, none negative; returns
        {name: Fraction} of the good ones."""
        parsed = {}
        if not self.mapping(value, path):
            return parsed
        for name, quantity in value.items():
            here = _key(path, name)
            self.problem(here, label_key_problem(name, "resource name"))
            try:
                amount = parse_quantity(quantity)
            except QuantityError as exc:
                self.add(here, str(exc))
                continue
            if amount < 0:
                self.add(here, "%r is negative: a quantity here must be at least 0" % (quantity,))
                continue
            parsed[name] = amount
        return parsed


# --- selection --------------------------------------------------------------------------------

def _check_expressions(problems, expressions, path, key_field, check_key, operators):
    """matchExpressions (of a selector or of a quota's scopeSelector)."""
    if not problems.sequence(expressions, path):
        return
    known = EXPRESSION_KEYS if key_field == "key" else SCOPE_EXPRESSION_KEYS
    for index, expression in enumerate(expressions):
        here = _item(path, index)
        if not problems.mapping(expression, here, known, item=True):
            continue
        if problems.required(expression, key_field, here):
            problems.problem(_key(here, key_field), check_key(expression[key_field]))
        operator = expression.get("operator")
        if operator is None:
            problems.add(_key(here, "operator"), "is required (one of %s)" % ", ".join(operators))
        elif operator not in operators:
            problems.add(_key(here, "operator"), "%r is not one of %s" % (operator, ", ".join(operators)))
        values = expression.get("values")
        needs_values = operator in ("In", "NotIn")
        if needs_values and not values:
            problems.add(_key(here, "values"), "operator %s needs at least one value" % operator)
        elif operator in ("Exists", "DoesNotExist") and values:
            problems.add(_key(here, "values"), "must be empty with operator %s" % operator)
        elif problems.sequence(values, _key(here, "values")):
            for number, value in enumerate(values):
                problems.problem(_item(_key(here, "values"), number),
                                 label_value_problem(value) if key_field == "key" else _text_problem(value))


def _text_problem(value):
    if not isinstance(value, str) or not value:
        return "must be a non-empty string, not %s" % (repr(value) if isinstance(value, str) else _type_name(value))
    return None


def _scope_problem(scope):
    if scope not in QUOTA_SCOPES:
        return "%r is not a ResourceQuota scope (%s)" % (scope, ", ".join(QUOTA_SCOPES))
    return None


# --- authorization ----------------------------------------------------------------------------

def role_problem(name):
    """Why *name* is not a ClusterRole name (an RBAC name: a path segment), or None."""
    if _text_problem(name):
        return _text_problem(name)
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
        here = _item(path, index)
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
        here = _item(path, index)
        if not problems.mapping(account, here, SERVICE_ACCOUNT_KEYS, item=True):
            continue
        namespace, name = account.get("namespace"), account.get("name")
        if problems.required(account, "namespace", here):
            problems.problem(_key(here, "namespace"), label_problem(namespace))
        if problems.required(account, "name", here):
            problems.problem(_key(here, "name"), subdomain_problem(name))
        if isinstance(namespace, str) and isinstance(name, str):
            if (namespace, name) in seen:
                problems.add(here, "service account %s/%s is listed twice" % (namespace, name))
            seen.add((namespace, name))
    return len(accounts)


def _check_bindings(problems, bindings, path):
    """A list of {clusterRole, users, groups, serviceAccounts}; a role at most once."""
    if not problems.sequence(bindings, path):
        return
    first = {}
    for index, binding in enumerate(bindings):
        here = _item(path, index)
        if not problems.mapping(binding, here, BINDING_KEYS, item=True):
            continue
        role = binding.get("clusterRole")
        if problems.required(binding, "clusterRole", here):
            found = role_problem(role)
            problems.problem(_key(here, "clusterRole"), found)
            if not found:
                problems.once(first, role, index, _key(here, "clusterRole"), path,
                              "%r is already bound by {first}: merge the subjects of both entries into one "
                              "(each role is bound once per list)" % role)
        subjects = (_check_names(problems, binding.get("users"), _key(here, "users"), "user")
                    + _check_names(problems, binding.get("groups"), _key(here, "groups"), "group")
                    + _check_service_accounts(problems, binding.get("serviceAccounts"), _key(here, "serviceAccounts")))
        if not subjects:
            problems.add(here, "binds clusterRole %s to nobody: give at least one of users, groups, serviceAccounts"
                         % (role if isinstance(role, str) else "?"))


# --- resource limits --------------------------------------------------------------------------

def _check_quota(problems, quota, path):
    """A core/v1 ResourceQuotaSpec."""
    if not problems.mapping(quota, path, QUOTA_KEYS):
        return
    problems.quantities(quota.get("hard"), _key(path, "hard"))
    scopes = quota.get("scopes")
    if problems.sequence(scopes, _key(path, "scopes")):
        for index, scope in enumerate(scopes):
            problems.problem(_item(_key(path, "scopes"), index), _scope_problem(scope))
    selector = quota.get("scopeSelector")
    here = _key(path, "scopeSelector")
    if problems.mapping(selector, here, SCOPE_SELECTOR_KEYS):
        _check_expressions(problems, selector.get("matchExpressions"), _key(here, "matchExpressions"),
                           "scopeName", _scope_problem, OPERATORS)


def _check_order(problems, path, limit, low, high, relation):
    """Each resource in both maps: low <= high (Kubernetes refuses a limit range that is not)."""
    for name in sorted(set(limit.get(low, {})) & set(limit.get(high, {}))):
        if limit[low][name] > limit[high][name]:
            problems.add(_key(_key(path, low), name), "%s %s is more than its %s" % (low, name, relation))


def _check_limit_range(problems, limit_range, path):
    """A core/v1 LimitRangeSpec."""
    if not problems.mapping(limit_range, path, LIMIT_RANGE_KEYS):
        return
    limits = limit_range.get("limits")
    here = _key(path, "limits")
    if limits is None:
        problems.add(here, "is required (a LimitRange holds at least one limit)")
        return
    if not problems.sequence(limits, here):
        return
    types = {}
    for index, limit in enumerate(limits):
        item = _item(here, index)
        if not problems.mapping(limit, item, LIMIT_KEYS, item=True):
            continue
        kind = limit.get("type")
        if problems.required(limit, "type", item):
            if kind not in LIMIT_TYPES:
                problems.add(_key(item, "type"), "%r is not one of %s" % (kind, ", ".join(LIMIT_TYPES)))
            else:
                problems.once(types, kind, index, _key(item, "type"), here,
                              "type %s is already limited by {first}" % kind)
        parsed = dict((field, problems.quantities(limit.get(field), _key(item, field)))
                      for field in LIMIT_KEYS if field != "type")
        if kind == "Pod":
            for field in ("default", "defaultRequest"):
                if limit.get(field):
                    problems.add(_key(item, field), "may not be given for type Pod")
        if kind == "PersistentVolumeClaim" and not any(
                isinstance(limit.get(f), dict) and "storage" in limit[f] for f in ("min", "max")):
            problems.add(item, "type PersistentVolumeClaim needs a min or max storage")
        for name, ratio in sorted(parsed["maxLimitRequestRatio"].items()):
            if ratio < 1:
                problems.add(_key(_key(item, "maxLimitRequestRatio"), name), "must be at least 1")
        _check_order(problems, item, parsed, "min", "max", "max")
        _check_order(problems, item, parsed, "defaultRequest", "default", "default")
        _check_order(problems, item, parsed, "default", "max", "max")
        _check_order(problems, item, parsed, "min", "defaultRequest", "defaultRequest")


# --- namespaces, the spec, the object ---------------------------------------------------------

def _check_namespaces(problems, namespaces, path):
    if not problems.sequence(namespaces, path):
        return
    first = {}
    for index, entry in enumerate(namespaces):
        here = _item(path, index)
        if not problems.mapping(entry, here, NAMESPACE_KEYS, item=True):
            continue
        name = entry.get("name")
        if problems.required(entry, "name", here):
            found = label_problem(name)
            problems.problem(_key(here, "name"), "Namespace name " + found if found else None)
            if not found:
                problems.once(first, name, index, _key(here, "name"), path,
                              "Namespace %s is already listed as {first}: merge the two entries" % name)
        problems.labels(entry.get("labels"), _key(here, "labels"))
        authorization = entry.get("authorization")
        if problems.mapping(authorization, _key(here, "authorization"), NAMESPACE_AUTHORIZATION_KEYS):
            _check_bindings(problems, authorization.get("bindings"), _key(_key(here, "authorization"), "bindings"))
        _check_quota(problems, entry.get("resourceQuota"), _key(here, "resourceQuota"))
        _check_limit_range(problems, entry.get("limitRange"), _key(here, "limitRange"))


def validate_spec(spec, path="spec"):
    """Every problem of a ClusterPolicy spec, as "<path>: <problem>"; [] when valid.
    A spec that is null or absent is an empty one (it selects every cluster and asks for nothing)."""
    problems = _Problems()
    if not problems.mapping(spec, path, SPEC_KEYS):
        return list(problems)
    selector = spec.get("selector")
    problems.labels(selector, _key(path, "selector"))
    _check_expressions(problems, spec.get("matchExpressions"), _key(path, "matchExpressions"), "key",
                       label_key_problem, OPERATORS)
    authorization = spec.get("authorization")
    if problems.mapping(authorization, _key(path, "authorization"), AUTHORIZATION_KEYS):
        _check_bindings(problems, authorization.get("clusterBindings"),
                        _key(_key(path, "authorization"), "clusterBindings"))
    _check_namespaces(problems, spec.get("namespaces"), _key(path, "namespaces"))
    return list(problems)


def validate(policy):
    """Every problem of a whole ClusterPolicy object (apiVersion, kind,
    metadata.name as a DNS-1123 subdomain, metadata.labels, spec), as
    "<path>: <problem>"; [] when valid. Other metadata (what the server adds)
    and status are not checked."""
    problems = _Problems()
    if not isinstance(policy, dict):
        problems.add("(policy)", "must be a mapping, not %s" % _type_name(policy))
        return list(problems)
    for key in policy:
        if key not in OBJECT_KEYS:
            problems.add(_key("", key).lstrip("."), "unknown key %r (known keys: %s)" % (key, ", ".join(OBJECT_KEYS)))
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
            _quantities_as_text(quota.get("hard"))
        limit_range = entry.get("limitRange")
        for limit in (limit_range.get("limits") or []) if isinstance(limit_range, dict) else []:
            for field in LIMIT_KEYS:
                if field != "type" and isinstance(limit, dict):
                    _quantities_as_text(limit.get(field))
    return spec


def _quantities_as_text(mapping):
    if isinstance(mapping, dict):
        for key, value in mapping.items():
            if isinstance(value, int) and not isinstance(value, bool):
                mapping[key] = str(value)

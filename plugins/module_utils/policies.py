# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster Policies, the pure half: which policies select a replica, the
objects they ask for there, and what the replica refuses (docs/policies.md).

A ClusterPolicy (multicluster.coreos.com/v1, in the directory) selects
clusters by the labels of their Cluster objects and asks for Namespaces,
ClusterRoleBindings, RoleBindings, ResourceQuotas and LimitRanges on them.
Every object gets a name derived from its policy (``clusterpolicy:<policy>:
<clusterRole>`` for bindings, ``clusterpolicy.<policy>`` for a quota or a
limit range), so two policies never write one object, except a Namespace two
policies name: it is one object, wanted while any selected policy wants it,
and the annotation ``multicluster.coreos.com/policies`` lists them. Labels
two policies set differently on one Namespace are set by neither, and both
policies report the conflict.

The replica bounds what the directory may grant: a binding to a ClusterRole
outside its allowlist is refused (and reported), the rest of the policy
applies. Every Namespace the syncer holds gets a RoleBinding
``directory-sync-inspect`` granting the agent ``list`` in it, so that it can
tell whether a Namespace no policy wants any more holds anything but what
the syncer put there (delete) or not (release).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from decimal import InvalidOperation

from ansible_collections.coreos.multicluster.plugins.module_utils import policy_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.kinds import KINDS, REGISTRY_GROUP, display

POLICIES_ANNOTATION = REGISTRY_GROUP + "/policies"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = RBAC_GROUP + "/v1"
DEFAULT_ROLES = ("view", "edit", "admin")
INSPECT_ROLE = "tectonic-directory-sync-inspect"
INSPECT_BINDING = "directory-sync-inspect"
AGENT_NAMESPACE, AGENT_ACCOUNT = "tectonic-system", "directory-sync"

# the replica's own settings (ConfigMap tectonic-system/directory-sync-config, written by the registry role)
SETTINGS_CONFIG_MAP = "directory-sync-config"
SETTINGS_NAMESPACE = "tectonic-system"

APPLIED, CONFLICT, REFUSED, FAILED, INVALID, NOT_SELECTED, DISABLED = (
    "applied", "conflict", "refused", "failed", "invalid", "not selected", "disabled")

NAMESPACE, CRB, RB, QUOTA, LIMITS = (KINDS[k] for k in (
    "Namespace", "ClusterRoleBinding", "RoleBinding", "ResourceQuota", "LimitRange"))
TARGETS = (NAMESPACE, CRB, RB, QUOTA, LIMITS)  # creates in this order, deletes in reverse


# --- settings -------------------------------------------------------------------------------------

class Settings(object):
    """What this replica lets the directory's policies do."""

    def __init__(self, enabled=True, roles=DEFAULT_ROLES):
        self.enabled = bool(enabled)
        self.roles = tuple(roles)

    @classmethod
    def from_data(cls, data):
        """From the settings ConfigMap's data (None: the defaults). Raises ValueError on bad content."""
        if data is None:
            return cls()
        enabled = str(data.get("policies", "enabled")).strip().lower()
        if enabled not in ("enabled", "disabled"):
            raise ValueError("key 'policies' is %r, not 'enabled' or 'disabled'" % data.get("policies"))
        roles = DEFAULT_ROLES
        if data.get("policyRoles") not in (None, ""):
            try:
                roles = json.loads(data["policyRoles"])
            except ValueError:
                raise ValueError("key 'policyRoles' is not a JSON list of ClusterRole names") from None
            if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
                raise ValueError("key 'policyRoles' is not a JSON list of ClusterRole names")
        return cls(enabled == "enabled", roles)


# --- selection ---------------------------------------------------------------------------------------

def _requirement(expression, labels):
    key, operator = expression.get("key"), expression.get("operator")
    values = expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def selects(spec, labels):
    """True when a policy spec selects a cluster with these labels: every
    selector label equal, and every matchExpressions requirement met (an
    empty or absent selector selects every cluster)."""
    labels = labels or {}
    spec = spec or {}
    return (all(labels.get(k) == v for k, v in (spec.get("selector") or {}).items())
            and all(_requirement(e, labels) for e in spec.get("matchExpressions") or []))


# --- names and objects ------------------------------------------------------------------------------------

def binding_name(policy, role):
    """The name of a policy's binding to a ClusterRole (policy names hold no ':')."""
    return "clusterpolicy:%s:%s" % (policy, role)


def limits_name(policy):
    """The name of a policy's ResourceQuota and LimitRange in a namespace."""
    return "clusterpolicy.%s" % policy


def _subjects(entry):
    subjects = [{"kind": "User", "apiGroup": RBAC_GROUP, "name": u} for u in entry.get("users") or []]
    subjects += [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": g} for g in entry.get("groups") or []]
    subjects += [{"kind": "ServiceAccount", "name": sa.get("name"), "namespace": sa.get("namespace")}
                 for sa in entry.get("serviceAccounts") or []]
    return subjects


def _binding(kind, name, namespace, role, subjects, policy):
    meta = {"name": name, "annotations": {POLICIES_ANNOTATION: policy}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": RBAC_API_VERSION, "kind": kind.kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role}, "subjects": subjects}


def inspect_binding(namespace):
    """The RoleBinding that lets the agent list what a Namespace it holds contains."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "RoleBinding",
            "metadata": {"name": INSPECT_BINDING, "namespace": namespace},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": INSPECT_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": AGENT_ACCOUNT, "namespace": AGENT_NAMESPACE}]}


def _ref(kind, namespace, name):
    return "%s %s" % (kind.kind, display(namespace, name))


class Report(object):
    """What happened to each policy on this replica."""

    def __init__(self):
        self.items = {}

    def policy(self, name, state=None):
        entry = self.items.setdefault(name, {"state": APPLIED, "objects": [], "conflicts": [], "refused": [],
                                             "failed": []})
        if state is not None:
            entry["state"] = state
        return entry

    def add(self, names, what, ref, reason):
        for name in names:
            self.policy(name)[what].append({"object": ref, "reason": reason})

    def finish(self):
        """Sorted lists and each policy's state (the worst of what happened)."""
        for entry in self.items.values():
            for what in ("objects", "conflicts", "refused", "failed"):
                if what in entry:
                    entry[what] = sorted(entry[what], key=lambda x: json.dumps(x, sort_keys=True))
            if entry["state"] in (APPLIED, CONFLICT, REFUSED, FAILED):
                for state, what in ((FAILED, "failed"), (REFUSED, "refused"), (CONFLICT, "conflicts")):
                    if entry.get(what):
                        entry["state"] = state
                        break
        return self.items


def materialise(policies, cluster_name, directory_clusters, settings, role_exists, held_namespaces):
    """What the directory's policies ask of this replica.

    policies: the ClusterPolicies read from the directory; cluster_name: this
    replica's name; directory_clusters: the directory's Clusters (for this
    replica's labels); settings: Settings; role_exists(name): whether an
    allowlisted ClusterRole exists on the replica (asked once per role a
    valid, selected policy binds); held_namespaces: the
    names of the Namespaces the syncer holds there.

    Returns {"desired": {Kind: [objects, unmarked]}, "wanted_by": {(Kind,
    namespace, name): [policy names]}, "report": Report}. The caller checked
    that the replica's Cluster is in the directory."""
    labels = {}
    for obj in directory_clusters:
        if (obj.get("metadata") or {}).get("name") == cluster_name:
            labels = (obj.get("metadata") or {}).get("labels") or {}
    report = Report()
    roles = {}

    def known_role(role):
        if role not in roles:
            roles[role] = bool(role_exists(role))
        return roles[role]

    objects = {}       # (Kind, namespace, name) -> object
    wanted_by = {}     # the same keys -> [policy names]
    ns_labels = {}     # namespace -> {label: {value: [policies]}}

    def want(kind, obj, policy):
        meta = obj["metadata"]
        key = (kind.kind, meta.get("namespace") or "", meta["name"])
        objects.setdefault(key, obj)
        wanted_by.setdefault(key, [])
        if policy not in wanted_by[key]:
            wanted_by[key].append(policy)

    def bind(kind, namespace, entry, policy):
        role = entry.get("clusterRole")
        name = binding_name(policy, role)
        ref = _ref(kind, namespace, name)
        if role not in settings.roles:
            report.add([policy], "refused", ref, "ClusterRole %s is not in this replica's allowlist (%s)"
                       % (role, ", ".join(settings.roles) or "empty"))
        elif not known_role(role):
            report.add([policy], "failed", ref, "ClusterRole %s does not exist on this cluster" % role)
        else:
            want(kind, _binding(kind, name, namespace, role, _subjects(entry), policy), policy)

    for policy in sorted(policies, key=lambda p: (p.get("metadata") or {}).get("name") or ""):
        name = (policy.get("metadata") or {}).get("name")
        problems = policy_spec.validate(policy)
        if problems:
            report.policy(name, INVALID)["problems"] = problems
            continue
        spec = policy.get("spec") or {}
        if not selects(spec, labels):
            report.items[name] = {"state": NOT_SELECTED}
            continue
        report.policy(name)
        for entry in (spec.get("authorization") or {}).get("clusterBindings") or []:
            bind(CRB, "", entry, name)
        for entry in spec.get("namespaces") or []:
            ns = entry["name"]
            want(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, name)
            for key, value in (entry.get("labels") or {}).items():
                ns_labels.setdefault(ns, {}).setdefault(key, {}).setdefault(value, []).append(name)
            for binding in (entry.get("authorization") or {}).get("bindings") or []:
                bind(RB, ns, binding, name)
            if entry.get("resourceQuota") is not None:
                want(QUOTA, {"apiVersion": "v1", "kind": "ResourceQuota",
                             "metadata": {"name": limits_name(name), "namespace": ns,
                                          "annotations": {POLICIES_ANNOTATION: name}},
                             "spec": copy.deepcopy(entry["resourceQuota"])}, name)
            if entry.get("limitRange") is not None:
                want(LIMITS, {"apiVersion": "v1", "kind": "LimitRange",
                              "metadata": {"name": limits_name(name), "namespace": ns,
                                           "annotations": {POLICIES_ANNOTATION: name}},
                              "spec": copy.deepcopy(entry["limitRange"])}, name)

    for key, obj in objects.items():
        if key[0] != "Namespace":
            continue
        ns = key[2]
        owners = wanted_by[key]
        obj["metadata"]["annotations"] = {POLICIES_ANNOTATION: ",".join(sorted(owners))}
        chosen = {}
        for label, values in sorted((ns_labels.get(ns) or {}).items()):
            if len(values) == 1:
                chosen[label] = next(iter(values))
                continue
            who = sorted(p for ps in values.values() for p in ps)
            report.add(sorted(set(who)), "conflicts", _ref(NAMESPACE, "", ns), "label %s: %s (set by neither)" % (
                label, "; ".join("%r by %s" % (v, ", ".join(sorted(ps))) for v, ps in sorted(values.items()))))
        if chosen:
            obj["metadata"]["labels"] = chosen

    # every Namespace the syncer holds or is about to create gets the inspect binding
    for ns in sorted(set(k[2] for k in objects if k[0] == "Namespace") | set(held_namespaces)):
        key = ("RoleBinding", ns, INSPECT_BINDING)
        objects[key] = inspect_binding(ns)
        wanted_by.setdefault(key, [])

    desired = dict((kind.kind, []) for kind in TARGETS)
    for key in sorted(objects):
        desired[key[0]].append(objects[key])
    return {"desired": desired, "wanted_by": wanted_by, "report": report}


def not_applied(policies, state, reason):
    """A Report in which no policy applied (policies off, or no way to apply them)."""
    report = Report()
    for policy in policies or []:
        name = (policy.get("metadata") or {}).get("name")
        report.items[name] = {"state": state, "reason": reason}
    return report


# --- quantities ------------------------------------------------------------------------------------------

_QUANTITY_PATHS = {"ResourceQuota": (("spec", "hard"),),
                   "LimitRange": (("spec", "limits", "[]", "max"), ("spec", "limits", "[]", "min"),
                                  ("spec", "limits", "[]", "default"), ("spec", "limits", "[]", "defaultRequest"),
                                  ("spec", "limits", "[]", "maxLimitRequestRatio"))}


def _same_quantity(a, b):
    try:
        return policy_spec.parse_quantity(a) == policy_spec.parse_quantity(b)
    except (ValueError, TypeError, InvalidOperation):
        return False


def _align(want, live, path):
    if not path:
        if isinstance(want, dict) and isinstance(live, dict):
            for key, value in want.items():
                have = live.get(key)
                if isinstance(value, str) and isinstance(have, str) and value != have and _same_quantity(value, have):
                    want[key] = have
        return
    step, rest = path[0], path[1:]
    if step == "[]":
        if isinstance(want, list) and isinstance(live, list):
            for w, l in zip(want, live):
                _align(w, l, rest)
    elif isinstance(want, dict) and isinstance(live, dict):
        _align(want.get(step), live.get(step), rest)


def align_quantities(want, live):
    """*want* with every quantity the server holds in another spelling of the
    same amount ("1000m" stored as "1", "0.5Gi" as "512Mi") spelt as the
    server holds it, so that a canonical spelling is no difference."""
    paths = _QUANTITY_PATHS.get(want.get("kind"))
    if not paths or live is None:
        return want
    want = copy.deepcopy(want)
    for path in paths:
        _align(want, live, path)
    return want

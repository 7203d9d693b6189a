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

The replica bounds what the directory may ask (Settings, from its ConfigMap
``tectonic-system/directory-sync-config``; policies/bounds.py has the names
every replica refuses): a ClusterRole outside the replica's cluster-wide or
in-namespace allowlist, a ``system:`` user or group it does not allow by
name, a ServiceAccount outside the policy's own namespaces, a namespace entry
naming a protected namespace (nothing at all is written into it) and a
reserved namespace label key are each refused and reported, and the rest of
the policy applies. Every Namespace the syncer holds gets a RoleBinding
``directory-sync-inspect`` granting the agent what it may do only there
(list its content, so that it can tell whether a Namespace no policy wants
any more holds anything but what the syncer put there (delete) or not
(release); write the policies' quota and limit range; bind the in-namespace
allowlist), and none other.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.coreos.multicluster.plugins.module_utils.policies import spec as policy_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.bounds import (
    LABEL_REASON, PROTECTED_NAMESPACES, PROTECTED_REASON, SERVICE_ACCOUNT_REASON, SYSTEM_SUBJECT_REASON, is_reserved_label_key, is_system_subject)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import KINDS, REGISTRY_GROUP, display
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.status import INVALID, NOT_SELECTED, Report

POLICIES_ANNOTATION = REGISTRY_GROUP + "/policies"
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = RBAC_GROUP + "/v1"
# the agent's own identity: mc_directory_sync applies policy objects as it (impersonation), so its RBAC bounds both
AGENT_USER = "system:serviceaccount:%s:%s" % (names.SYSTEM_NAMESPACE, names.AGENT_ACCOUNT)

# the replica's own settings (ConfigMap tectonic-system/directory-sync-config, written by the registry role)

NAMESPACE_KIND, CRB, RB, QUOTA, LIMITS = (KINDS[k] for k in (
    "Namespace", "ClusterRoleBinding", "RoleBinding", "ResourceQuota", "LimitRange"))
TARGETS = (NAMESPACE_KIND, CRB, RB, QUOTA, LIMITS)  # creates in this order, deletes in reverse


# --- settings -------------------------------------------------------------------------------------

class Settings(object):
    """What this replica lets the directory's policies do. Every list is empty
    unless the ConfigMap gives it (a missing setting allows nothing)."""

    # ConfigMap key -> attribute: JSON lists of names
    LISTS = (("clusterRoles", "cluster_roles"), ("namespaceRoles", "namespace_roles"),
             ("protectedNamespaces", "protected_namespaces"), ("allowedSubjects", "allowed_subjects"),
             ("allowedLabelKeys", "allowed_label_keys"))

    def __init__(self, enabled=True, cluster_roles=(), namespace_roles=(), protected_namespaces=(),
                 allowed_subjects=(), allowed_label_keys=()):
        self.enabled = bool(enabled)
        self.cluster_roles = tuple(cluster_roles)
        self.namespace_roles = tuple(namespace_roles)
        self.protected_namespaces = tuple(protected_namespaces)
        self.allowed_subjects = tuple(allowed_subjects)
        self.allowed_label_keys = tuple(allowed_label_keys)

    @property
    def roles(self):
        """Every ClusterRole policies may bind somewhere here (cluster-wide ones first)."""
        return self.cluster_roles + tuple(r for r in self.namespace_roles if r not in self.cluster_roles)

    def protected(self, namespace):
        return namespace in PROTECTED_NAMESPACES or namespace in self.protected_namespaces

    @classmethod
    def from_data(cls, data):
        """From the settings ConfigMap's data. Raises ValueError on bad content."""
        enabled = str(data.get("policies", "enabled")).strip().lower()
        if enabled not in ("enabled", "disabled"):
            raise ValueError("key 'policies' is %r, not 'enabled' or 'disabled'" % data.get("policies"))
        lists = {}
        for key, attribute in cls.LISTS:
            text = data.get(key)
            if text in (None, ""):
                continue
            try:
                found = json.loads(text)
            except ValueError:
                found = None
            if not isinstance(found, list) or not all(isinstance(r, str) and r for r in found):
                raise ValueError("key %r is not a JSON list of names" % key)
            lists[attribute] = found
        return cls(enabled == "enabled", **lists)


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
    return "%s:%s:%s" % (names.POLICY_OBJECT_PREFIX, policy, role)


def limits_name(policy):
    """The name of a policy's ResourceQuota and LimitRange in a namespace."""
    return "%s.%s" % (names.POLICY_OBJECT_PREFIX, policy)


def _subjects(entry, settings, own_namespaces):
    """(the subjects of a binding entry this replica allows, [(subject, why refused)])."""
    subjects, refused = [], []
    for field, kind, what in (("users", "User", "user"), ("groups", "Group", "group")):
        for name in entry.get(field) or []:
            if is_system_subject(name) and name not in settings.allowed_subjects:
                refused.append(("%s %s" % (kind, name), SYSTEM_SUBJECT_REASON % what))
            else:
                subjects.append({"kind": kind, "apiGroup": RBAC_GROUP, "name": name})
    for account in entry.get("serviceAccounts") or []:
        namespace, name = account.get("namespace"), account.get("name")
        if namespace not in own_namespaces:
            refused.append(("ServiceAccount %s/%s" % (namespace, name), SERVICE_ACCOUNT_REASON % namespace))
        else:
            subjects.append({"kind": "ServiceAccount", "name": name, "namespace": namespace})
    return subjects, refused


def _binding(kind, name, namespace, role, subjects, policy):
    meta = {"name": name, "annotations": {POLICIES_ANNOTATION: policy}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": RBAC_API_VERSION, "kind": kind.kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role}, "subjects": subjects}


def inspect_binding(namespace):
    """The RoleBinding that lets the agent list what a Namespace it holds contains."""
    return {"apiVersion": RBAC_API_VERSION, "kind": "RoleBinding",
            "metadata": {"name": names.INSPECT_BINDING, "namespace": namespace},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": names.INSPECT_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": names.AGENT_ACCOUNT, "namespace": names.SYSTEM_NAMESPACE}]}


def create_order(key):
    """Sort key of a binding's (namespace, name) for creation: the agent's
    inspect binding in a namespace first, as it grants the ``bind`` that the
    policies' bindings there need."""
    return (key[0], key[1] != names.INSPECT_BINDING, key[1])


def _ref(kind, namespace, name):
    return "%s %s" % (kind.kind, display(namespace, name))


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

    def bind(kind, namespace, entry, policy, own_namespaces):
        role = entry.get("clusterRole")
        name = binding_name(policy, role)
        ref = _ref(kind, namespace, name)
        allowed, where = ((settings.cluster_roles, "cluster-wide") if kind is CRB
                          else (settings.namespace_roles, "inside namespaces"))
        if role not in allowed:
            report.add([policy], "refused", ref, "ClusterRole %s is not in this replica's allowlist of roles "
                       "policies may bind %s (%s)" % (role, where, ", ".join(allowed) or "empty"))
            return
        subjects, refused = _subjects(entry, settings, own_namespaces)
        for subject, why in refused:
            report.add([policy], "refused", ref, "subject %s: %s" % (subject, why))
        if not subjects:
            return
        if not known_role(role):
            report.add([policy], "failed", ref, "ClusterRole %s does not exist on this cluster" % role)
        else:
            want(kind, _binding(kind, name, namespace, role, subjects, policy), policy)

    for policy in sorted(policies, key=lambda p: (p.get("metadata") or {}).get("name") or ""):
        name = (policy.get("metadata") or {}).get("name")
        problems = policy_spec.validate(policy)
        if problems:
            report.policy(name, INVALID).problems = problems
            continue
        spec = policy.get("spec") or {}
        if not selects(spec, labels):
            report.settle(name, NOT_SELECTED)
            continue
        report.policy(name)
        entries = spec.get("namespaces") or []
        own = set(entry["name"] for entry in entries if not settings.protected(entry["name"]))
        for entry in (spec.get("authorization") or {}).get("clusterBindings") or []:
            bind(CRB, "", entry, name, own)
        for entry in entries:
            ns = entry["name"]
            if settings.protected(ns):
                report.add([name], "refused", _ref(NAMESPACE_KIND, "", ns), "%s %s%s" % (
                    ns, PROTECTED_REASON, "" if ns in PROTECTED_NAMESPACES else " (protected by this replica)"))
                continue
            want(NAMESPACE_KIND, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, name)
            for key, value in (entry.get("labels") or {}).items():
                if is_reserved_label_key(key) and key not in settings.allowed_label_keys:
                    report.add([name], "refused", _ref(NAMESPACE_KIND, "", ns), "label %s: %s, unless this replica "
                               "allows the key by name" % (key, LABEL_REASON))
                    continue
                ns_labels.setdefault(ns, {}).setdefault(key, {}).setdefault(value, []).append(name)
            for binding in (entry.get("authorization") or {}).get("bindings") or []:
                bind(RB, ns, binding, name, own)
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
            report.add(sorted(set(who)), "conflicts", _ref(NAMESPACE_KIND, "", ns), "label %s: %s (set by neither)" % (
                label, "; ".join("%r by %s" % (v, ", ".join(sorted(ps))) for v, ps in sorted(values.items()))))
        if chosen:
            obj["metadata"]["labels"] = chosen

    # every Namespace the syncer holds or is about to create gets the inspect binding (never one Kubernetes or
    # the registry own, even should one carry the syncer's mark)
    for ns in sorted((set(k[2] for k in objects if k[0] == "Namespace") | set(held_namespaces))
                     - set(PROTECTED_NAMESPACES)):
        key = ("RoleBinding", ns, names.INSPECT_BINDING)
        objects[key] = inspect_binding(ns)
        wanted_by.setdefault(key, [])

    desired = dict((kind.kind, []) for kind in TARGETS)
    for key in sorted(objects):
        desired[key[0]].append(objects[key])
    return {"desired": desired, "wanted_by": wanted_by, "report": report}

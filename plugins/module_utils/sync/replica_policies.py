# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster Policies, the replica's half of the API work: its settings (no
settings ConfigMap: no policies), its own name, the ClusterRoles it has, and what to do with a Namespace no policy
wants any more (delete it when it holds only what the syncer and Kubernetes
put there, else release it). The sync engine (sync/engine.py) calls these;
the planning is policies/plan.py's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.policies import plan as policy_plan
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import display
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.bounds import PROTECTED_NAMESPACES
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import installed_name
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    SYNCED_FROM_ANNOTATION, SYNCED_KEYS_ANNOTATION, is_held)
from ansible_collections.coreos.multicluster.plugins.module_utils import names

# what Kubernetes puts in every Namespace: never a reason to keep one
_TOKEN_TYPE = "kubernetes.io/service-account-token"


class PoliciesUnavailable(Exception):
    """Policies cannot be applied on this replica now (the reason): nothing of theirs is touched."""


def read_settings(replica):
    """The replica's policy_plan.Settings (ConfigMap tectonic-system/directory-sync-config).
    Without it, or when the syncer may not read it, or when it cannot be
    parsed: PoliciesUnavailable (policies are not applied, and nothing of
    theirs is changed)."""
    where = display(names.SYSTEM_NAMESPACE, names.SETTINGS_CONFIG_MAP)
    try:
        found = replica.get("ConfigMap", names.SETTINGS_CONFIG_MAP, names.SYSTEM_NAMESPACE)
    except MulticlusterError as exc:
        if (exc.details or {}).get("status") != 403:
            raise
        raise PoliciesUnavailable("the replica's policy settings cannot be read (%s): policies are not applied "
                                  "here" % exc) from None
    if found is None:
        raise PoliciesUnavailable("cluster '%s' has no ConfigMap %s, the replica's policy settings (written by the "
                                  "coreos.multicluster.registry role): policies are not applied here, and nothing "
                                  "of theirs is changed" % (replica.label, where))
    try:
        return policy_plan.Settings.from_data(dict(found.get("data") or {}))
    except ValueError as exc:
        raise PoliciesUnavailable("ConfigMap %s on cluster '%s': %s" % (where, replica.label, exc)) from None


def own_name(replica, directory_clusters):
    """This replica's name (tectonic-config clusterName), checked to be a Cluster of the directory."""
    name = installed_name(replica).name
    if not name:
        raise PoliciesUnavailable("cluster '%s' has no ConfigMap tectonic-system/tectonic-config with its "
                                  "clusterName (install the registry with coreos.multicluster.registry)"
                                  % replica.label)
    if not any((c.get("metadata") or {}).get("name") == name for c in directory_clusters):
        raise PoliciesUnavailable("the directory has no Cluster %s (this replica's clusterName): no policy "
                                  "selects it, and none of their objects is changed" % name)
    return name


def role_exists(replica, name):
    """True when ClusterRole *name* exists on the replica, or when the replica
    does not let the syncer read it (HTTP 403: the write then tells, and its
    refusal is reported with the binding)."""
    try:
        return replica.get("ClusterRole", name) is not None
    except MulticlusterError as exc:
        if (exc.details or {}).get("status") != 403:
            raise
        return True


def without_foreign_inspection(replica, plan, held_namespaces):
    """Drop every object planned inside a wanted Namespace that exists on the
    replica without the syncer's mark (made by hand: the Namespace is reported
    as a conflict): the agent is given nothing there, so the policies'
    RoleBindings, quota and limit range there are refused and reported."""
    desired, report, wanted_by = plan["desired"], plan["report"], plan["wanted_by"]
    foreign = set()
    for obj in desired["Namespace"]:
        name = obj["metadata"]["name"]
        if name in held_namespaces:
            continue
        live = replica.get("Namespace", name)
        if live is not None and not is_held(live):
            foreign.add(name)
    for kind in (policy_plan.RB, policy_plan.QUOTA, policy_plan.LIMITS):
        kept = []
        for obj in desired[kind.kind]:
            namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
            if namespace not in foreign:
                kept.append(obj)
                continue
            owners = wanted_by.pop((kind.kind, namespace, name), [])
            report.add(owners, "refused", "%s %s" % (kind.kind, display(namespace, name)),
                       "Namespace %s was not made by the syncer (it exists without its mark): policies write "
                       "nothing into it" % namespace)
        desired[kind.kind] = kept
    return plan


def _kubernetes_own(obj):
    """True for what Kubernetes puts in every Namespace."""
    meta = obj.get("metadata") or {}
    kind, name = obj.get("kind"), meta.get("name")
    if kind == "ServiceAccount" and name == "default":
        return True
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return True
    if kind == "Secret" and obj.get("type") == _TOKEN_TYPE:
        return (meta.get("annotations") or {}).get("kubernetes.io/service-account.name") == "default"
    return False


def leftovers(replica, namespace):
    """'Kind name' of the objects in *namespace* that neither the syncer nor
    Kubernetes put there. Raises MulticlusterError when a type cannot be listed."""
    return ["%s %s" % (obj.get("kind"), (obj.get("metadata") or {}).get("name"))
            for obj in replica.namespace_contents(namespace) if not is_held(obj) and not _kubernetes_own(obj)]


def remove_namespace(replica, have):
    """A Namespace no policy wants: ("deleted", None) when it holds nothing
    but what the syncer and Kubernetes put there, else ("released", reason):
    the mark is removed, the object kept (with its inspect binding gone)."""
    name = have["metadata"]["name"]
    try:
        found = leftovers(replica, name)
        reason = None if not found else "it holds %s%s" % (
            ", ".join(found[:5]), " and %d more" % (len(found) - 5) if len(found) > 5 else "")
    except MulticlusterError as exc:
        reason = "its content cannot be checked (%s)" % exc
    if name in PROTECTED_NAMESPACES:  # carrying the mark by mistake: never deleted
        reason = "it is a protected namespace"
    if reason is None:
        replica.delete("Namespace", name)
        return "deleted", None
    released = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name, "labels": {names.MANAGED_BY_LABEL: None},  # None: the mark must be absent
        "annotations": dict.fromkeys((SYNCED_FROM_ANNOTATION, SYNCED_KEYS_ANNOTATION, policy_plan.POLICIES_ANNOTATION))}}
    # gone meanwhile (a 409, then deleted): nothing to release, and never made again
    apply.converge(replica, "Namespace", None, name, lambda live: apply.Leave() if live is None else released,
                   live=have, action="release")
    replica.delete("RoleBinding", names.INSPECT_BINDING, name)
    return "released", reason

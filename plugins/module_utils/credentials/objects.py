# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The objects the directory holds for one replica, and how they show in
results and diffs (never a token: only its sha256 prefix).

For each replica the directory holds a ServiceAccount ``<replica>`` in
``tectonic-multi-cluster``, a ClusterRoleBinding ``<replica>-view-clusters``
to ClusterRole ``tectonic-view-clusters``, and one credential: the anchor
Secret ``<replica>-credential-anchor`` its TokenRequest tokens are bound to,
or a long-lived token Secret ``<replica>-credential-token``.

And its health (registry/health.py): the heartbeat Lease ``<replica>`` in
``tectonic-multi-cluster``, which its Role and RoleBinding ``<replica>-heartbeat``
let the account get and update (that Lease only), and the ClusterRole and
ClusterRoleBinding ``<replica>-cluster-status``, which let it patch
the status of its own Cluster (that Cluster only). Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import REGISTRY_GROUP, display, key_of
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import hash_token
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.tokens import (
    SA_NAME_ANNOTATION, SA_TOKEN_TYPE, SA_UID_ANNOTATION, token_facts)
from ansible_collections.coreos.multicluster.plugins.module_utils import names


NEW_TOKEN = "(a new token)"
NEW_OBJECT = "(new)"


def object_names(replica):
    """Names of the objects the directory holds for one replica."""
    return {
        "service_account": replica,
        "binding": replica + "-view-clusters",
        "anchor": replica + "-credential-anchor",
        "token_secret": replica + "-credential-token",
        "lease": replica,
        "heartbeat_role": replica + "-heartbeat",
        "status_role": replica + "-cluster-status",
    }


def replica_labels(replica):
    """The labels of every object the directory holds for *replica* (what makes one the collection's)."""
    return {names.PART_OF_LABEL: names.PART_OF, names.REPLICA_LABEL: replica}


def desired_service_account(replica):
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": replica, "namespace": names.CREDENTIALS_NAMESPACE, "labels": replica_labels(replica)}}


def desired_binding(replica):
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": object_names(replica)["binding"], "labels": replica_labels(replica)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": names.VIEW_CLUSTERS_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": replica, "namespace": names.CREDENTIALS_NAMESPACE}],
    }


def desired_lease(replica):
    """The replica's heartbeat, created empty (its agent fills holderIdentity and renewTime)."""
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": replica, "namespace": names.HEARTBEAT_NAMESPACE, "labels": replica_labels(replica)},
            "spec": {}}


def _grant(kind, name, namespace, rules, replica):
    """A Role or ClusterRole named *name* (namespace None: cluster-wide) and its binding to the replica's account."""
    meta = {"name": name, "labels": replica_labels(replica)}
    if namespace:
        meta["namespace"] = namespace
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": rules}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind + "Binding", "metadata": dict(meta),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": replica, "namespace": names.CREDENTIALS_NAMESPACE}]}
    return role, binding


def desired_health_grants(replica):
    """[(role, binding)]: get and update its own Lease; patch its own Cluster's status. Nothing else:
    not its Cluster's spec or labels, not another replica's Lease or status (resourceNames)."""
    own = object_names(replica)
    return [
        _grant("Role", own["heartbeat_role"], names.HEARTBEAT_NAMESPACE,
               [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [own["lease"]],
                 "verbs": ["get", "update"]}], replica),
        _grant("ClusterRole", own["status_role"], None,
               [{"apiGroups": [REGISTRY_GROUP], "resources": ["clusters/status"], "resourceNames": [replica],
                 "verbs": ["patch"]}], replica),
    ]


def desired_anchor(replica):
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": object_names(replica)["anchor"], "namespace": names.CREDENTIALS_NAMESPACE,
                         "labels": replica_labels(replica),
                         "annotations": {"multicluster.coreos.com/purpose":
                                         "tokens of replica %s are bound to this Secret; deleting it revokes them"
                                         % replica}}}


def desired_token_secret(replica, service_account_uid=None):
    annotations = {SA_NAME_ANNOTATION: replica}
    if service_account_uid:
        annotations[SA_UID_ANNOTATION] = service_account_uid
    return {"apiVersion": "v1", "kind": "Secret", "type": SA_TOKEN_TYPE,
            "metadata": {"name": object_names(replica)["token_secret"], "namespace": names.CREDENTIALS_NAMESPACE,
                         "labels": replica_labels(replica), "annotations": annotations}}


def _subject(entry):
    return "%s %s/%s" % (entry.get("kind"), entry.get("namespace") or "", entry.get("name"))


def binding_view(obj):
    if obj is None:
        return None
    ref = obj.get("roleRef") or {}
    return {"name": (obj.get("metadata") or {}).get("name"),
            "role_ref": "%s %s" % (ref.get("kind"), ref.get("name")),
            "subjects": sorted(_subject(s) for s in obj.get("subjects") or [] if isinstance(s, dict))}


def grant_view(obj):
    """'Kind namespace/name' of a Role, ClusterRole or binding, with its rules or its role and subjects."""
    if obj is None:
        return None
    view = {"object": "%s %s" % (obj.get("kind"), display(*key_of(obj)))}
    if obj.get("kind", "").endswith("Binding"):
        view.update(dict((k, v) for k, v in binding_view(obj).items() if k != "name"))
    else:
        view["rules"] = [dict((k, sorted(rule.get(k) or [])) for k in ("apiGroups", "resources", "resourceNames", "verbs"))
                         for rule in obj.get("rules") or [] if isinstance(rule, dict)]
    return view


def object_view(obj):
    """Name and uid of an object (the uid changes when it is replaced)."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    view = {"name": meta.get("name"), "uid": meta.get("uid") or NEW_OBJECT}
    if meta.get("namespace"):
        view["namespace"] = meta["namespace"]
    if obj.get("type"):
        view["type"] = obj["type"]
    return view


def as_new(obj):
    """An object a check-mode (dry) run would create: shown with uid '(new)'."""
    meta = dict(obj.get("metadata") or {}, uid=NEW_OBJECT)
    return dict(obj, metadata=meta)


def credential_view(credential_type, token):
    if token is None:
        return None
    facts = token_facts(token) if token != NEW_TOKEN else {}
    return {"type": credential_type, "token": token if token == NEW_TOKEN else hash_token(token),
            "expires_at": iso_time(facts.get("expires"))}

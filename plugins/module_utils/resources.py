# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure plain Kubernetes objects (the registry's CRD, namespaces, RBAC,
ConfigMap, Deployment) idempotently.

An object is written only when the live one does not already hold every
field of the desired one (``is_subset``), so a second run makes no write
request; the apiserver's defaults on the live object are not differences.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

# kind -> (ClusterClient API attribute, namespaced, method suffix)
KINDS = {
    "CustomResourceDefinition": ("apiext", False, "custom_resource_definition"),
    "Namespace": ("core", False, "namespace"),
    "ClusterRole": ("rbac", False, "cluster_role"),
    "ClusterRoleBinding": ("rbac", False, "cluster_role_binding"),
    "ConfigMap": ("core", True, "config_map"),
    "Secret": ("core", True, "secret"),
    "ServiceAccount": ("core", True, "service_account"),
    "Role": ("rbac", True, "role"),
    "RoleBinding": ("rbac", True, "role_binding"),
    "Deployment": ("apps", True, "deployment"),
}

_SERVER_FIELDS = ("resourceVersion", "uid", "generation", "managedFields", "creationTimestamp", "selfLink")


def ref(obj):
    """'Kind namespace/name' or 'Kind name', for messages and results."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "?")
    if meta.get("namespace"):
        name = meta["namespace"] + "/" + name
    return "%s %s" % (obj.get("kind", "?"), name)


def check_definition(obj):
    kind = obj.get("kind")
    if kind not in KINDS:
        raise MulticlusterError("%s: kind %r is not one this collection manages (%s)"
                                % (ref(obj), kind, ", ".join(sorted(KINDS))))
    meta = obj.get("metadata") or {}
    if not meta.get("name"):
        raise MulticlusterError("a %s definition has no metadata.name" % kind)
    if KINDS[kind][1] and not meta.get("namespace"):
        raise MulticlusterError("%s: a namespaced kind needs metadata.namespace" % ref(obj))
    return obj


def is_subset(desired, live):
    """True when *live* holds every field of *desired* with the same value."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(key in live and is_subset(value, live[key]) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(is_subset(d, l) for d, l in zip(desired, live))
    return desired == live


def normalise(obj):
    """The object without what the server owns (resourceVersion, uid, ...,
    status), kubectl's last-applied annotation and empty labels/annotations:
    the form objects are compared and shown in diffs in."""
    if obj is None:
        return None
    result = copy.deepcopy(obj)
    meta = result.get("metadata") or {}
    for field in _SERVER_FIELDS:
        meta.pop(field, None)
    if meta.get("annotations"):
        meta["annotations"].pop("kubectl.kubernetes.io/last-applied-configuration", None)
    for key in ("labels", "annotations"):
        if key in meta and not meta[key]:
            del meta[key]
    result["metadata"] = meta
    result.pop("status", None)
    return result


def _method(client, obj, verb):
    api, namespaced, suffix = KINDS[obj["kind"]]
    name = "%s_%s%s" % (verb, "namespaced_" if namespaced and verb != "list" else "", suffix)
    if verb == "create" and not namespaced:
        name = "create_" + suffix
    return getattr(getattr(client, api), name)


def read(client, obj):
    meta = obj["metadata"]
    args = [meta["name"]] + ([meta["namespace"]] if KINDS[obj["kind"]][1] else [])
    live = client.read(obj["kind"], _display(obj), _method(client, obj, "read"), *args)
    return client.to_dict(live) if live is not None else None


def _display(obj):
    return ref(obj).split(" ", 1)[1]


def ensure(client, desired):
    """Create *desired* or patch the live object so it holds it; returns
    {'changed', 'before', 'after', 'ref'}."""
    check_definition(desired)
    kind, meta = desired["kind"], desired["metadata"]
    namespaced = KINDS[kind][1]

    def attempt():
        live = read(client, desired)
        before = normalise(live)
        if live is not None and is_subset(_comparable(desired), live):
            return {"changed": False, "before": before, "after": before, "ref": ref(desired)}
        if live is None:
            args = ([meta["namespace"]] if namespaced else []) + [desired]
            written = _method(client, desired, "create")(*args, dry_run=client.dry_run)
        else:
            args = [meta["name"]] + ([meta["namespace"]] if namespaced else []) + [desired]
            written = _method(client, desired, "patch")(*args, dry_run=client.dry_run)
        return {"changed": True, "before": before, "after": normalise(client.to_dict(written)), "ref": ref(desired)}

    return client.write("apply", kind, _display(desired), attempt)


def _comparable(desired):
    """What to compare: the definition without apiVersion/kind (the live
    object reports the served version) and without status."""
    return {k: v for k, v in desired.items() if k not in ("apiVersion", "kind", "status")}


def remove(client, obj):
    """Delete *obj* if it exists; returns {'changed', 'before', 'after', 'ref'}."""
    check_definition(obj)
    live = read(client, obj)
    if live is None:
        return {"changed": False, "before": None, "after": None, "ref": ref(obj)}
    meta = obj["metadata"]
    args = [meta["name"]] + ([meta["namespace"]] if KINDS[obj["kind"]][1] else [])
    client.delete(obj["kind"], _display(obj), _method(client, obj, "delete"), *args, dry_run=client.dry_run)
    return {"changed": True, "before": normalise(live), "after": None, "ref": ref(obj)}

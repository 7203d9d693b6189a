# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure or remove whole object definitions (a manifest: the registry's CRDs,
namespaces, RBAC, ConfigMaps, Deployments) through ClusterClient, deciding
"no change" with compare.plan, and the form objects take in diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import compare
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import (
    MANIFEST_KINDS, UnknownKindError, display, key_of, lookup, ref)

# metadata the server owns: never shown in diffs, never compared
SERVER_FIELDS = ("resourceVersion", "uid", "generation", "managedFields", "creationTimestamp", "selfLink",
                 "deletionTimestamp", "deletionGracePeriodSeconds")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def check_definition(obj):
    """Refuse a definition this collection cannot write; returns it."""
    if not isinstance(obj, dict):
        raise MulticlusterError("a definition is not a mapping but a %s" % type(obj).__name__)
    try:
        kind = lookup(obj.get("kind"))
    except UnknownKindError as exc:
        raise MulticlusterError("%s: %s" % (ref(obj), exc)) from None
    if kind.kind not in MANIFEST_KINDS:  # a create-only kind (TokenReview, TokenRequest)
        raise MulticlusterError("%s: kind %s cannot be stored" % (ref(obj), kind.kind))
    namespace, name = key_of(obj)
    if not name:
        raise MulticlusterError("a %s definition has no metadata.name" % kind.kind)
    if kind.namespaced and not namespace:
        raise MulticlusterError("%s: a namespaced kind needs metadata.namespace" % ref(obj))
    return obj


def view(obj):
    """The object without what the server owns (resourceVersion, uid, ...,
    status), kubectl's last-applied annotation and empty labels/annotations:
    the form objects are shown in diffs and results in."""
    if obj is None:
        return None
    result = copy.deepcopy(obj)
    meta = result.get("metadata") or {}
    for field in SERVER_FIELDS:
        meta.pop(field, None)
    if meta.get("annotations"):
        meta["annotations"].pop(LAST_APPLIED, None)
    for key in ("labels", "annotations"):
        if key in meta and not meta[key]:
            del meta[key]
    result["metadata"] = meta
    result.pop("status", None)
    return result


def _outcome(changed, before, after, obj):
    return {"changed": changed, "before": view(before), "after": view(after), "ref": ref(obj)}


def ensure(client, desired, exact=()):
    """Create *desired*, or patch the live object so it holds the fields it
    sets (replace it when an immutable one differs); no write when it holds
    them already. Returns {changed, before, after, ref}."""
    check_definition(desired)
    kind = lookup(desired["kind"])
    namespace, name = key_of(desired)

    def attempt():
        live = client.get(kind, name, namespace or None)
        action = compare.plan(desired, live, exact, kind.immutable)
        if action is None:
            return _outcome(False, live, live, desired)
        verb, body = action
        if verb == compare.CREATE:
            written = client.create(body)
        elif verb == compare.PATCH:
            written = client.patch(kind, name, body, namespace or None)
        else:  # an immutable field differs: delete, then create (in check mode, only show it)
            client.delete(kind, name, namespace or None)
            written = body if client.check_mode else client.create(body)
        return _outcome(True, live, written, desired)

    return client.transaction("apply", kind, display(namespace, name), attempt)


def remove(client, obj):
    """Delete *obj* if it exists; returns {changed, before, after, ref}. An
    object already being deleted (a Namespace terminating) is no change."""
    check_definition(obj)
    kind = lookup(obj["kind"])
    namespace, name = key_of(obj)
    live = client.get(kind, name, namespace or None)
    if live is None or (live.get("metadata") or {}).get("deletionTimestamp"):
        return _outcome(False, None, None, obj)
    client.delete(kind, name, namespace or None)
    return _outcome(True, live, None, obj)

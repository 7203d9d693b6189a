# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one read-compare-write (converge): every object the collection updates is written through it. Also
ensuring or removing whole object definitions (a manifest: the registry's CRDs, namespaces, RBAC, ConfigMaps,
Deployments), and the form objects take in diffs (view). What is only ever created (a ServiceAccount, create
or get) or replaced whole (a credential's token Secrets) is not compared, and needs no converge."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
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


# what converge() did; a desired_of() may also answer Leave(verb) with a verb of its own ("conflict")
CREATED, UPDATED, REPLACED, UNCHANGED = "created", "updated", "replaced", "unchanged"
UNREAD = object()


class Outcome(collections.namedtuple("Outcome", "verb before after")):
    """What converge() did (verb), the live object it found (before, None when there was none) and the object
    after it (the server's answer to the write, or *before* when nothing was written)."""

    __slots__ = ()

    @property
    def changed(self):
        return self.verb in (CREATED, UPDATED, REPLACED)


class Leave(object):
    """desired_of()'s answer when the object must not be written: converge() returns Outcome(verb, live, live)."""

    def __init__(self, verb=UNCHANGED):
        self.verb = verb


def converge(client, kind, namespace, name, desired_of, exact=(), live=UNREAD, action="apply"):
    """The one read-compare-write of the collection: every object it updates is written through it.

    Reads the live object (the first try takes *live* when the caller has read it already), asks
    desired_of(live) what it must hold (a definition, or Leave(verb) to write nothing: a caller whose field is
    not compared field by field decides that itself, as the sync Secret's kubeconfig, compared as canonical
    text), lets compare.plan decide whether a field the collection owns differs, and writes:
    create; patch, with the RFC 7386 merge patch compare computed, sent as one (compare.MERGE_PATCH) and carrying
    the live resourceVersion; or, when an immutable field differs, delete and create (in check mode the
    definition is shown instead). A write that meets 409 Conflict (a concurrent writer, or a concurrent create)
    runs it all again from a fresh read, within one deadline (ClusterClient.transaction). Returns an Outcome."""
    kind = lookup(kind)
    first = [live]

    def attempt():
        current = first[0]
        first[0] = UNREAD  # a second try reads again
        if current is UNREAD:
            current = client.get(kind, name, namespace or None)
        desired = desired_of(current)
        if isinstance(desired, Leave):
            return Outcome(desired.verb, current, current)
        action_ = compare.plan(desired, current, exact, kind.immutable)
        if action_ is None:
            return Outcome(UNCHANGED, current, current)
        verb, body = action_
        if verb == compare.CREATE:
            return Outcome(CREATED, None, client.create(body))
        if verb == compare.PATCH:
            return Outcome(UPDATED, current, client.patch(kind, name, body, namespace or None,
                                                          content_type=compare.MERGE_PATCH))
        client.delete(kind, name, namespace or None)
        return Outcome(REPLACED, current, body if client.check_mode else client.create(body))

    return client.transaction(action, kind, display(namespace, name), attempt)


def ensure(client, desired, exact=()):
    """Create *desired*, or patch the live object so it holds the fields it
    sets (replace it when an immutable one differs); no write when it holds
    them already. Returns {changed, before, after, ref}."""
    check_definition(desired)
    namespace, name = key_of(desired)
    done = converge(client, desired["kind"], namespace, name, lambda live: desired, exact)
    return _outcome(done.changed, done.before, done.after, desired)


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

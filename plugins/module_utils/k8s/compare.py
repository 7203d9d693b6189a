# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way to decide "no change": an object is unchanged when every field
the collection sets equals the live value (owned fields are a subset of the
live object). Fields the server adds or defaults (labels such as
kubernetes.io/metadata.name, spec.finalizers, managedFields, a subject's
apiGroup) and annotations other tools add never cause a write.

In a desired object, None means "this key must be absent" (a label the
collection set before and no longer wants). *exact* names paths whose value
the collection owns whole (compared by equality, and written whole, nested
keys it no longer sets removed). *immutable* names top-level fields the API
refuses to change (a binding's roleRef): a difference there is a replace.

Pure: no API calls; used by every module and the sync engine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

CREATE, PATCH, REPLACE = "create", "patch", "replace"

# The content type of every patch this module computes (RFC 7386): a patch is sent as what it was computed for.
# A strategic merge patch of the same body would keep the list items it leaves out (a Deployment's containers,
# volumes, mounts, env, ports, by their merge key), so a list the collection owns would never converge.
MERGE_PATCH = "application/merge-patch+json"


def _paths(exact):
    """The exact paths as tuples of keys ('spec' or ('spec', 'x'))."""
    return tuple(tuple(p.split(".")) if isinstance(p, str) else tuple(p) for p in exact)


def _same(desired, live, path, exact):
    if path in exact:
        return _strip_none(desired) == live
    if isinstance(desired, dict):
        if not desired and live is None:
            return True  # an empty map the server leaves out
        if not isinstance(live, dict):
            return False
        for key, value in desired.items():
            if value is None:
                if live.get(key) is not None:
                    return False
            elif not _same(value, live.get(key), path + (key,), exact) or (key not in live and value != {}):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(_same(d, l, path + ("[]",), exact) for d, l in zip(desired, live))
    return desired == live


def _strip_none(value):
    if isinstance(value, dict):
        return dict((k, _strip_none(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def unchanged(desired, live, exact=()):
    """True when *live* holds every field of *desired* (see the module doc)."""
    exact = _paths(exact)
    return live is not None and _same(desired, live, (), exact)


def merge_patch(before, after):
    """RFC 7386 JSON merge patch turning dict *before* into dict *after* exactly."""
    patch = {}
    for key in set(before) | set(after):
        if key not in after or after[key] is None:
            if before.get(key) is not None:
                patch[key] = None
        elif key not in before:
            patch[key] = copy.deepcopy(_strip_none(after[key]))
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            sub = merge_patch(before[key], after[key])
            if sub:
                patch[key] = sub
        elif before[key] != after[key]:
            patch[key] = copy.deepcopy(_strip_none(after[key]))
    return patch


def _owned_patch(desired, live, path, exact):
    """The merge patch that makes the owned fields of *live* equal *desired*."""
    patch = {}
    for key, value in desired.items():
        here = path + (key,)
        have = live.get(key) if isinstance(live, dict) else None
        if value is None:
            if have is not None:
                patch[key] = None
        elif _same(value, have, here, exact):
            continue
        elif here in exact and isinstance(value, dict) and isinstance(have, dict):
            patch[key] = merge_patch(have, value)
        elif isinstance(value, dict) and isinstance(have, dict):
            patch[key] = _owned_patch(value, have, here, exact)
        else:
            patch[key] = copy.deepcopy(_strip_none(value))
    return patch


def owned_patch(desired, live, exact=()):
    """The merge patch of the owned fields that differ ({} when unchanged)."""
    exact = _paths(exact)
    return _owned_patch(desired, live or {}, (), exact)


def plan(desired, live, exact=(), immutable=()):
    """What to do to make *live* hold *desired*: None (unchanged),
    (CREATE, body), (PATCH, merge patch) or (REPLACE, body).

    The merge patch carries the live resourceVersion, so that a concurrent
    writer makes it fail with 409 Conflict instead of being overwritten."""
    if live is None:
        return CREATE, _strip_none(_without(desired, ("status",)))
    owned = _without(desired, ("apiVersion", "kind", "status"))
    if unchanged(owned, live, exact):
        return None
    for field in immutable:
        if field in owned and not unchanged({field: owned[field]}, live, exact):
            return REPLACE, _strip_none(_without(desired, ("status",)))
    patch = owned_patch(owned, live, exact)
    version = (live.get("metadata") or {}).get("resourceVersion")
    if version:
        patch.setdefault("metadata", {})["resourceVersion"] = version
    return PATCH, patch


def _without(obj, keys):
    return dict((k, v) for k, v in obj.items() if k not in keys)

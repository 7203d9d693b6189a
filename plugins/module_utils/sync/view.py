# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's view of the directory: its Clusters and ClusterPolicies, listed once (from the API server's watch
cache) and then kept up to date one watch event at a time, so that a change costs the directory one event per
agent, not one list (agent/loop.py).

The view holds, per object, only what the sync uses of it (plan.kept: name, labels, annotations, spec) as compact
JSON (plan.compact): 10,000 Clusters are some 6 MB. Objects come from the directory and are data: an event's
object over the replica's limits (plan.Limits) is not taken, and while one is refused (or the directory holds
more objects than the limits allow) every sync from the view is refused as a list over the limits would be.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from collections.abc import Mapping, Sequence

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import lookup
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    SOURCES, Limits, compact, kept, over_limit, too_many)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import (
    CACHED, OverLimit, read_directory)

_CHANGES = ("ADDED", "MODIFIED")


def _named(kept_obj):
    return kept_obj["metadata"]["name"], compact(kept_obj)


class DirectoryView(object):
    """The directory as the last list and the watch events after it show it: {kind name: {name: compact JSON}}
    (None for an optional kind that could not be listed), the lists' resourceVersions and the optional kinds'
    errors (reading.read_directory's three parts)."""

    def __init__(self, objects, versions, errors, limits=None):
        self.limits = limits or Limits()
        self.objects = objects  # {kind name: {name: compact JSON} or None}
        self.versions = dict(versions)
        self.errors = dict(errors)
        self.refused = {}  # (kind name, name): (option, why) of an object an event brought over the limits

    @classmethod
    def of(cls, snapshot, versions, errors, limits=None):
        """The view of what read_directory returns (objects as plan.kept keeps them)."""
        return cls(dict((kind, None if items is None else dict((obj["metadata"]["name"], compact(obj))
                                                               for obj in items))
                        for kind, items in snapshot.items()), versions, errors, limits)

    @classmethod
    def read(cls, directory, sources=SOURCES, limits=None):
        """The view of a list of every kind the sources read, from the directory's watch cache (reading.CACHED),
        each object made compact JSON as the answer is decoded (reading.read_kind's *store*). Raises what
        read_directory raises (OverLimit for a directory over *limits*)."""
        snapshot, versions, errors = read_directory(directory, sources, limits, CACHED, store=_named)
        return cls(dict((kind, None if items is None else dict(items)) for kind, items in snapshot.items()),
                   versions, errors, limits)

    def apply(self, kind, event_type, obj):
        """Take one watch event of *kind* (ADDED, MODIFIED, DELETED). Returns the object's name when what the sync
        uses of it changed (it is new, gone, or its labels, annotations or spec differ), else None: an event that
        changes only its status, or an event the view cannot use (a kind it could not list, no name)."""
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        held = self.objects.get(kind.kind)
        if held is None or not isinstance(name, str) or not name:
            return None
        if isinstance(meta.get("resourceVersion"), str):
            self.versions[kind.plural] = meta["resourceVersion"]
        key = (kind.kind, name)
        if event_type == "DELETED":
            was_refused = self.refused.pop(key, None) is not None
            return name if held.pop(name, None) is not None or was_refused else None
        if event_type not in _CHANGES:
            return None
        stripped = kept(obj)
        problem = over_limit(kind, stripped, self.limits)
        if problem is not None:
            self.refused[key] = problem
            held.pop(name, None)
            return name
        self.refused.pop(key, None)
        data = compact(stripped)
        if held.get(name) == data:
            return None
        held[name] = data
        return name

    def check(self):
        """Raise OverLimit when the view holds an object over the limits or more objects than they allow (nothing
        on the replica may change then, as with a list over them)."""
        if self.refused:
            option, why = sorted(self.refused.values())[0]
            raise OverLimit(why, details={"limit": option})
        for kind_name, held in self.objects.items():
            kind = lookup(kind_name)
            most, option = self.limits.count_of(kind)
            if held is not None and len(held) > most:
                raise OverLimit(too_many(kind, self.limits), details={"limit": option})

    def get(self, kind, name):
        """The object as the sync keeps it (plan.kept), or None when the directory does not hold it."""
        data = (self.objects.get(kind.kind) or {}).get(name)
        return None if data is None else json.loads(data)

    def snapshot(self):
        """(snapshot, versions, errors), as read_directory returns them, of the view as it is now (OverLimit as
        check() says). Each kind's objects are a Decoded sequence, sorted by name, decoded one at a time as they
        are read: later events change the view, not the snapshot."""
        self.check()
        snapshot = dict((kind, None if held is None else Decoded(held)) for kind, held in self.objects.items())
        return snapshot, dict(self.versions), dict(self.errors)

    def size(self):
        """{kind name: objects held}."""
        return dict((kind, len(held or ())) for kind, held in self.objects.items())


class Decoded(Sequence):
    """Objects of one kind of a snapshot of the view, sorted by name: each decoded from the view's compact JSON when
    it is read, so that a sync never holds them all at once (the list read_directory returns, the same way)."""

    def __init__(self, held):
        self._held = dict(held)  # {name: compact JSON}: the bytes are shared with the view, never changed
        self._names = sorted(self._held)

    def __len__(self):
        return len(self._names)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [json.loads(self._held[name]) for name in self._names[index]]
        return json.loads(self._held[self._names[index]])

    def keyed(self):
        """{(namespace, name): object} of the same objects (cluster-scoped: namespace ''), decoded when asked."""
        return _Keyed(self._held)


class _Keyed(Mapping):

    def __init__(self, held):
        self._held = held

    def __getitem__(self, key):
        if key[0]:
            raise KeyError(key)
        return json.loads(self._held[key[1]])

    def __contains__(self, key):
        return not key[0] and key[1] in self._held

    def __iter__(self):
        return (("", name) for name in sorted(self._held))

    def __len__(self):
        return len(self._held)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's watch on the directory: one kind, followed from the
resourceVersion of the last full list; an event asks for a sync when it
changes what the sync uses of an object (sync/plan.fingerprint), so that a
replica writing its own Cluster's status (every replica does, registry/health.py)
costs the other agents no sync."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
import threading

try:
    from kubernetes import watch as k8s_watch
except ImportError:  # pragma: no cover - reported when the agent starts
    k8s_watch = None

from ansible_collections.coreos.multicluster.agent.logs import log
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError, api_reason
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.retries import Backoff
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import fingerprint


def _new_watch():
    return k8s_watch.Watch()


class Watcher(object):
    """Follows one kind of the directory (Clusters, ClusterPolicies) with a
    watch (in a daemon thread) and calls on_event() on every change, or when
    the watch expired (410 Gone: a full sync gives a fresh resourceVersion)."""

    def __init__(self, kind, on_event, stop, timeout=60, backoff=None, stream_factory=None):
        self.kind = kind
        self.on_event = on_event
        self.stop = stop
        self.timeout = max(1, int(timeout))
        self.backoff = backoff or Backoff(1.0, 30.0)
        self._stream_factory = stream_factory or _new_watch
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._target = (0, None, None)  # generation, directory client, resourceVersion
        self._stream = None  # the watch in progress, for drop()
        self._seen = {}  # name: fingerprint of what the sync uses of the object, as last listed or watched
        self.skipped = 0  # events that changed nothing the sync uses (status only, for one)
        self.thread = None

    def follow(self, directory, resource_version, seen=None):
        """Watch from resource_version (of the last full list) with this client. *seen*: {name: fingerprint}
        of that list; an event whose object has the fingerprint seen last asks for no sync.

        *seen* is taken only with a new watch, which starts at that list's resourceVersion, so that every later
        change arrives as an event on top of it. While the watch goes on, its events are newer than any list
        that ends meanwhile: such a list's fingerprints would take the view back in time (and an event that
        undid a change could then be skipped), so they are not taken."""
        with self._lock:
            generation, current, version = self._target
            if current is directory and version is not None:
                return  # already following this client; its own resourceVersion and view are newer
            self._target = (generation + 1, directory, resource_version)
            self._seen = dict(seen or {})
        self._changed.set()

    def _changes_the_sync(self, generation, event_type, obj):
        """Whether an event changes what the sync uses (and remember what it holds now). An event of a watch
        that is no longer the one followed (*generation*) is not remembered, and asks for a sync."""
        name = (obj.get("metadata") or {}).get("name")
        with self._lock:
            if self._target[0] != generation:
                return True
            if event_type == "DELETED":
                self._seen.pop(name, None)
                return True
            digest = fingerprint(obj)
            if self._seen.get(name) == digest:
                self.skipped += 1
                return False
            self._seen[name] = digest
            return True

    def drop(self):
        """Stop watching (the credential was replaced by one that cannot be used):
        the open watch ends and none starts until follow() is called again."""
        with self._lock:
            self._target = (self._target[0] + 1, None, None)
            stream = self._stream
        if stream is not None:
            stream.stop()  # the stream ends at its next event, bookmark or timeout
        self._changed.set()

    def _advance(self, generation, version):
        with self._lock:
            if self._target[0] == generation and version:
                self._target = (generation, self._target[1], version)

    def _forget(self, generation):
        with self._lock:
            if self._target[0] == generation:
                self._target = (generation, self._target[1], None)

    def start(self):
        self.thread = threading.Thread(target=self.run, name="watch-" + self.kind.plural)
        self.thread.daemon = True
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            self.watch_once()

    def watch_once(self):
        """One watch request, until it ends, fails, or the target changes."""
        with self._lock:
            generation, directory, version = self._target
        if directory is None or version is None:
            self._changed.wait(1.0)
            self._changed.clear()
            return
        stream = self._stream_factory()
        with self._lock:
            if self._target[0] != generation:
                return  # dropped or retargeted meanwhile
            self._stream = stream
        try:
            for event_type, obj in directory.watch(self.kind, version, self.timeout, stream):
                meta = obj.get("metadata") or {}
                self._advance(generation, meta.get("resourceVersion"))
                if event_type != "BOOKMARK" and self._changes_the_sync(generation, event_type, obj):
                    self.on_event(event_type, "%s %s" % (self.kind.kind, meta.get("name")))
                if self.stop.is_set() or self._target[0] != generation:
                    stream.stop()
                    break
            self.backoff.reset()
        except Exception as exc:  # pylint: disable=broad-except
            if self.stop.is_set():
                return
            status = getattr(exc, "status", None)
            if status == 410:
                self._forget(generation)
                self.on_event("EXPIRED", None)
                return
            delay = self.backoff.next()
            reason = redact(str(exc)) if isinstance(exc, MulticlusterError) else api_reason(exc)
            log(logging.WARNING, "watch on the directory failed", kind=self.kind.plural, reason=reason,
                retry_in=round(delay, 1))
            self.stop.wait(delay)
        finally:
            with self._lock:
                if self._stream is stream:
                    self._stream = None

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's watch on the directory: one kind, followed from the
resourceVersion of the list the agent's view was made from (sync/view.py),
every event handed to the agent, which applies it to its view; a watch that
expired (410 Gone) asks the agent to list again."""

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


def _new_watch():
    return k8s_watch.Watch()


class Watcher(object):
    """Follows one kind of the directory (Clusters, ClusterPolicies) with a
    watch (in a daemon thread) and calls on_event(watcher, generation,
    type, object) for every event but bookmarks (whose resourceVersion it
    resumes from), with type EXPIRED when the watch expired (410 Gone) and
    FAILED when it failed otherwise: the agent then lists the directory again
    and follows the new list. *generation* names the
    list followed: the agent takes an event only while it is the current
    one (current()), so that an event of an earlier list never changes the
    view made from a newer one."""

    def __init__(self, kind, on_event, stop, timeout=300, backoff=None, stream_factory=None, until=None):
        self.kind = kind
        # until(): seconds until the agent lists the directory again (or None): a watch request ends by then, so
        # that the watch of the new list starts at once (an open request ends only with its next event)
        self.until = until
        self.on_event = on_event
        self.stop = stop
        self.timeout = max(1, int(timeout))
        self.backoff = backoff or Backoff(1.0, 30.0)
        self._stream_factory = stream_factory or _new_watch
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._target = (0, None, None)  # generation, directory client, resourceVersion
        self._stream = None  # the watch in progress, for drop() and follow()
        self.thread = None

    def follow(self, directory, resource_version):
        """Watch from *resource_version* (of the list the view was made from) with this client, from now on: the
        watch in progress ends, and its events are no longer the current generation's."""
        with self._lock:
            self._target = (self._target[0] + 1, directory, resource_version)
            stream = self._stream
        if stream is not None:
            stream.stop()
        self._changed.set()

    def current(self, generation):
        """Whether *generation* is the list followed now."""
        with self._lock:
            return self._target[0] == generation and self._target[1] is not None

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
        timeout = self.timeout
        left = self.until() if self.until is not None else None
        if left is not None:
            timeout = max(1, min(timeout, int(left) + 1))
        try:
            for event_type, obj in directory.watch(self.kind, version, timeout, stream):
                meta = obj.get("metadata") or {}
                self._advance(generation, meta.get("resourceVersion"))
                if event_type != "BOOKMARK":
                    self.on_event(self, generation, event_type, obj)
                if self.stop.is_set() or self._target[0] != generation:
                    stream.stop()
                    break
            self.backoff.reset()
        except Exception as exc:  # pylint: disable=broad-except
            if self.stop.is_set() or not self.current(generation):
                return  # stopped, dropped or retargeted: the end of this watch is ours
            status = getattr(exc, "status", None)
            if status == 410:
                self._forget(generation)
                self.on_event(self, generation, "EXPIRED", {})
                return
            delay = self.backoff.next()
            reason = redact(str(exc)) if isinstance(exc, MulticlusterError) else api_reason(exc)
            log(logging.WARNING, "watch on the directory failed", kind=self.kind.plural, reason=reason,
                retry_in=round(delay, 1))
            # events may have been missed, and the directory may be down: the agent lists it again (and says so
            # if it cannot); meanwhile this watch resumes from where it ended, after the backoff
            self.on_event(self, generation, "FAILED", {})
            self.stop.wait(delay)
        finally:
            with self._lock:
                if self._stream is stream:
                    self._stream = None

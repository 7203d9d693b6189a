# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's sync loop, informer-style: the directory is listed once (from
the API server's watch cache) into a view (sync/view.py) that watch events
keep up to date one by one; the replica is reconciled from that view. A
change costs the directory one watch event per agent and the replica one
read and at most one write (sync/changes.py); the directory is listed again
only when a watch expired (410 Gone), the credential changed, or every
--relist-period (jittered). The replica alone is reconciled in full from the
view every --resync-period, and for a change the policies depend on.

The credential is reloaded from its file, and failures back off.

The file is the replica's directory-sync Secret, which the replica's admins
can write: it is data, read by kubeconfig.read_credential (one https server,
its CA, a token), never by the kubernetes client's kubeconfig loader, which
would run an exec plugin inside the agent's pod."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import logging
import random
import threading
import time

from ansible_collections.coreos.multicluster.agent.health import Health
from ansible_collections.coreos.multicluster.agent.logs import log
from ansible_collections.coreos.multicluster.agent.metrics import NoMetrics, sync_error_reason
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.changes import sync_changes
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import Cancelled, sync
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import OverLimit
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.view import DirectoryView
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.record import record_failure
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    MAX_CREDENTIAL_BYTES, read_credential)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.retries import Backoff
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import DEFAULT_STATUS_INTERVAL
from ansible_collections.coreos.multicluster.plugins.module_utils import names


DEFAULT_RESYNC = 300.0      # seconds between full syncs of the replica from the view (no directory request)
DEFAULT_RELIST = 1800.0     # seconds between lists of the directory (from its watch cache), give or take RELIST_JITTER
RELIST_JITTER = 0.1         # so that the agents of a fleet started together do not list together
DEFAULT_RELOAD_INTERVAL = 2.0
DEBOUNCE = 0.2


class CredentialFile(object):
    """The directory kubeconfig in a file (the mounted Secret), reloaded when its content changes."""

    def __init__(self, path, namespace=names.SYSTEM_NAMESPACE, secret=names.CREDENTIAL_SECRET):
        self.path = path
        self.namespace = namespace
        self.secret = secret
        self.loaded = None  # fingerprint of the content last loaded

    def fingerprint(self):
        """sha256 of the content, or None when the file cannot be read."""
        try:
            with open(self.path, "rb") as handle:
                return hashlib.sha256(handle.read()).hexdigest()
        except (IOError, OSError):
            return None

    def changed(self):
        return self.fingerprint() != self.loaded

    def load(self, cluster=None):
        """(Credential, server), read as data (kubeconfig.read_credential).
        Raises MulticlusterError naming the file, the Secret, the replica
        *cluster* and the refused key (never quoting the content)."""
        what = "the directory kubeconfig %s" % self.path
        try:
            with open(self.path, "rb") as handle:
                content = handle.read(MAX_CREDENTIAL_BYTES + 1)
                rest = handle.read()
        except (IOError, OSError) as exc:
            self.loaded = None
            raise MulticlusterError("cannot read %s: %s" % (what, exc.strerror or type(exc).__name__)) from None
        self.loaded = hashlib.sha256(content + rest).hexdigest()
        where = "%s (Secret %s/%s on cluster '%s')" % (what, self.namespace, self.secret, cluster or "this replica")
        credential = read_credential(content, where, cluster)
        return credential, credential.server


class Agent(object):
    """The sync loop. step() does one iteration (unit-tested with fakes);
    run() repeats it until stop is set; on_event() takes the watchers' events
    (from their threads)."""

    def __init__(self, replica, credential, resync=DEFAULT_RESYNC, status_interval=DEFAULT_STATUS_INTERVAL,
                 reload_interval=DEFAULT_RELOAD_INTERVAL, backoff=None, health=None, watchers=(),
                 sync_fn=sync, directory_factory=None, record_fn=record_failure, clock=time.monotonic,
                 wall=time.time, request_timeout=None, metrics=None, reporter=None, relist=DEFAULT_RELIST,
                 read_view=DirectoryView.read, changes_fn=sync_changes, rand=random.random):
        self.replica = replica
        self.credential = credential
        self.resync = resync
        self.relist = relist
        self.status_interval = status_interval
        self.reload_interval = reload_interval
        self.backoff = backoff or Backoff()
        self.health = health or Health(2 * resync, max(120.0, 3 * resync))
        self.metrics = metrics if metrics is not None else NoMetrics()
        self.reporter = reporter  # agent/heartbeat.ClusterStatus: the outcome on the replica's own Cluster, or None
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.watchers = list(watchers)
        self._sync = sync_fn
        self._sync_changes = changes_fn
        self._read_view = read_view
        # a Credential (CredentialFile.load): built from its values, never by the kubeconfig loader
        self._directory_factory = directory_factory or (lambda credential: ClusterClient(
            {"kubeconfig": credential, "request_timeout": request_timeout}))
        self._record = record_fn
        self._clock = clock
        self._wall = wall
        self._rand = rand
        self._lock = threading.Lock()  # the view, the changes pending and the watchers' generations
        self.directory = None
        self.server = None
        self.view = None           # sync/view.DirectoryView; None: the directory must be listed
        self.holdings = None       # plan.Holdings of the last sync: what the replica holds
        self.pending = set()       # (kind name, name) of the objects watch events changed since the last sync
        self.dirty_at = None       # when to sync them (DEBOUNCE after the first)
        self.full_due = False      # a full sync of the replica from the view is due (a policy change, a failure)
        self.next_relist = 0.0     # the next list of the directory
        self.next_sync = 0.0       # the next full sync of the replica from the view
        self.not_before = 0.0      # backoff after a failure
        self.next_reload_check = 0.0
        self.loaded_once = False
        self.syncs = 0
        self.lists = 0             # lists of the directory (the first, and after an expired watch or a new credential)

    # called from other threads
    def request_stop(self):
        self.stop.set()
        self.wake.set()

    def on_event(self, watcher, generation, event_type, obj):
        """A watcher's event: applied to the view when it is of the list the view was made from; a change the
        sync uses is synced soon (the changes within DEBOUNCE in one go). EXPIRED or FAILED: list the directory again
        (after the backoff, when the last list or sync failed)."""
        with self._lock:
            if self.view is None or not watcher.current(generation):
                return
            if event_type in ("EXPIRED", "FAILED"):
                self.next_relist = 0.0
                name = None
            else:
                name = self.view.apply(watcher.kind, event_type, obj)
                if name is None:
                    return  # nothing the sync uses changed (a status, for one)
                self.pending.add((watcher.kind.kind, name))
                if self.dirty_at is None:
                    self.dirty_at = self._clock() + DEBOUNCE
        if name is None:
            log(logging.INFO, "the watch on the directory %s: listing it again" % (
                "expired" if event_type == "EXPIRED" else "failed"), kind=watcher.kind.plural)
        else:
            log(logging.DEBUG, "directory changed", event=event_type, object="%s %s" % (watcher.kind.kind, name))
        self.wake.set()

    def until_relist(self):
        """Seconds until the directory is listed again (a watch request ends by then: agent/watcher.py)."""
        return self.next_relist - self._clock()

    # the loop
    def _load_credential(self, now):
        try:
            config, self.server = self.credential.load(cluster=getattr(self.replica, "label", None))
            directory = self._directory_factory(config)
        except Exception as exc:  # pylint: disable=broad-except
            message = str(exc) if isinstance(exc, MulticlusterError) else (
                "cannot use the directory kubeconfig %s: %s: %s" % (
                    self.credential.path, type(exc).__name__, redact(str(exc))))
            # never go on with the credential this one replaced, neither syncing nor watching
            self._replace_directory(None)
            for watcher in self.watchers:
                watcher.drop()
            self.metrics.credential_failed(self._wall())
            self._fail(message, now)
            return False
        self._replace_directory(directory)
        with self._lock:
            self.view = None  # listed again with the new credential, and watched with it
        for watcher in self.watchers:
            watcher.drop()
        self.metrics.credential_loaded(config)
        log(logging.INFO, "directory credential loaded", directory=self.server, file=self.credential.path)
        return True

    def _replace_directory(self, directory):
        """Use *directory* from now on; the client it replaces is closed."""
        old, self.directory = self.directory, directory
        if old is not None and old is not directory and hasattr(old, "close"):
            old.close()

    def _report(self, synced, reason=None, policy_status=None):
        if self.reporter is not None and self.directory is not None:
            self.reporter.report(self.directory, synced, reason, policy_status)

    def _fail(self, message, now):
        delay = self.backoff.next()
        self.not_before = now + delay
        self.next_sync = self.not_before
        self.health.record(False, message)
        log(logging.ERROR, "sync failed", reason=message, retry_in=round(delay, 1), failures=self.backoff.failures)
        return delay

    def step(self):
        """One iteration: maybe (re)load the credential, maybe sync; returns the seconds to wait."""
        now = self._clock()
        self.health.beat()
        reload = False
        if now >= self.next_reload_check:
            self.next_reload_check = now + self.reload_interval
            if not self.loaded_once or self.credential.changed():
                reload = True
                if self.loaded_once:
                    log(logging.INFO, "directory credential changed: reloading", file=self.credential.path)
                self.backoff.reset()
                self.not_before = now
        if not reload and self.directory is None and now >= self.not_before:
            reload = True  # a credential that could not be loaded: try again after the backoff
        if reload:
            self.loaded_once = True
            if not self._load_credential(now):
                self._record_failure_status(self.health.message)
                return self._wait(now)
        if self.directory is not None and now >= self.not_before:
            with self._lock:
                listed = self.view is not None
                dirty = self.dirty_at is not None and now >= self.dirty_at
            if not listed or now >= self.next_relist:
                self._run(now, self._list_and_sync)
            elif self.full_due or now >= self.next_sync:
                self._run(now, self._full_sync)
            elif dirty:
                self._run(now, self._sync_pending)
        return self._wait(self._clock())

    def _record_failure_status(self, message):
        try:
            self._record(self.replica, self.server or "", message, self._wall(), self.status_interval, False)
        except Exception:  # pylint: disable=broad-except
            log(logging.WARNING, "cannot record the failure on the replica")

    # --- the three syncs: each returns (sync()'s result, whether the replica was synced in full), or raises ---

    def _list_and_sync(self, now):
        """List the directory into a new view, follow it with the watchers, and sync the replica in full."""
        def read():
            view = self._read_view(self.directory)
            with self._lock:
                self.view, self.pending, self.dirty_at = view, set(), None
                for watcher in self.watchers:  # its events from now on are of this list
                    watcher.follow(self.directory, view.versions.get(watcher.kind.plural))
                snapshot = view.snapshot()
            self.lists += 1
            self.next_relist = now + self.relist * (1 - RELIST_JITTER + 2 * RELIST_JITTER * self._rand())
            log(logging.INFO, "directory listed", objects=view.size())
            return snapshot
        return self._sync(self.directory, self.replica, self.server, status_interval=self.status_interval,
                          cancel=self.stop.is_set, read=read), True

    def _full_sync(self, now):
        """Sync the replica in full from the view (no directory request): its objects are read, label-selected."""
        def read():
            with self._lock:
                self.pending, self.dirty_at = set(), None
                return self.view.snapshot()
        return self._sync(self.directory, self.replica, self.server, status_interval=self.status_interval,
                          cancel=self.stop.is_set, read=read), True

    def _sync_pending(self, now):
        """Sync the objects watch events changed: each Cluster alone (sync/changes.py), or in full from the view
        when the policies may depend on a change (a ClusterPolicy, the replica's own Cluster)."""
        with self._lock:
            pending, self.pending, self.dirty_at = self.pending, set(), None
            names = set(name for kind, name in pending if kind == CLUSTER.kind)
            full = (self.holdings is None or len(names) < len(pending)
                    or (self.holdings.own is not None and self.holdings.own in names))
            if not full:
                try:
                    self.view.check()
                except OverLimit:
                    full = True  # refused by the full sync, which records why
                changes = dict((name, self.view.get(CLUSTER, name)) for name in names)
        if full:
            return self._full_sync(now)
        return self._sync_changes(self.replica, self.server, changes, self.holdings,
                                  status_interval=self.status_interval, cancel=self.stop.is_set), False

    def _run(self, now, how):
        started = self._clock()
        self.syncs += 1
        try:
            result, full = how(now)
        except Cancelled:
            self.full_due = True
            return
        except Exception as exc:  # pylint: disable=broad-except
            self.full_due = True  # what a failed sync of changes left undone, a full sync does
            self.metrics.sync_failed(sync_error_reason(exc), self._wall())
            message = str(exc) if isinstance(exc, MulticlusterError) else "unexpected error: %s: %s" % (
                type(exc).__name__, redact(str(exc)))
            self._fail(message, now)
            self._report(False, message)
            return
        self.backoff.reset()
        self.holdings = result.get("holdings")
        self.metrics.sync_succeeded(result, self._wall())
        if full:
            self.next_sync = now + self.resync
        self.full_due = False
        self.not_before = now
        self.health.record(True, result.get("status", {}).get("data", {}).get("message") or "in sync")
        self._report(True, policy_status=result.get("policies"))
        level = logging.INFO if result.get("changed") else logging.DEBUG
        log(level, "synced", directory=self.server, created=len(result.get("created") or []),
            updated=len(result.get("updated") or []), deleted=len(result.get("deleted") or []),
            conflicts=result.get("conflicts") or [], counts=result.get("counts"),
            status_written=bool((result.get("status") or {}).get("written")),
            seconds=round(self._clock() - started, 3))

    def _wait(self, now):
        with self._lock:
            dirty_at = self.dirty_at
            listed = self.view is not None
        due = self.next_relist if not listed else min(self.next_relist, self.next_sync)
        if self.full_due or dirty_at is not None:
            due = min(due, now if self.full_due else dirty_at)
        due = max(due, self.not_before)
        return max(0.0, min(self.next_reload_check - now, due - now))

    def run(self):
        while not self.stop.is_set():
            try:
                timeout = self.step()
            except Exception as exc:  # pylint: disable=broad-except
                log(logging.ERROR, "unexpected error in the sync loop", reason="%s: %s" % (
                    type(exc).__name__, redact(str(exc))))
                timeout = self.backoff.next()
            if self.stop.is_set():
                break
            self.wake.wait(timeout)
            self.wake.clear()

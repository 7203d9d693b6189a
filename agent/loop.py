# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's sync loop: (re)load the directory credential from its file,
sync on start, on watch events and every resync period, back off on failure.

The file is the replica's directory-sync Secret, which the replica's admins
can write: it is data, read by kubeconfig.read_credential (one https server,
its CA, a token), never by the kubernetes client's kubeconfig loader, which
would run an exec plugin inside the agent's pod."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import logging
import threading
import time

from ansible_collections.coreos.multicluster.agent.health import Health
from ansible_collections.coreos.multicluster.agent.logs import log
from ansible_collections.coreos.multicluster.agent.metrics import NoMetrics, sync_error_reason
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import Cancelled, sync
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.record import record_failure
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    MAX_CREDENTIAL_BYTES, read_credential)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.retries import Backoff
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import DEFAULT_STATUS_INTERVAL
from ansible_collections.coreos.multicluster.plugins.module_utils import names


DEFAULT_RESYNC = 60.0
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
    run() repeats it until stop is set."""

    def __init__(self, replica, credential, resync=DEFAULT_RESYNC, status_interval=DEFAULT_STATUS_INTERVAL,
                 reload_interval=DEFAULT_RELOAD_INTERVAL, backoff=None, health=None, watchers=(),
                 sync_fn=sync, directory_factory=None, record_fn=record_failure, clock=time.monotonic,
                 wall=time.time, request_timeout=None, metrics=None, reporter=None):
        self.replica = replica
        self.credential = credential
        self.resync = resync
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
        # a Credential (CredentialFile.load): built from its values, never by the kubeconfig loader
        self._directory_factory = directory_factory or (lambda credential: ClusterClient(
            {"kubeconfig": credential, "request_timeout": request_timeout}))
        self._record = record_fn
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self.directory = None
        self.server = None
        self.dirty_at = None       # when a watch event asked for a sync
        self.next_sync = 0.0       # the next periodic (or retried) sync
        self.not_before = 0.0      # backoff after a failure
        self.next_reload_check = 0.0
        self.loaded_once = False
        self.syncs = 0

    # called from other threads
    def request_stop(self):
        self.stop.set()
        self.wake.set()

    def notify(self, kind, name):
        """A watch event: sync soon (events within DEBOUNCE make one sync)."""
        with self._lock:
            if self.dirty_at is None:
                self.dirty_at = self._clock() + DEBOUNCE
        log(logging.DEBUG, "directory changed", event=kind, cluster=name)
        self.wake.set()

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
            self.next_sync = now
        with self._lock:
            dirty = self.dirty_at is not None and now >= self.dirty_at
        if self.directory is not None and now >= self.not_before and (dirty or now >= self.next_sync):
            with self._lock:
                self.dirty_at = None
            self._run_sync(now)
        return self._wait(self._clock())

    def _record_failure_status(self, message):
        try:
            self._record(self.replica, self.server or "", message, self._wall(), self.status_interval, False)
        except Exception:  # pylint: disable=broad-except
            log(logging.WARNING, "cannot record the failure on the replica")

    def _run_sync(self, now):
        started = self._clock()
        self.syncs += 1
        try:
            result = self._sync(self.directory, self.replica, self.server, status_interval=self.status_interval,
                                cancel=self.stop.is_set)
        except Cancelled:
            return
        except Exception as exc:  # pylint: disable=broad-except
            self.metrics.sync_failed(sync_error_reason(exc), self._wall())
            message = str(exc) if isinstance(exc, MulticlusterError) else "unexpected error: %s: %s" % (
                type(exc).__name__, redact(str(exc)))
            self._fail(message, now)
            self._report(False, message)
            return
        self.backoff.reset()
        self.metrics.sync_succeeded(result, self._wall())
        self.next_sync = now + self.resync
        self.not_before = now
        self.health.record(True, result.get("status", {}).get("data", {}).get("message") or "in sync")
        self._report(True, policy_status=result.get("policies"))
        level = logging.INFO if result.get("changed") else logging.DEBUG
        log(level, "synced", directory=self.server, created=len(result.get("created") or []),
            updated=len(result.get("updated") or []), deleted=len(result.get("deleted") or []),
            conflicts=result.get("conflicts") or [], counts=result.get("counts"),
            status_written=bool((result.get("status") or {}).get("written")),
            seconds=round(self._clock() - started, 3))
        versions = result.get("resource_versions") or {}
        seen = result.get("fingerprints") or {}
        for watcher in self.watchers:
            watcher.follow(self.directory, versions.get(watcher.kind.plural), seen.get(watcher.kind.plural))

    def _wait(self, now):
        with self._lock:
            dirty_at = self.dirty_at
        due = max(self.next_sync, self.not_before)
        if dirty_at is not None:
            due = min(due, max(dirty_at, self.not_before))
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

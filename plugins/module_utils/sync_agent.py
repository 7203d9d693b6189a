# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory-sync agent: the replica's long-running syncer.

    python -m ansible_collections.coreos.multicluster.plugins.module_utils.sync_agent \\
        [--kubeconfig REPLICA_KUBECONFIG [--context CONTEXT]] \\
        --directory-kubeconfig /etc/directory-sync/kubeconfig

It runs the engine of directory_sync (the one mc_directory_sync runs once):

* a full sync at start and every --resync-period seconds (default 60);
* between them, a watch on the directory's Clusters (from the resourceVersion
  of the last list), whose events trigger a sync within a fraction of a second;
* on failure, jittered exponential backoff (1 s doubling to --backoff-max);
* the directory kubeconfig is a file (the directory-sync Secret mounted in
  the pod): when its content changes it is reloaded and a sync runs at once;
* HTTP /healthz answers 200 when the last sync succeeded and did so within
  --health-window seconds (default twice the resync period), else 503;
  /livez answers 200 while the sync loop runs (for a liveness probe that
  does not restart the pod because the directory is down);
* one JSON object per line on stderr, never a credential;
* SIGTERM or SIGINT stops it, exit code 0, within about two seconds.

Without --kubeconfig it uses the default kubeconfig if there is one, else
the pod's service account (in-cluster config), as ClusterClient does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import datetime
import hashlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from kubernetes import watch as k8s_watch
except ImportError:  # pragma: no cover - reported when the agent starts
    k8s_watch = None

from ansible_collections.coreos.multicluster.plugins.module_utils.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import parse_kubeconfig, resolve_kubeconfig
from ansible_collections.coreos.multicluster.plugins.module_utils.directory_sync import (
    CLUSTERS,
    DEFAULT_STATUS_INTERVAL,
    Cancelled,
    record_failure,
    sync,
)
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError, api_reason, redact

DEFAULT_CREDENTIAL_FILE = "/etc/directory-sync/kubeconfig"
DEFAULT_RESYNC = 60.0
DEFAULT_HEALTH_PORT = 8080
DEFAULT_RELOAD_INTERVAL = 2.0
DEFAULT_BACKOFF_MAX = 60.0
DEBOUNCE = 0.2
STOP_GRACE = 1.5

LOG = logging.getLogger("directory-sync")


# --- logs ------------------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, msg and the record's 'fields'.
    Text goes through redact() as a last guard against credentials."""

    def format(self, record):
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        entry = {"time": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (stamp.microsecond // 1000),
                 "level": record.levelname.lower(), "msg": redact(record.getMessage())}
        for key, value in (getattr(record, "fields", None) or {}).items():
            entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return json.dumps(entry, sort_keys=False, default=str)


def configure_logging(stream=None, level=logging.INFO):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    LOG.handlers[:] = [handler]
    LOG.setLevel(level)
    LOG.propagate = False
    return LOG


def log(level, msg, **fields):
    LOG.log(level, msg, extra={"fields": fields})


# --- pieces --------------------------------------------------------------------------------------------

class Backoff(object):
    """Jittered exponential backoff: base, 2*base, ... up to cap (each between half and all of it)."""

    def __init__(self, base=1.0, cap=DEFAULT_BACKOFF_MAX, rand=random.random):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rand = rand

    def next(self):
        self.failures += 1
        ceiling = min(self.cap, self.base * (2 ** (self.failures - 1)))
        return ceiling / 2 + self._rand() * ceiling / 2

    def reset(self):
        self.failures = 0


class Health(object):
    """What the sync loop last did, for /healthz and /livez (thread-safe)."""

    def __init__(self, window, live_window, clock=time.time):
        self.window = window
        self.live_window = live_window
        self._clock = clock
        self._lock = threading.Lock()
        self.last_attempt = None
        self.last_success = None
        self.last_ok = None
        self.message = "no sync yet"
        self.heartbeat = clock()

    def record(self, ok, message):
        with self._lock:
            now = self._clock()
            self.last_attempt = now
            self.last_ok = bool(ok)
            self.message = message
            if ok:
                self.last_success = now

    def beat(self):
        with self._lock:
            self.heartbeat = self._clock()

    @staticmethod
    def _iso(epoch):
        if epoch is None:
            return None
        return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ready(self):
        """(HTTP status, body): 200 when the last sync succeeded within the window."""
        with self._lock:
            now = self._clock()
            body = {"lastAttempt": self._iso(self.last_attempt), "lastSuccess": self._iso(self.last_success),
                    "message": self.message, "window": self.window}
            if self.last_ok is None:
                body["status"] = "starting"
            elif not self.last_ok:
                body["status"] = "failing"
            elif now - self.last_success > self.window:
                body["status"] = "stale"
            else:
                body["status"] = "ok"
            return (200 if body["status"] == "ok" else 503), body

    def live(self):
        with self._lock:
            age = self._clock() - self.heartbeat
            alive = age <= self.live_window
            return (200 if alive else 503), {"status": "ok" if alive else "stuck", "loopAge": round(age, 1)}


def serve_health(health, address, port):
    """Start the health endpoint in a daemon thread; returns the server (server.server_port is the port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            path = self.path.split("?", 1)[0]
            if path in ("/healthz", "/readyz"):
                code, body = health.ready()
            elif path == "/livez":
                code, body = health.live()
            else:
                code, body = 404, {"status": "not found"}
            payload = json.dumps(body).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # no access log: probes would flood stderr
            return

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="health", kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    return server


class CredentialFile(object):
    """The directory kubeconfig in a file (the mounted Secret), reloaded when its content changes."""

    def __init__(self, path):
        self.path = path
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

    def load(self):
        """(kubeconfig dict, server). Raises MulticlusterError (never quoting the content)."""
        what = "the directory kubeconfig %s" % self.path
        try:
            with open(self.path, "rb") as handle:
                content = handle.read()
        except (IOError, OSError) as exc:
            self.loaded = None
            raise MulticlusterError("cannot read %s: %s" % (what, exc.strerror or type(exc).__name__)) from None
        self.loaded = hashlib.sha256(content).hexdigest()
        config = parse_kubeconfig(content, what)
        return config, resolve_kubeconfig(config, what)["server"]


def _new_watch():
    return k8s_watch.Watch()


class Watcher(object):
    """Follows the directory's Clusters with a watch (in a daemon thread) and
    calls on_event() on every change, or when the watch expired (410 Gone: a
    full sync gives a fresh resourceVersion)."""

    def __init__(self, on_event, stop, timeout=60, backoff=None, stream_factory=None):
        self.on_event = on_event
        self.stop = stop
        self.timeout = max(1, int(timeout))
        self.backoff = backoff or Backoff(1.0, 30.0)
        self._stream_factory = stream_factory or _new_watch
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._target = (0, None, None)  # generation, directory client, resourceVersion
        self._stream = None  # the watch in progress, for drop()
        self.thread = None

    def follow(self, directory, resource_version):
        """Watch from resource_version (of the last full list) with this client."""
        with self._lock:
            generation, current, version = self._target
            if current is directory and version is not None:
                return  # already following this client; its own resourceVersion is newer
            self._target = (generation + 1, directory, resource_version)
        self._changed.set()

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
        self.thread = threading.Thread(target=self.run, name="watch")
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
            for event in stream.stream(directory.custom.list_cluster_custom_object, CLUSTERS.group, CLUSTERS.version,
                                       CLUSTERS.plural, resource_version=version, timeout_seconds=self.timeout,
                                       allow_watch_bookmarks=True, _request_timeout=(10, self.timeout + 30)):
                obj = event.get("raw_object") or event.get("object") or {}
                meta = (obj.get("metadata") or {}) if isinstance(obj, dict) else {}
                self._advance(generation, meta.get("resourceVersion"))
                if event.get("type") != "BOOKMARK":
                    self.on_event(event.get("type"), meta.get("name"))
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
            log(logging.WARNING, "watch on the directory failed", reason=api_reason(exc), retry_in=round(delay, 1))
            self.stop.wait(delay)
        finally:
            with self._lock:
                if self._stream is stream:
                    self._stream = None


# --- the loop ----------------------------------------------------------------------------------------------

class Agent(object):
    """The sync loop. step() does one iteration (unit-tested with fakes);
    run() repeats it until stop is set."""

    def __init__(self, replica, credential, resync=DEFAULT_RESYNC, status_interval=DEFAULT_STATUS_INTERVAL,
                 reload_interval=DEFAULT_RELOAD_INTERVAL, backoff=None, health=None, watcher=None,
                 sync_fn=sync, directory_factory=None, record_fn=record_failure, clock=time.monotonic,
                 wall=time.time):
        self.replica = replica
        self.credential = credential
        self.resync = resync
        self.status_interval = status_interval
        self.reload_interval = reload_interval
        self.backoff = backoff or Backoff()
        self.health = health or Health(2 * resync, max(120.0, 3 * resync))
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.watcher = watcher
        self._sync = sync_fn
        self._directory_factory = directory_factory or (lambda config: ClusterClient({"kubeconfig": config}))
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
            config, self.server = self.credential.load()
            directory = self._directory_factory(config)
        except Exception as exc:  # pylint: disable=broad-except
            message = str(exc) if isinstance(exc, MulticlusterError) else "cannot use the directory kubeconfig %s: %s: %s" % (
                self.credential.path, type(exc).__name__, redact(str(exc)))
            # never go on with the credential this one replaced, neither syncing nor watching
            self.directory = None
            if self.watcher is not None:
                self.watcher.drop()
            self._fail(message, now)
            return False
        self.directory = directory
        log(logging.INFO, "directory credential loaded", directory=self.server, file=self.credential.path)
        return True

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
        except MulticlusterError as exc:
            self._fail(str(exc), now)
            return
        except Exception as exc:  # pylint: disable=broad-except
            self._fail("unexpected error: %s: %s" % (type(exc).__name__, redact(str(exc))), now)
            return
        self.backoff.reset()
        self.next_sync = now + self.resync
        self.not_before = now
        self.health.record(True, result.get("status", {}).get("data", {}).get("message") or "in sync")
        level = logging.INFO if result.get("changed") else logging.DEBUG
        log(level, "synced", directory=self.server, created=len(result.get("created") or []),
            updated=len(result.get("updated") or []), deleted=len(result.get("deleted") or []),
            conflicts=result.get("conflicts") or [], counts=result.get("counts"),
            status_written=bool((result.get("status") or {}).get("written")),
            seconds=round(self._clock() - started, 3))
        if self.watcher is not None:
            self.watcher.follow(self.directory, (result.get("resource_versions") or {}).get(CLUSTERS.plural))

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


# --- the command --------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="directory-sync",
        description="Keep this replica's Cluster objects in sync with the multi-cluster directory (pull-only).")
    parser.add_argument("--kubeconfig", help="kubeconfig of the replica (default: the default kubeconfig if any, "
                                             "else the pod's service account)")
    parser.add_argument("--context", help="context of --kubeconfig")
    parser.add_argument("--directory-kubeconfig", default=os.environ.get("DIRECTORY_KUBECONFIG",
                                                                         DEFAULT_CREDENTIAL_FILE),
                        help="file with the directory kubeconfig, the mounted directory-sync Secret "
                             "(default: $DIRECTORY_KUBECONFIG or %s); reloaded when it changes" % DEFAULT_CREDENTIAL_FILE)
    parser.add_argument("--resync-period", type=float, default=DEFAULT_RESYNC,
                        help="seconds between full syncs (default %(default)s)")
    parser.add_argument("--status-interval", type=float, default=DEFAULT_STATUS_INTERVAL,
                        help="seconds after which the status ConfigMap timestamps are refreshed (default %(default)s)")
    parser.add_argument("--health-address", default="0.0.0.0", help="address of the health endpoint")
    parser.add_argument("--health-port", type=int, default=DEFAULT_HEALTH_PORT,
                        help="port of the health endpoint, 0 for any free port (default %(default)s)")
    parser.add_argument("--health-window", type=float, default=None,
                        help="/healthz is 200 when the last sync succeeded within this many seconds "
                             "(default twice the resync period)")
    parser.add_argument("--reload-interval", type=float, default=DEFAULT_RELOAD_INTERVAL,
                        help="seconds between checks of the directory kubeconfig file (default %(default)s)")
    parser.add_argument("--backoff-max", type=float, default=DEFAULT_BACKOFF_MAX,
                        help="longest wait between retries after failures (default %(default)s)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    for option in ("resync_period", "reload_interval", "backoff_max"):
        if getattr(args, option) <= 0:
            parser.error("--%s must be more than 0" % option.replace("_", "-"))
    if args.status_interval < 0:
        parser.error("--status-interval must be 0 or more")
    return args


def main(argv=None, stream=None):
    args = parse_args(argv)
    configure_logging(stream, getattr(logging, args.log_level.upper()))
    if k8s_watch is None:
        log(logging.ERROR, "the kubernetes Python library is not installed")
        return 2
    try:
        replica = ClusterClient({"kubeconfig": args.kubeconfig, "context": args.context})
    except MulticlusterError as exc:
        log(logging.ERROR, "cannot connect to the replica", reason=str(exc))
        return 2
    window = args.health_window or 2 * args.resync_period
    health = Health(window, max(120.0, 3 * args.resync_period))
    agent = Agent(replica, CredentialFile(args.directory_kubeconfig), resync=args.resync_period,
                  status_interval=args.status_interval, reload_interval=args.reload_interval,
                  backoff=Backoff(1.0, args.backoff_max), health=health)
    agent.watcher = Watcher(agent.notify, agent.stop, timeout=args.resync_period)
    try:
        server = serve_health(health, args.health_address, args.health_port)
    except (OSError, IOError) as exc:
        log(logging.ERROR, "cannot serve the health endpoint", address=args.health_address, port=args.health_port,
            reason=exc.strerror or str(exc))
        return 2

    def on_signal(signum, frame):
        agent.request_stop()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log(logging.INFO, "started", replica=replica.label, directory_kubeconfig=args.directory_kubeconfig,
        health_port=server.server_port, resync_period=args.resync_period)
    agent.watcher.start()
    worker = threading.Thread(target=agent.run, name="sync")
    worker.daemon = True  # a request hanging on the network must not delay the exit
    worker.start()
    while not agent.stop.wait(0.5):
        if not worker.is_alive():  # pragma: no cover - run() catches everything
            log(logging.ERROR, "the sync loop ended unexpectedly")
            agent.request_stop()
            server.shutdown()
            return 1
    worker.join(STOP_GRACE)
    server.shutdown()
    server.server_close()
    log(logging.INFO, "stopped", syncs=agent.syncs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

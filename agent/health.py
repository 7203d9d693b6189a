# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's health: what the sync loop last did, served on /healthz,
/readyz and /livez (and, on the same port, the metrics on /metrics)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ansible_collections.coreos.multicluster.plugins.module_utils.timestamps import iso_time


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

    def ready(self):
        """(HTTP status, body): 200 when the last sync succeeded within the window."""
        with self._lock:
            now = self._clock()
            body = {"lastAttempt": iso_time(self.last_attempt), "lastSuccess": iso_time(self.last_success),
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


def answer(health, metrics, path):
    """(HTTP status, content type, body bytes) of a GET of *path*."""
    if path == "/metrics" and metrics is not None:
        return metrics.render()
    if path in ("/healthz", "/readyz"):
        code, body = health.ready()
    elif path == "/livez":
        code, body = health.live()
    else:
        code, body = 404, {"status": "not found"}
    return code, "application/json", json.dumps(body).encode("utf-8")


def serve_health(health, address, port, metrics=None):
    """Start the health endpoint in a daemon thread; returns the server (server.server_port is the port).
    /metrics answers with metrics.render() (agent/metrics.py); 404 without metrics."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # an idle connection (a scraper's keep-alive) does not hold a thread forever

        def do_GET(self):  # noqa: N802 - the name http.server calls
            code, content_type, payload = answer(health, metrics, self.path.split("?", 1)[0])
            self.send_response(code)
            self.send_header("Content-Type", content_type)
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's health: what the sync loop last did, served on /healthz,
/readyz and /livez (and, on the same port, the metrics on /metrics) by a
server of fixed cost (HealthServer): a fixed number of threads, a deadline
per whole request, a bounded number of connections."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import queue
import selectors
import socket
import threading
import time

from http import HTTPStatus

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time

HANDLER_THREADS = 4     # compute the answers; the I/O is one more thread, whatever the clients do
REQUEST_DEADLINE = 5.0  # seconds for a whole exchange: reading the request and writing the answer
MAX_CONNECTIONS = 64    # open at once; one more closes the oldest still sending its request


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


class HealthServer(object):
    """A small HTTP/1.1 server (GET only, one request per connection) whose
    cost does not grow with its clients.

    One I/O thread reads every request and writes every answer without
    blocking (a selector); a fixed pool of *threads* threads computes the
    answers (respond(path) -> (status, content type, body bytes)); no thread
    is started per connection. Each connection has *deadline* seconds from
    its accept for the whole exchange (the request read, the answer written)
    and is closed when they are up: a client that sends half a request, or
    reads the answer slowly, holds a socket and a few KiB until then, never a
    thread. At most *max_connections* are open: one more closes the oldest
    still reading its request. A request head longer than MAX_REQUEST_BYTES
    is closed unanswered."""

    MAX_REQUEST_BYTES = 8192

    def __init__(self, address, port, respond, threads=HANDLER_THREADS, deadline=REQUEST_DEADLINE,
                 max_connections=MAX_CONNECTIONS, clock=time.monotonic):
        family = socket.getaddrinfo(address, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0][0]
        self._listener = socket.create_server((address, port), family=family, backlog=max_connections)
        self._listener.setblocking(False)
        self.server_port = self._listener.getsockname()[1]
        self._respond = respond
        self._deadline = deadline
        self._max_connections = max_connections
        self._clock = clock
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._jobs = queue.Queue()  # at most one per open connection: bounded by max_connections
        self._answers = collections.deque()  # (connection, bytes) from the workers to the I/O thread
        self._open = {}  # socket -> _Connection
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, name="health")]
        self._threads += [threading.Thread(target=self._work, name="health-%d" % (n + 1)) for n in range(threads)]
        for thread in self._threads:
            thread.daemon = True

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def shutdown(self):
        """Stop serving (open connections are closed); returns when the threads ended or after 2 s."""
        self._stop.set()
        self._wake()
        for dummy in self._threads[1:]:
            self._jobs.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(2.0)

    def server_close(self):
        for sock in list(self._open):
            self._close(sock)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()
        self._selector.close()

    def connections(self):
        """How many connections are open (for tests)."""
        return len(self._open)

    # --- the I/O thread ------------------------------------------------------------------------

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # already woken (the buffer is full) or closed

    def _serve(self):
        while not self._stop.is_set():
            now = self._clock()
            soonest = min([c.deadline for c in self._open.values()] or [now + 0.5])
            for key, events in self._selector.select(max(0.0, min(0.5, soonest - now))):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    self._drain_wake()
                elif events & selectors.EVENT_READ:
                    self._read(key.fileobj)
                elif events & selectors.EVENT_WRITE:
                    self._write(key.fileobj)
            while self._answers:
                connection, payload = self._answers.popleft()
                if connection.sock in self._open:
                    connection.out = memoryview(payload)
                    self._selector.register(connection.sock, selectors.EVENT_WRITE, connection)
            now = self._clock()
            for sock, connection in list(self._open.items()):
                if now >= connection.deadline:
                    self._close(sock)
        for sock in list(self._open):
            self._close(sock)

    def _drain_wake(self):
        try:
            while self._wake_r.recv(512):
                pass
        except (BlockingIOError, OSError):
            pass

    def _accept(self):
        while True:
            try:
                sock, dummy = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of file descriptors, a connection reset before accept: try again later
                return
            if len(self._open) >= self._max_connections and not self._evict():
                sock.close()
                continue
            sock.setblocking(False)
            connection = _Connection(sock, self._clock() + self._deadline)
            self._open[sock] = connection
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _evict(self):
        """Close the oldest connection still reading its request; False when there is none."""
        reading = [c for c in self._open.values() if c.state == "reading"]
        if not reading:
            return False
        self._close(min(reading, key=lambda c: c.deadline).sock)
        return True

    def _read(self, sock):
        connection = self._open.get(sock)
        try:
            data = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data or connection is None:
            self._close(sock)
            return
        connection.head += data
        end = connection.head.find(b"\r\n\r\n")
        if end < 0:
            if len(connection.head) > self.MAX_REQUEST_BYTES:
                self._close(sock)
            return
        self._selector.unregister(sock)
        connection.state = "answering"
        self._jobs.put((connection, bytes(connection.head[:end])))

    def _write(self, sock):
        connection = self._open.get(sock)
        if connection is None:
            return
        try:
            sent = sock.send(connection.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(sock)
            return
        connection.out = connection.out[sent:]
        if not len(connection.out):
            self._close(sock)

    def _close(self, sock):
        self._open.pop(sock, None)
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        try:
            sock.close()
        except OSError:
            pass

    # --- the workers -------------------------------------------------------------------------------

    def _work(self):
        while True:
            job = self._jobs.get()
            if job is None or self._stop.is_set():
                return
            connection, head = job
            self._answers.append((connection, self._answer(head)))
            self._wake()

    def _answer(self, head):
        """The whole HTTP answer (bytes) to a request head."""
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            return _http(400, "application/json", b'{"status": "bad request"}')
        if parts[0] != b"GET":
            return _http(405, "application/json", b'{"status": "method not allowed"}')
        path = parts[1].decode("latin-1").split("?", 1)[0]
        try:
            code, content_type, payload = self._respond(path)
        except Exception:  # pylint: disable=broad-except
            return _http(500, "application/json", b'{"status": "error"}')
        return _http(code, content_type, payload)


class _Connection(object):
    __slots__ = ("sock", "deadline", "head", "state", "out")

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.head = bytearray()
        self.state = "reading"
        self.out = None


def _http(code, content_type, payload):
    reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else ""
    head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
        code, reason, content_type, len(payload))
    return head.encode("latin-1") + payload


def serve_health(health, address, port, metrics=None, threads=HANDLER_THREADS, deadline=REQUEST_DEADLINE):
    """Start the health endpoint (HealthServer, its threads daemons); returns the server
    (server.server_port is the port). /metrics answers with metrics.render() (agent/metrics.py);
    404 without metrics."""
    return HealthServer(address, port, lambda path: answer(health, metrics, path), threads=threads,
                        deadline=deadline).start()

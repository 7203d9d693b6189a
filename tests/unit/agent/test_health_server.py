"""The agent's health server (HealthServer) under slow and many clients, on
loopback: a fixed number of threads whatever the clients do, a deadline per
whole exchange, and /healthz answering while slow clients hang on."""

import socket
import threading
import time

import pytest

from ansible_collections.coreos.multicluster.agent import health as health_mod

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: agent\r\n\r\n"
HALF = b"GET /healthz HTTP/1.1\r\nHost: ag"


def respond(path):
    if path == "/big":
        return 200, "application/octet-stream", b"b" * (16 * 1024 * 1024)
    if path == "/boom":
        raise RuntimeError("a bug")
    return (200 if path == "/healthz" else 404), "application/json", b'{"path": "%s"}' % path.encode()


@pytest.fixture
def serve():
    servers = []

    def start(**kw):
        server = health_mod.HealthServer("127.0.0.1", 0, respond, **kw).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def connect(server, send=b""):
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
    if send:
        sock.sendall(send)
    return sock


def read_all(sock):
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def get(server, request=REQUEST):
    """(seconds taken, the whole answer) of one request."""
    started = time.monotonic()
    sock = connect(server, request)
    try:
        return time.monotonic() - started, read_all(sock)
    finally:
        sock.close()


def health_threads():
    return [t for t in threading.enumerate() if t.name == "health" or t.name.startswith("health-")]


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_an_answer_is_http_with_its_length_and_the_connection_closed(serve):
    server = serve()
    dummy, answer = get(server)
    assert answer == (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n"
                      b"Connection: close\r\n\r\n{\"path\": \"/healthz\"}")
    assert get(server, b"GET /nowhere?x=1 HTTP/1.0\r\n\r\n")[1].startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert get(server, b"POST /healthz HTTP/1.1\r\n\r\n")[1].startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert get(server, b"nonsense\r\n\r\n")[1].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert get(server, b"GET /boom HTTP/1.1\r\n\r\n")[1].startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


def test_the_agents_endpoints_through_serve_health():
    health = health_mod.Health(120, 180)
    server = health_mod.serve_health(health, "127.0.0.1", 0)
    try:
        assert get(server)[1].startswith(b"HTTP/1.1 503 Service Unavailable\r\n")  # no sync yet
        health.record(True, "in sync")
        dummy, answer = get(server)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b'"status": "ok"' in answer
        assert get(server, b"GET /livez HTTP/1.1\r\n\r\n")[1].startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        server.shutdown()
        server.server_close()


def test_slow_clients_do_not_keep_healthz_from_answering(serve):
    """Ten clients (more than the four threads) each send half a request and
    wait: they hold no thread, and /healthz answers at once, not after the
    deadline."""
    server = serve(threads=4, deadline=5.0)
    slow = [connect(server, HALF) for dummy in range(10)]
    try:
        assert wait_until(lambda: server.connections() == 10)
        for dummy in range(3):
            seconds, answer = get(server)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and seconds < 1.0
        assert server.connections() == 10  # the slow ones are still waiting for their deadline
    finally:
        for sock in slow:
            sock.close()


def test_a_slow_client_is_disconnected_after_the_deadline(serve):
    server = serve(deadline=0.5)
    sock = connect(server, HALF)
    started = time.monotonic()
    try:
        assert read_all(sock) == b""  # closed by the server, unanswered
        assert 0.4 <= time.monotonic() - started < 2.0
    finally:
        sock.close()
    assert wait_until(lambda: server.connections() == 0)


def test_a_client_sending_a_byte_at_a_time_is_cut_at_the_deadline_of_the_whole_request(serve):
    """The deadline counts from the accept, not from the last byte (slowloris)."""
    server = serve(deadline=0.6)
    sock = connect(server)
    started = time.monotonic()
    closed_after = None
    try:
        for byte in REQUEST[:-1]:
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.05)
        if closed_after is None:
            assert read_all(sock) == b""
            closed_after = time.monotonic() - started
    finally:
        sock.close()
    assert 0.5 <= closed_after < 2.5


def test_a_client_that_does_not_read_its_answer_is_cut_at_the_deadline(serve):
    server = serve(deadline=0.8)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.server_port))
    try:
        sock.sendall(b"GET /big HTTP/1.1\r\n\r\n")
        time.sleep(1.2)  # past the deadline, reading nothing
        assert server.connections() == 0
        received = read_all(sock)
        assert len(received) < 16 * 1024 * 1024  # cut before the end
    finally:
        sock.close()
    assert get(server)[1].startswith(b"HTTP/1.1 200 OK\r\n")


def test_the_threads_stay_fixed_under_fifty_concurrent_connections(serve):
    before = len(health_threads())
    server = serve(threads=4)
    assert len(health_threads()) - before == 5  # four workers and the I/O thread
    slow = [connect(server, HALF) for dummy in range(25)]
    answers = []

    def client():
        answers.append(get(server)[1])
    clients = [threading.Thread(target=client) for dummy in range(25)]
    try:
        for thread in clients:
            thread.start()
        peak = 0
        while any(t.is_alive() for t in clients):
            peak = max(peak, len(health_threads()) - before)
            time.sleep(0.005)
        assert peak == 5
        assert len(answers) == 25 and all(a.startswith(b"HTTP/1.1 200 OK\r\n") for a in answers)
    finally:
        for thread in clients:
            thread.join(5)
        for sock in slow:
            sock.close()
    assert len(health_threads()) - before == 5


def test_past_the_connection_bound_the_oldest_slow_client_makes_room(serve):
    server = serve(max_connections=8, deadline=5.0)
    slow = [connect(server, HALF) for dummy in range(8)]
    try:
        assert wait_until(lambda: server.connections() == 8)
        seconds, answer = get(server)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and seconds < 1.0
        assert server.connections() <= 8
        slow[0].settimeout(2)
        assert read_all(slow[0]) == b""  # the oldest was closed for it
    finally:
        for sock in slow:
            sock.close()


def test_a_request_head_past_its_bound_is_closed_unanswered(serve):
    server = serve()
    sock = connect(server, b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: " + b"p" * 9000)
    try:
        assert read_all(sock) == b""
    finally:
        sock.close()


def test_shutdown_ends_every_thread_and_closes_the_port(serve):
    before = len(health_threads())
    server = health_mod.HealthServer("127.0.0.1", 0, respond).start()
    port = server.server_port
    slow = connect(server, HALF)
    server.shutdown()
    server.server_close()
    slow.close()
    assert wait_until(lambda: len(health_threads()) == before)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

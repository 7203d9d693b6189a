"""A stand-in for ClusterClient._send, the one seam every request goes through:
it records each request and answers from a table keyed by (method, path).

    transport = FakeTransport().install(client)
    transport.answer("GET", "/api/v1/namespaces/ns/secrets/x", not_found, {"metadata": ...})

An answer is a dict (the JSON body of a 200), an exception (raised), a
Response, or a callable of the Call giving one of those; the answers of one
(method, path) are used in order, the last one repeating. A request the
table has no entry for gets *fallback* (by default an empty Status).
"""

import collections
import json

Call = collections.namedtuple("Call", "method path query body content_type timeout")


class Response(object):
    """A raw (not preloaded) urllib3-like response: .data, .read(amt), .release_conn();
    .stream()/.close() for a watch, whose *lines* are its events."""

    def __init__(self, body=None, lines=None):
        self.data = json.dumps(body).encode("utf-8") if body is not None else b""
        self.lines = [json.dumps(line) + "\n" for line in (lines or [])]
        self.released = False
        self.closed = False

    def release_conn(self):
        self.released = True

    def read(self, amt=None):
        """The next *amt* bytes of .data (all that is left without *amt*); .read_bytes counts them."""
        start = getattr(self, "read_bytes", 0)
        chunk = self.data[start:] if amt is None else self.data[start:start + amt]
        self.read_bytes = start + len(chunk)
        return chunk

    def close(self):
        self.closed = True

    def stream(self, amt=None, decode_content=None):
        for line in self.lines:
            yield line.encode("utf-8")


class FakeTransport(object):

    def __init__(self, fallback=None):
        self.calls = []
        self.responses = []
        self.table = {}
        self.fallback = {"kind": "Status"} if fallback is None else fallback

    def install(self, client):
        client._send = self
        return self

    def answer(self, method, path, *answers):
        self.table[(method, path)] = list(answers)
        return self

    def __call__(self, method, path, query=None, body=None, content_type=None, timeout=None):
        call = Call(method, path, dict(query or {}), body, content_type, timeout)
        self.calls.append(call)
        queue = self.table.get((method, path))
        if queue:
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        else:
            answer = self.fallback
        if callable(answer) and not isinstance(answer, BaseException):
            answer = answer(call)
        if isinstance(answer, BaseException):
            raise answer
        response = answer if isinstance(answer, Response) else Response(answer)
        self.responses.append(response)
        return response

    def requests(self):
        """[(method, path)] of every request, in order."""
        return [(call.method, call.path) for call in self.calls]

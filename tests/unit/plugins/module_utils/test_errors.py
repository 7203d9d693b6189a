"""Readable, secret-free reasons; which failures are worth a retry; retries."""

import json
import socket
import ssl

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import (ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError,
                                ReadTimeoutError, SSLError)
from http.client import RemoteDisconnected

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import redaction
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MissingResourceTypeError, MulticlusterError, api_reason, format_error, is_missing_type,
    is_not_found, is_timeout, is_transient)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import REGISTRY_GROUP

TOKEN = "eyJhbGciOiJSUzI1NiJ9.s3cr3t-t0ken"


def api_error(status, body=None, reason=None, headers=None):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(body) if isinstance(body, dict) else body
    exc.headers = headers
    return exc


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}
    if details is not None:
        body["details"] = details
    return body


def object_not_found(name="east", kind="clusters", group=REGISTRY_GROUP):
    return api_error(404, status_body(404, "NotFound", '%s.%s "%s" not found' % (kind, group, name),
                                      {"name": name, "group": group, "kind": kind}), "Not Found")


def page_not_found():
    return api_error(404, "404 page not found\n", "Not Found")


def pool():
    return HTTPSConnectionPool("127.0.0.1", 1234)


def refused():
    conn = HTTPSConnection("127.0.0.1", 1234)
    cause = NewConnectionError(conn, "Failed to establish a new connection: [Errno 111] Connection refused")
    cause.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return MaxRetryError(pool(), "/api/v1/namespaces?token=%s" % TOKEN, cause)


def unresolvable():
    conn = HTTPSConnection("api.nowhere.invalid", 6443)
    return MaxRetryError(HTTPSConnectionPool("api.nowhere.invalid", 6443), "/api",
                         NameResolutionError("api.nowhere.invalid", conn,
                                             socket.gaierror(-2, "Name or service not known")))


def untrusted():
    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    inner.verify_message = "unable to get local issuer certificate"
    return MaxRetryError(pool(), "/api", SSLError(inner))


def reset():
    return ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


def read_timeout():
    return ReadTimeoutError(pool(), "/api", "Read timed out. (read timeout=3)")


def connect_timeout():
    conn = HTTPSConnection("127.0.0.1", 1234)
    return MaxRetryError(pool(), "/api", ConnectTimeoutError(conn, "TLS handshake timed out"))


def disconnected():
    return ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection without response"))


# --- api_reason ---------------------------------------------------------------------------

def test_reason_is_the_status_message():
    exc = api_error(403, status_body(403, "Forbidden", 'secrets "x" is forbidden: User "u" cannot get secrets'),
                    "Forbidden", headers={"Content-Type": "application/json"})
    assert api_reason(exc) == 'secrets "x" is forbidden: User "u" cannot get secrets'


def test_reason_from_a_bytes_body():
    exc = api_error(422, None, "Unprocessable Entity")
    exc.body = json.dumps(status_body(422, "Invalid", "Cluster.multicluster.coreos.com \"e\" is invalid")).encode()
    assert api_reason(exc) == 'Cluster.multicluster.coreos.com "e" is invalid'


def test_non_json_body_gives_status_and_reason_only():
    exc = api_error(502, "<html>upstream said %s</html>" % TOKEN, "Bad Gateway")
    assert api_reason(exc) == "HTTP 502 Bad Gateway"


def test_page_not_found_names_a_missing_type():
    text = api_reason(page_not_found())
    assert "resource type" in text and "404" in text and "page not found" not in text


def test_tokens_in_headers_and_body_never_reach_the_text():
    headers = {"Authorization": "Bearer %s" % TOKEN, "Audit-Id": "1", "X-Token": TOKEN}
    for body in ("not json: Authorization: Bearer %s" % TOKEN,
                 {"kind": "Secret", "data": {"token": TOKEN}},  # JSON, but no message
                 status_body(401, "Unauthorized", "Unauthorized")):
        exc = api_error(401, body, "Unauthorized", headers=headers)
        text = api_reason(exc)
        assert TOKEN not in text and "s3cr3t" not in text
        assert TOKEN not in format_error("read", "Secret", "ns/x", "east", exc)
    # str() of the client's exception does carry the headers: that is what api_reason avoids
    assert TOKEN in str(api_error(401, "x", "Unauthorized", headers=headers))


def test_a_status_message_quoting_a_bearer_token_is_redacted():
    exc = api_error(400, status_body(400, "BadRequest", "bad header Authorization: Bearer %s" % TOKEN))
    assert TOKEN not in api_reason(exc)
    assert "bad header" in api_reason(exc)


def test_other_exceptions_use_their_text_with_credentials_redacted():
    assert api_reason(ValueError("Missing the required parameter `name`")) == \
        "Missing the required parameter `name`"
    text = api_reason(RuntimeError("headers={'authorization': 'Bearer %s'} token=%s" % (TOKEN, TOKEN)))
    assert "s3cr3t" not in text and "authorization" in text
    assert api_reason(KeyError()) == "KeyError"


def test_tls_failure_reported_by_the_client_as_status_0():
    exc = ApiException(status=0, reason="SSLError\nHTTPSConnectionPool(host='h', port=6443): Max retries exceeded "
                                        "with url: /api?x=%s (Caused by SSLError(SSLCertVerificationError(1, "
                                        "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
                                        "certificate (_ssl.c:1006)')))" % TOKEN)
    text = api_reason(exc)
    assert text.startswith("TLS certificate verification failed") and "self-signed certificate" in text
    assert TOKEN not in text


@pytest.mark.parametrize("exc, expected", [
    (refused(), "cannot connect to https://127.0.0.1:1234: connection refused"),
    (unresolvable(), "cannot connect to https://api.nowhere.invalid:6443: cannot resolve host name "
                     "api.nowhere.invalid"),
    (reset(), "lost the connection to the API server: connection reset by peer"),
    (disconnected(), "lost the connection to the API server: the server closed it without a response"),
    (ReadTimeoutError(pool(), "/api", "Read timed out."), "no answer from https://127.0.0.1:1234: read timed out"),
])
def test_network_reasons(exc, expected):
    assert api_reason(exc) == expected
    assert TOKEN not in api_reason(exc)


def test_tls_reason_from_urllib3():
    text = api_reason(untrusted())
    assert text == ("cannot connect to https://127.0.0.1:1234: TLS certificate verification failed "
                    "(unable to get local issuer certificate)")


# --- not found and missing types ---------------------------------------------------------

def test_object_404_is_not_found_not_a_missing_type():
    assert is_not_found(object_not_found())
    assert not is_missing_type(object_not_found())


@pytest.mark.parametrize("exc", [
    page_not_found(),
    api_error(404, status_body(404, "NotFound", "the server could not find the requested resource", {})),
    api_error(404, status_body(404, "NotFound", "the server could not find the requested resource")),
    MissingResourceTypeError("x"),
])
def test_missing_types(exc):
    assert is_missing_type(exc)
    assert not is_not_found(exc)


def test_other_statuses_are_neither():
    exc = api_error(403, status_body(403, "Forbidden", "no"))
    assert not is_not_found(exc) and not is_missing_type(exc)
    assert not is_missing_type(ValueError("404"))


# --- is_transient ------------------------------------------------------------------------

@pytest.mark.parametrize("exc, transient", [
    (api_error(409, status_body(409, "Conflict", "the object has been modified")), False),  # re-read, not re-sent
    (api_error(429, status_body(429, "TooManyRequests", "slow down")), True),
    (api_error(500, "x", "Internal Server Error"), True),
    (api_error(502, "x", "Bad Gateway"), True),
    (api_error(503, "x", "Service Unavailable"), True),
    (api_error(504, "x", "Gateway Timeout"), True),
    (reset(), True),
    (disconnected(), True),
    (MaxRetryError(pool(), "/api", reset()), True),
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (RemoteDisconnected("closed"), True),
    (api_error(400, "x", "Bad Request"), False),
    (api_error(401, "x", "Unauthorized"), False),
    (api_error(403, "x", "Forbidden"), False),
    (api_error(404, "x", "Not Found"), False),
    (api_error(422, "x", "Unprocessable Entity"), False),
    (api_error(501, "x", "Not Implemented"), False),
    (ApiException(status=0, reason="SSLError\ncertificate verify failed"), False),
    (read_timeout(), True),
    (connect_timeout(), True),
    (socket.timeout("timed out"), True),
    (refused(), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
    (unresolvable(), False),
    (socket.gaierror(-2, "Name or service not known"), False),
    (untrusted(), False),
    (ssl.SSLError(1, "bad handshake"), False),
    (MulticlusterError("already wrapped"), False),
    (ValueError("boom"), False),
    (KeyError("x"), False),
])
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


@pytest.mark.parametrize("exc, timeout", [
    (read_timeout(), True),
    (connect_timeout(), True),
    (MaxRetryError(pool(), "/api", ReadTimeoutError(pool(), "/api", "Read timed out. (read timeout=3)")), True),
    (socket.timeout("timed out"), True),
    (refused(), False),  # NewConnectionError is a ConnectTimeoutError subclass in urllib3 2: not a timeout
    (unresolvable(), False),
    (reset(), False),
    (api_error(504, "x", "Gateway Timeout"), False),
    (ValueError("timeout"), False),
])
def test_is_timeout(exc, timeout):
    assert is_timeout(exc) is timeout


# --- format_error ------------------------------------------------------------------------

def test_format_error_reads_action_kind_name_cluster_reason():
    exc = api_error(403, status_body(403, "Forbidden", "secrets is forbidden"))
    assert format_error("create", "Secret", "tectonic-system/x", "east", exc) == \
        "create Secret tectonic-system/x on cluster 'east': secrets is forbidden"


def test_format_error_without_a_name():
    assert format_error("list", "Clusters", None, "dir", ValueError("boom")) == "list Clusters on cluster 'dir': boom"


@pytest.mark.parametrize("exc, group", [
    (page_not_found(), REGISTRY_GROUP),
    (api_error(404, status_body(404, "NotFound", "the server could not find the requested resource", {})),
     REGISTRY_GROUP),
    (MissingResourceTypeError("anything", group=REGISTRY_GROUP), None),
])
def test_missing_registry_api_reads_as_registry_not_installed(exc, group):
    assert format_error("read", "Cluster", "east", "directory", exc, group=group) == \
        "the multi-cluster registry is not installed on cluster 'directory' (no Cluster API)"


def test_registry_rule_is_narrow():
    # a Cluster object that is merely absent is not a missing registry
    assert "not installed" not in format_error("read", "Cluster", "east", "d", object_not_found(), REGISTRY_GROUP)
    # another group's missing type is reported plainly
    text = format_error("read", "Widget", "w", "d", page_not_found(), "example.com")
    assert text.startswith("read Widget w on cluster 'd': ") and "not installed" not in text
    # and so is a missing type with no group known
    assert "not installed" not in format_error("read", "Cluster", "east", "d", page_not_found())


def test_errors_carry_cluster_and_details():
    exc = MulticlusterError("m", cluster="east", details={"status": 409})
    assert str(exc) == "m" and exc.cluster == "east" and exc.details == {"status": 409}
    assert MulticlusterError("m").details == {}
    missing = MissingResourceTypeError("m", details={"group": REGISTRY_GROUP})
    assert isinstance(missing, MulticlusterError) and missing.group == REGISTRY_GROUP


def test_redact():
    text = redaction.redact("Authorization: Bearer abc.def, then 'token': 'xyz', password=hunter2 basic Zm9vOmJhcg==")
    for secret in ("abc.def", "xyz", "hunter2", "Zm9vOmJhcg=="):
        assert secret not in text

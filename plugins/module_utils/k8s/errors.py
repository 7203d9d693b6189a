# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's exception types, and readable, safe reasons for API and
network errors: what is transient, what is a timeout, how a failure is worded.

Reasons never carry request headers, bearer tokens or response bodies: from an
API error only the Status ``message`` is kept, from a network error only what
failed and where. Error handling works on plain attributes (``status``,
``body``, ``headers``, ``reason``, ``pool``), so this file needs neither the
kubernetes client nor urllib3 to import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import socket
import ssl

from http.client import RemoteDisconnected

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import REGISTRY_GROUP

try:
    from urllib3 import exceptions as _urllib3_exceptions
except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
    _urllib3_exceptions = None

# Status codes worth another try: throttling and the server or a proxy being
# briefly unavailable. A 409 is not: a conflict is retried by re-reading
# (ClusterClient.transaction), never by sending the same write again.
TRANSIENT_STATUS = frozenset((429, 500, 502, 503, 504))

_MAX_CAUSES = 8


class MulticlusterError(Exception):
    """The one error modules catch: its text is the whole message for the user.

    cluster: the label of the cluster it happened on, when known.
    details: a small dict of extra facts (HTTP status, API group, ...).
    """

    def __init__(self, message, cluster=None, details=None):
        super(MulticlusterError, self).__init__(message)
        self.message = message
        self.cluster = cluster
        self.details = dict(details or {})


class MissingResourceTypeError(MulticlusterError):
    """The API answered 404 for the resource type itself (no such CRD or API
    group), not for one object of it."""

    def __init__(self, message, cluster=None, details=None, group=None):
        super(MissingResourceTypeError, self).__init__(message, cluster, details)
        self.group = group if group is not None else self.details.get("group")


class ConflictError(MulticlusterError):
    """A write met a newer resourceVersion (HTTP 409 Conflict): re-read and try again."""


class AlreadyExistsError(ConflictError):
    """A create met an object of the same name (HTTP 409 AlreadyExists): read
    it and try again, which a transaction does."""


def _is_api_exception(exc):
    """An ApiException of the kubernetes client, recognised by its attributes
    so fakes and every client version qualify."""
    return isinstance(exc, Exception) and hasattr(exc, "status") and hasattr(exc, "body") and hasattr(exc, "reason")


def http_status(exc):
    """The HTTP status of an ApiException, else None."""
    if not _is_api_exception(exc):
        return None
    try:
        return int(exc.status)
    except (TypeError, ValueError):
        return None


def _status_body(exc):
    """The JSON Status object of an ApiException body, or None."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip().startswith("{"):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def is_not_found(exc):
    """True for a 404 about one object: a Status with reason NotFound naming it."""
    if http_status(exc) != 404:
        return False
    status = _status_body(exc)
    if not status or status.get("reason") != "NotFound":
        return False
    details = status.get("details")
    return isinstance(details, dict) and bool(details.get("name") or details.get("kind"))


def is_missing_type(exc):
    """True when the resource type itself does not exist: any 404 that is not
    a Status about one object (e.g. the plain-text "404 page not found")."""
    if isinstance(exc, MissingResourceTypeError):
        return True
    return http_status(exc) == 404 and not is_not_found(exc)


def _causes(exc):
    """exc and what it wraps: MaxRetryError.reason, ProtocolError's wrapped
    error, __cause__ and __context__."""
    seen = []
    todo = [exc]
    while todo and len(seen) < _MAX_CAUSES:
        current = todo.pop(0)
        if current is None or not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.append(getattr(current, "reason", None))
        todo.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        todo.append(current.__cause__)
        todo.append(current.__context__)
    return seen


def _urllib3(name):
    return getattr(_urllib3_exceptions, name, None) if _urllib3_exceptions is not None else None


def _isinstance(exc, name):
    cls = _urllib3(name)
    return cls is not None and isinstance(exc, cls)


def _is_tls(exc):
    return isinstance(exc, ssl.SSLError) or _isinstance(exc, "SSLError")


def _is_name_resolution(exc):
    return isinstance(exc, socket.gaierror) or _isinstance(exc, "NameResolutionError")


def _endpoint(exc):
    """scheme://host:port of the failed request, from a urllib3 pool or connection."""
    for current in _causes(exc):
        pool = getattr(current, "pool", None)
        if pool is not None and getattr(pool, "host", None):
            scheme = getattr(pool, "scheme", None) or "https"
            port = getattr(pool, "port", None)
            return "%s://%s%s" % (scheme, pool.host, ":%s" % port if port else "")
        conn = getattr(current, "conn", None)
        if conn is not None and getattr(conn, "host", None):
            port = getattr(conn, "port", None)
            return "%s%s" % (conn.host, ":%s" % port if port else "")
    return "the API server"


def _tls_detail(exc):
    for current in _causes(exc):
        if isinstance(current, ssl.SSLCertVerificationError):
            return "TLS certificate verification failed (%s)" % (current.verify_message or current.reason)
        if isinstance(current, ssl.SSLError) and getattr(current, "reason", None):
            return "TLS error (%s)" % current.reason
    return "TLS error"


def _network_reason(exc):
    """Reason for a urllib3 / socket error, or None when exc is not one."""
    causes = _causes(exc)
    where = _endpoint(exc)
    if any(_is_tls(c) for c in causes):
        return "cannot connect to %s: %s" % (where, _tls_detail(exc))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "cannot connect to %s: connection refused" % where
    for current in causes:
        if _is_name_resolution(current):
            host = where.split("://", 1)[-1].rsplit(":", 1)[0]
            return "cannot connect to %s: cannot resolve host name %s" % (where, host)
    if any(_isinstance(c, "ConnectTimeoutError") and not _isinstance(c, "NewConnectionError") for c in causes):
        return "cannot connect to %s: connection timed out" % where
    if any(isinstance(c, RemoteDisconnected) for c in causes):
        return "lost the connection to %s: the server closed it without a response" % where
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "lost the connection to %s: connection reset by peer" % where
    if any(_isinstance(c, "ReadTimeoutError") or isinstance(c, socket.timeout) for c in causes):
        return "no answer from %s: read timed out" % where
    if any(_isinstance(c, "ProtocolError") for c in causes):
        return "lost the connection to %s" % where
    if any(_isinstance(c, "NewConnectionError") or isinstance(c, ConnectionError) for c in causes):
        return "cannot connect to %s" % where
    if _isinstance(exc, "HTTPError"):
        return "request to %s failed (%s)" % (where, type(exc).__name__)
    return None


def api_reason(exc):
    """A readable reason for exc, safe to show: never headers, tokens or body
    data other than a Status message."""
    if _is_api_exception(exc):
        status = http_status(exc)
        if not status:
            # the client reports TLS and request-building failures as status 0
            text = str(getattr(exc, "reason", "") or "")
            if text.startswith("SSLError"):
                match = re.search(r"certificate verify failed:?\s*([^'\")(]*)", text)
                if match:
                    return "TLS certificate verification failed (%s)" % match.group(1).strip()
                return "TLS error"
            return redact(text.splitlines()[0].strip()) if text.strip() else "request failed"
        body = _status_body(exc)
        if body and isinstance(body.get("message"), str) and body["message"]:
            return redact(body["message"])
        reason = getattr(exc, "reason", None)
        text = "HTTP %s%s" % (status, " %s" % reason if reason else "")
        if status == 404:
            return "the server has no such resource type (%s)" % text
        return text
    network = _network_reason(exc)
    if network:
        return network
    text = redact(str(exc).strip())
    return text or type(exc).__name__


def is_timeout(exc):
    """True when the server did not answer in time (connect or read timeout).
    urllib3 makes NewConnectionError (refused, unreachable) a ConnectTimeoutError
    subclass: that alone is not a timeout."""
    causes = _causes(exc)
    if any(isinstance(c, ConnectionRefusedError) or _is_name_resolution(c) for c in causes):
        return False
    for current in causes:
        if _isinstance(current, "ReadTimeoutError") or isinstance(current, (socket.timeout, TimeoutError)):
            return True
        if _isinstance(current, "ConnectTimeoutError") and not _isinstance(current, "NewConnectionError"):
            return True
    return False


def is_transient(exc):
    """True when sending the same request again may work: 429 and 5xx gateway answers, a
    connection lost mid-request, and a timeout. False for refused
    connections, unknown host names, TLS failures (other than a handshake
    that timed out), other 4xx and anything else."""
    if _is_api_exception(exc):
        return http_status(exc) in TRANSIENT_STATUS
    if is_timeout(exc):
        return True
    causes = _causes(exc)
    for current in causes:
        if (isinstance(current, ConnectionRefusedError) or _is_name_resolution(current) or _is_tls(current)
                or _isinstance(current, "NewConnectionError")):
            return False
    for current in causes:
        if isinstance(current, (ConnectionResetError, RemoteDisconnected)) or _isinstance(current, "ProtocolError"):
            return True
    return False


def format_error(action, kind, name, cluster_label, exc, group=None, api=None):
    """"<action> <kind> <name> on cluster '<label>': <reason>".

    The one place with the rule that a missing resource type of the
    registry's API group means the registry is not installed (or is older
    than the kind).
    """
    group = group if group is not None else getattr(exc, "group", None)
    if group == REGISTRY_GROUP and is_missing_type(exc):
        return "the multi-cluster registry is not installed on cluster '%s' (no %s API)" % (
            cluster_label, api or kind or "registry")
    reason = str(exc) if isinstance(exc, MulticlusterError) else api_reason(exc)
    what = " ".join(str(part) for part in (action, kind, name) if part)
    return "%s on cluster '%s': %s" % (what, cluster_label, reason)


def in_step(name, fn, *args, **kwargs):
    """fn(...), a MulticlusterError from it naming its step (details.step): how a module that runs several
    steps (onboarding, de-registration) says which one failed."""
    try:
        return fn(*args, **kwargs)
    except MulticlusterError as exc:
        exc.details.setdefault("step", name)
        raise

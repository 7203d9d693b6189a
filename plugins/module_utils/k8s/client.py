# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClusterClient: the one way to reach a cluster's API.

Every kind of kinds.py, typed or custom, through the same verbs: get (not
found -> None), list (paged, label- and field-selected), create
(AlreadyExists -> AlreadyExistsError, handled once by create_or_get), patch
(guarded by resourceVersion: 409 -> ConflictError), replace, delete (gone ->
False) and watch. Results are plain dicts, as the server sent them.

Every request is bounded: a connect timeout and a read timeout, and a
deadline of ``request_timeout`` seconds (option, default 30) for the call
with its retries. Transient failures (429, 5xx, a lost connection, a
timeout) are retried with backoff within the deadline; after it the error
reads "<action> <Kind> <name> on cluster '<label>': the API server did not
answer within N s". Check mode is server-side dry run on every write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import discovery, kinds as _kinds
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.compare import MERGE_PATCH
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import connection_params
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.connection import (
    HAS_KUBERNETES, api_request, build_api_client, cluster_label, token_api_client)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    AlreadyExistsError,
    ConflictError,
    MissingResourceTypeError,
    MulticlusterError,
    format_error,
    http_status,
    is_missing_type,
    is_not_found,
    is_timeout,
    is_transient,
)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.retries import DeadlineExceeded, retry

DEFAULT_REQUEST_TIMEOUT = 30
CONNECT_TIMEOUT = 10
PAGE_SIZE = 500
# the verbs, as HTTP methods
_METHODS = {"read": "GET", "list": "GET", "create": "POST", "patch": "PATCH", "replace": "PUT", "delete": "DELETE"}
# query parameters, as this module names them and as the API spells them
_QUERY = {"limit": "limit", "_continue": "continue", "label_selector": "labelSelector",
          "field_selector": "fieldSelector", "dry_run": "dryRun", "resource_version": "resourceVersion",
          "timeout_seconds": "timeoutSeconds", "allow_watch_bookmarks": "allowWatchBookmarks", "watch": "watch"}
# the patch content types the API server takes; a caller names the one its patch was computed for
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"  # built-in kinds only
PATCH_TYPES = (MERGE_PATCH, STRATEGIC_MERGE_PATCH)


def _conflict_or_transient(exc):
    """For transactions (read-modify-write): a 409 re-runs the whole function."""
    if isinstance(exc, ConflictError):
        return True
    return not isinstance(exc, MulticlusterError) and is_transient(exc)


def _noun(action, kind):
    """How a kind is named in a message: its plural (the API resource) for a list."""
    return kind.plural if action == "list" else kind.kind


class TooLargeError(MulticlusterError):
    """An answer larger than the caller's bound: not read to its end, not retried."""


_CHUNK = 64 * 1024


def _read_bounded(response, max_bytes):
    """The body, read in chunks; None as soon as it passes *max_bytes* (the
    connection is then closed, not returned to the pool half read)."""
    chunks, size = [], 0
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            response.close()
            return None
        chunks.append(chunk)


def _decode(response, max_bytes=None, decode=json.loads):
    """The JSON body of a raw (not preloaded) response, as a dict; None when
    it is larger than *max_bytes* (when given). *decode*: of the text (a
    list's, item by item, drops what the caller never uses: json_lists)."""
    try:
        data = response.data if max_bytes is None else _read_bounded(response, max_bytes)
    finally:
        release = getattr(response, "release_conn", None)
        if release is not None:
            release()
    if data is None:
        return None
    if not data:
        return {}
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return decode(data)


class ClusterClient(object):
    """One cluster: the resource layer, check mode, and errors that read
    "<action> <Kind> <name> on cluster '<label>': <reason>"."""

    page_size = PAGE_SIZE  # the items a list asks for at a time

    def __init__(self, conn, check_mode=False, sleep=time.sleep, clock=time.monotonic, api_client=None):
        conn = connection_params(conn)
        self.api_client = api_client if api_client is not None else build_api_client(conn)
        self.configuration = self.api_client.configuration
        self.label = cluster_label(conn, self.configuration)
        self.server = self.configuration.host
        timeout = conn.get("request_timeout")
        self.timeout = float(DEFAULT_REQUEST_TIMEOUT if timeout is None else timeout)
        if self.timeout <= 0:
            raise MulticlusterError("request_timeout must be a positive number of seconds, not %s" % timeout)
        self.check_mode = bool(check_mode)
        self._sleep = sleep
        self._clock = clock
        self._deadline = None  # a transaction's: the calls in it share it

    def with_token(self, token, request_timeout=None):
        """A client of the same cluster (server, TLS trust, label) that
        authenticates with *token* alone: the revocation probe."""
        probe = ClusterClient({"request_timeout": request_timeout or self.timeout},
                              api_client=token_api_client(self.configuration, token),
                              sleep=self._sleep, clock=self._clock)
        probe.label = self.label
        return probe

    def impersonating(self, user):
        """A client of the same cluster and credential whose every request acts
        as *user* (header Impersonate-User): the API server authorizes each as
        that user, and refuses it (HTTP 403) where this credential may not
        impersonate. Cluster Policies applied from Ansible, as the agent."""
        api_client = type(self.api_client)(self.configuration)
        api_client.set_default_header("Impersonate-User", user)
        other = ClusterClient({"request_timeout": self.timeout}, check_mode=self.check_mode, api_client=api_client,
                              sleep=self._sleep, clock=self._clock)
        other.label = self.label
        return other

    def close(self):
        """Release the connections (the agent, on a credential reload)."""
        self.api_client.close()

    def ca_data(self):
        """PEM bytes of the CA this client trusts, or None (system trust store)."""
        data = getattr(self.configuration, "ca_cert_data", None)
        if data:
            return data.encode("ascii") if isinstance(data, str) else data
        path = self.configuration.ssl_ca_cert
        if not path:
            return None
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise MulticlusterError("cannot read the CA certificate %s of cluster '%s': %s"
                                    % (path, self.label, exc.strerror or type(exc).__name__),
                                    cluster=self.label) from None

    # --- errors -------------------------------------------------------------------------

    def error(self, action, kind, name, exc):
        """The MulticlusterError (or a subclass) for an API or network error."""
        kind = _kinds.lookup(kind)
        message = format_error(action, _noun(action, kind), name, self.label, exc, kind.group, kind.kind)
        status = http_status(exc)
        details = {"status": status} if status else {}
        if kind.group:
            details["group"] = kind.group
        if is_missing_type(exc):
            return MissingResourceTypeError(message, cluster=self.label, details=details, group=kind.group)
        if status == 409:
            cls = AlreadyExistsError if "AlreadyExists" in str(getattr(exc, "body", "") or "") else ConflictError
            return cls(message, cluster=self.label, details=details)
        return MulticlusterError(message, cluster=self.label, details=details)

    def _timed_out(self, action, kind, name, waited):
        what = " ".join(str(part) for part in (action, kind, name) if part)
        return MulticlusterError("%s on cluster '%s': the API server did not answer within %d s"
                                 % (what, self.label, round(self.timeout)), cluster=self.label,
                                 details={"timeout": self.timeout, "waited": round(waited, 1)})

    # --- the one request path ---------------------------------------------------------------

    def _request_timeout(self, remaining):
        remaining = max(0.5, remaining)
        return (min(CONNECT_TIMEOUT, remaining), remaining)

    def run(self, action, kind, name, fn, transient=is_transient):
        """fn(request_timeout tuple) within this client's deadline, retried on
        what *transient* accepts; every failure becomes a MulticlusterError."""
        kind = _kinds.lookup(kind)
        deadline = self._clock() + self.timeout
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        try:
            return retry(lambda remaining: fn(self._request_timeout(remaining)), transient, deadline,
                         sleep=self._sleep, clock=self._clock)
        except DeadlineExceeded as exc:
            if isinstance(exc.last, MulticlusterError):
                raise exc.last from None
            if is_timeout(exc.last):
                raise self._timed_out(action, _noun(action, kind), name, exc.waited) from None
            raise self.error(action, kind, name, exc.last) from None
        except MulticlusterError as exc:
            if exc.cluster is None:
                exc.cluster = self.label
            raise
        except Exception as exc:  # pylint: disable=broad-except
            if is_timeout(exc):
                raise self._timed_out(action, _noun(action, kind), name, self.timeout) from None
            raise self.error(action, kind, name, exc) from None

    def transaction(self, action, kind, name, fn):
        """fn() - a read-modify-write made of this client's calls - re-run
        when a write in it meets 409 Conflict; the calls in it share one
        deadline, so the whole transaction takes at most request_timeout."""
        if self._deadline is not None:  # already inside one: share it
            return self.run(action, kind, name, lambda timeout: fn(), _conflict_or_transient)
        self._deadline = self._clock() + self.timeout
        try:
            return self.run(action, kind, name, lambda timeout: fn(), _conflict_or_transient)
        finally:
            self._deadline = None

    def _send(self, method, path, query=None, body=None, content_type=None, timeout=None):
        """One HTTP request (connection.api_request): the raw response. query: this module's names (None: left out)."""
        pairs = [(_QUERY[key], ("true" if value else "false") if isinstance(value, bool) else value)
                 for key, value in (query or {}).items() if value is not None]
        return api_request(self.api_client, method, path, pairs, body, content_type, timeout)

    def _do(self, action, kind, verb, namespace=None, name=None, body=None, query=None, on_not_found=None,
            what=None, max_bytes=None, content_type=None, decode=json.loads):
        """One verb on one kind, bounded and retried; a dict back. on_not_found(first try?)
        gives the value of a 404 about the object itself (None: it is an error). An
        answer larger than *max_bytes* (when given) raises TooLargeError."""
        kind = _kinds.lookup(kind)
        if kind.parent:  # a subresource: *name* is its parent's
            path = _kinds.resource_path(kind, namespace, parent=name)
        else:
            path = _kinds.resource_path(kind, namespace, None if verb in ("list", "create") else name)
        query = dict(query or {})
        if verb in ("create", "patch", "replace", "delete") and self.check_mode and not kind.create_only:
            query["dry_run"] = "All"
        tries = []

        def attempt(request_timeout):
            tries.append(1)
            try:
                found = _decode(self._send(_METHODS[verb], path, query, body, content_type, request_timeout),
                                max_bytes, decode)
            except Exception as exc:  # pylint: disable=broad-except
                if on_not_found is not None and is_not_found(exc):
                    return on_not_found(len(tries) == 1)
                raise
            if found is None:
                raise TooLargeError("%s on cluster '%s': the answer is larger than %d bytes" % (
                    " ".join(part for part in (action, _noun(action, kind), what) if part), self.label, max_bytes),
                    cluster=self.label, details={"max_bytes": max_bytes})
            return found
        if what is None:
            what = _kinds.display(namespace, name if name is not None else (body or {}).get("metadata", {}).get("name"))
        return self.run(action, kind, what, attempt)

    # --- the verbs --------------------------------------------------------------------------

    def get(self, kind, name, namespace=None):
        """The object, or None when it does not exist (a missing resource type
        raises MissingResourceTypeError)."""
        return self._do("read", kind, "read", namespace, name, on_not_found=lambda first: None)

    def list(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=PAGE_SIZE):
        """(items sorted by namespace and name, resourceVersion of the list),
        every page of it."""
        items, version = [], None
        for page, version in self.pages(kind, namespace, label_selector, field_selector, page_size):
            items.extend(page)
        return sorted(items, key=_kinds.key_of), version

    def pages(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=PAGE_SIZE,
              max_bytes=None, resource_version=None, decode=json.loads):
        """The pages of a list as they arrive, each (items, resourceVersion of the list so far): a caller that stops
        iterating stops the reading. A page larger than *max_bytes* (when given) raises TooLargeError. Pages are
        consistent reads (etcd); resource_version "0" reads the watch cache, in one answer (it does not page; ask
        for page_size None). *decode*: see _decode."""
        kind = _kinds.lookup(kind)
        token, version = None, None
        what = ("in namespace %s" % namespace) if namespace else ""
        if label_selector:
            what = (what + " " if what else "") + "with labels %s" % label_selector
        while True:
            query = {"limit": page_size} if page_size else {}
            if token:
                query["_continue"] = token
            elif resource_version is not None:  # the first request only: a continued list is at its token's
                query["resource_version"] = resource_version
            if label_selector:
                query["label_selector"] = label_selector
            if field_selector:
                query["field_selector"] = field_selector
            page = self._do("list", kind, "list", namespace, query=query, what=what, max_bytes=max_bytes,
                            decode=decode)
            meta = page.get("metadata") or {}
            version = meta.get("resourceVersion") or version
            token = meta.get("continue")
            yield page.get("items") or [], version
            if not token:
                return

    def create(self, body, parent=None):
        """Create *body*; AlreadyExistsError when it exists (not retried).
        For a subresource kind (TokenRequest) *parent* is the parent's name."""
        namespace, name = _kinds.key_of(body)
        what = _kinds.display(namespace, parent or name or "")
        return self._do("create", body["kind"], "create", namespace or None, parent, body, what=what)

    def create_or_get(self, body):
        """(object, created?): create *body*, or the live object when another
        writer created it first (409 AlreadyExists)."""
        try:
            return self.create(body), True
        except AlreadyExistsError:
            namespace, name = _kinds.key_of(body)
            found = self.get(body["kind"], name, namespace or None)
            if found is None:
                raise
            return found, False

    def patch(self, kind, name, patch, namespace=None, *, content_type):
        """Patch an object with *patch*, sent as *content_type*: the type it was computed for (MERGE_PATCH
        for every patch the collection computes; a strategic merge patch only on a built-in kind). A
        resourceVersion in the patch makes a concurrent write a ConflictError (re-run by transaction())."""
        if content_type not in PATCH_TYPES:
            raise ValueError("patch content type %r is not one of %s" % (content_type, ", ".join(PATCH_TYPES)))
        if content_type == STRATEGIC_MERGE_PATCH and not _kinds.lookup(kind).builtin:
            raise ValueError("a strategic merge patch applies to built-in kinds only, not %s" % _kinds.lookup(kind).kind)
        return self._do("update", kind, "patch", namespace, name, patch, content_type=content_type)

    def replace(self, body):
        """PUT the whole object (its metadata.resourceVersion guards it)."""
        namespace, name = _kinds.key_of(body)
        return self._do("replace", body["kind"], "replace", namespace or None, name, body)

    def delete(self, kind, name, namespace=None):
        """True when deleted (or would be, in check mode), False when already
        gone. NotFound on a retry counts as deleted: the attempt that failed
        in transit may well have deleted it."""
        result = self._do("delete", kind, "delete", namespace, name, on_not_found=lambda first: not first)
        return result is not False

    def namespace_contents(self, namespace):
        """Every object in *namespace*, of every type the server lists (discovery.namespace_contents)."""
        return discovery.namespace_contents(self, namespace)

    def get_path(self, action, what, path, query=None):
        """GET an API path (discovery, a type known only by its path) within this client's deadline; a dict back."""
        ns_kind = _kinds.KINDS["Namespace"]
        return self.run(action, ns_kind, what, lambda timeout: _decode(self._send("GET", path, query, timeout=timeout)))

    def watch(self, kind, resource_version, timeout_seconds, watcher, label_selector=None):
        """The events of a watch from *resource_version*, for at most
        *timeout_seconds* (the server ends it; the read timeout is that plus
        this client's request_timeout). *watcher*: a kubernetes.watch.Watch."""
        path = _kinds.resource_path(kind)

        # No docstring and no return annotation, on purpose: Watch then yields the events as raw dicts
        # instead of deserialising them into the client's models (whose import costs most of a second).
        def list_watch(_preload_content=False, _request_timeout=None, **query):
            return self._send("GET", path, query, timeout=_request_timeout)
        query = {"resource_version": resource_version, "timeout_seconds": int(timeout_seconds),
                 "allow_watch_bookmarks": True,
                 "_request_timeout": (min(CONNECT_TIMEOUT, self.timeout), timeout_seconds + self.timeout)}
        if label_selector:
            query["label_selector"] = label_selector
        for event in watcher.stream(list_watch, **query):
            obj = event.get("raw_object") or event.get("object") or {}
            yield event.get("type"), obj if isinstance(obj, dict) else {}


__all__ = ["ClusterClient", "HAS_KUBERNETES", "DEFAULT_REQUEST_TIMEOUT", "TooLargeError"]

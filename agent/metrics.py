# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's metrics: what the sync loop did, for Prometheus on /metrics
(docs/monitoring.md). Label values come from small fixed sets, never from
an error's text or a credential."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    from prometheus_client import CollectorRegistry, Counter, Gauge
    from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
except ImportError:  # the agent still runs; /metrics answers 503
    CollectorRegistry = None

from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import DirectoryError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import TRANSIENT_STATUS, MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import current_token
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.tokens import token_facts
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as policy_outcomes

PREFIX = "directory_sync_"

# the reason label of directory_sync_errors_total: nothing else, ever
CREDENTIAL_REFUSED = "credential_refused"        # the directory answered 401 or 403
CREDENTIAL_UNUSABLE = "credential_unusable"      # the kubeconfig file cannot be read, parsed or used
DIRECTORY_UNREACHABLE = "directory_unreachable"  # timeout, connection or TLS error, 429/5xx
DIRECTORY_API_MISSING = "directory_api_missing"  # 404: the directory has no Cluster API
DIRECTORY_OVER_LIMIT = "directory_over_limit"    # more objects, or larger ones, than the replica accepts
REPLICA_ERROR = "replica_error"                  # the directory was read, the replica failed
OTHER = "other"
REASONS = (CREDENTIAL_REFUSED, CREDENTIAL_UNUSABLE, DIRECTORY_UNREACHABLE, DIRECTORY_API_MISSING,
           DIRECTORY_OVER_LIMIT, REPLICA_ERROR, OTHER)

UNAVAILABLE = "/metrics is not available: the prometheus_client Python library is not installed\n"
_VERSION_LINE = re.compile(r"""^version:\s*["']?([0-9A-Za-z.+-]+)""", re.MULTILINE)


def collection_version(path=None):
    """The version in the collection's galaxy.yml (next to agent/), or "unknown"."""
    if path is None:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "galaxy.yml")
    try:
        with open(path) as handle:
            match = _VERSION_LINE.search(handle.read())
    except (IOError, OSError, UnicodeError):
        return "unknown"
    return match.group(1) if match else "unknown"


VERSION = collection_version()


def sync_error_reason(exc):
    """The reason label of a failed sync, from the exception's type and details (never its text)."""
    if isinstance(exc, DirectoryError):
        details = exc.details or {}
        if details.get("limit"):
            return DIRECTORY_OVER_LIMIT
        status = details.get("status")
        if status in (401, 403):
            return CREDENTIAL_REFUSED
        if status == 404:
            return DIRECTORY_API_MISSING
        if details.get("timeout") is not None or not status or status in TRANSIENT_STATUS:
            return DIRECTORY_UNREACHABLE  # no HTTP status: the request got no answer
        return OTHER
    if isinstance(exc, MulticlusterError):
        return REPLICA_ERROR  # sync() raises DirectoryError for everything about the directory
    return OTHER


def credential_expiry(config):
    """The exp claim (seconds since the epoch) of the credential's token (a
    kubeconfig.Credential, or a kubeconfig read as one), or None."""
    try:
        token, dummy = current_token(config)
    except Exception:  # pylint: disable=broad-except
        return None
    if token is None:
        return None
    return token_facts(token).get("expires")


class NoMetrics(object):
    """Metrics that record nothing: the Agent's default, and the agent's
    metrics when prometheus_client is not installed (/metrics answers 503)."""

    available = False

    def sync_succeeded(self, result, now):
        """A sync succeeded at *now* (seconds since the epoch) with sync()'s *result*."""

    def sync_failed(self, reason, now):
        """A sync failed at *now*; *reason* is one of REASONS."""

    def credential_loaded(self, config):
        """The directory credential *config* (a kubeconfig.Credential) was loaded and is used from now on."""

    def credential_failed(self, now):
        """The directory kubeconfig could not be loaded or used: none is used any more."""

    def render(self):
        """(HTTP status, content type, body bytes) of /metrics."""
        return 503, "text/plain; charset=utf-8", UNAVAILABLE.encode("utf-8")


class Metrics(NoMetrics):
    """The agent's metrics in a registry of their own (several agents, or
    tests, in one process do not clash). Thread-safe: the sync loop records,
    the health server renders."""

    available = True

    def __init__(self, version=None):
        self.registry = CollectorRegistry()
        registry = self.registry
        self.last_success = Gauge(PREFIX + "last_success_timestamp_seconds",
                                  "When the last successful sync finished (seconds since the epoch, 0 before one)",
                                  registry=registry)
        self.last_attempt = Gauge(PREFIX + "last_attempt_timestamp_seconds",
                                  "When the last sync was attempted, successful or not (seconds since the epoch)",
                                  registry=registry)
        self.held = Gauge(PREFIX + "objects_held", "Objects the agent holds on the replica after the last "
                          "successful sync, by kind (source)", ["kind"], registry=registry)
        self.errors = Counter(PREFIX + "errors", "Failed syncs, by reason (%s)" % ", ".join(REASONS), ["reason"],
                              registry=registry)
        for reason in REASONS:
            self.errors.labels(reason)  # every series from 0, so that increase() sees the first error
        self.expiry = Gauge(PREFIX + "credential_expiry_timestamp_seconds",
                            "When the directory credential's token expires (exp claim, seconds since the epoch); "
                            "NaN when it has none or no credential is loaded", registry=registry)
        self.expiry.set(float("nan"))
        self.policies = Gauge(PREFIX + "policies", "Cluster Policies on this replica after the last successful sync, "
                              "by state (%s)" % ", ".join(policy_outcomes.STATES), ["state"], registry=registry)
        for state in policy_outcomes.STATES:
            self.policies.labels(state)  # every state from 0
        self.build = Gauge(PREFIX + "build_info", "The agent's version (the collection's), always 1", ["version"],
                           registry=registry)
        self.build.labels(version or VERSION).set(1)

    def sync_succeeded(self, result, now):
        self.last_attempt.set(now)
        self.last_success.set(now)
        for kind, counts in sorted(((result or {}).get("counts") or {}).items()):
            if isinstance(counts, dict) and isinstance(counts.get("held"), int):
                self.held.labels(str(kind)).set(counts["held"])
        by_state = policy_outcomes.counts((result or {}).get("policies"))
        for state in policy_outcomes.STATES:  # a fixed set of label values: states the syncer never writes go nowhere
            self.policies.labels(state).set(by_state.get(state, 0))

    def sync_failed(self, reason, now):
        self.last_attempt.set(now)
        self.errors.labels(reason if reason in REASONS else OTHER).inc()

    def credential_loaded(self, config):
        expires = credential_expiry(config)
        self.expiry.set(float("nan") if expires is None else expires)

    def credential_failed(self, now):
        self.expiry.set(float("nan"))
        self.sync_failed(CREDENTIAL_UNUSABLE, now)

    def render(self):
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)


def new_metrics(version=None):
    """The agent's metrics: Metrics, or NoMetrics without prometheus_client."""
    return Metrics(version) if CollectorRegistry is not None else NoMetrics()

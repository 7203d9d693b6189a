# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the agent tells the directory about its own replica, the one write its view-only credential allows
(credentials/objects.desired_health_grants): its heartbeat, a Lease it renews every period in a thread of its
own (a long sync does not delay it), and the conditions on its own Cluster's status, written after a sync when
they change (registry/health.py builds both)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import logging
import threading
import time

from ansible_collections.coreos.multicluster.agent.logs import log
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.compare import MERGE_PATCH
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    ConflictError, MulticlusterError, http_status)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import validate_name
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
from ansible_collections.coreos.multicluster.plugins.module_utils import names


WAIT_FOR_CLIENT = 1.0  # seconds between looks for the agent's directory client, until it has one
RETRY = 10.0  # seconds before a failed renewal is tried again (or the period, when shorter)
REFRESH = 600.0  # seconds after which the Cluster's status and the replica's version are read again


def _status(exc):
    """The HTTP status of a failed request (the client's MulticlusterError names it in its details), or None."""
    return (getattr(exc, "details", None) or {}).get("status") or http_status(exc)


def _reason(exc):
    return str(exc) if isinstance(exc, MulticlusterError) else "%s: %s" % (type(exc).__name__, redact(str(exc)))


class Identity(object):
    """The replica's Cluster name in the directory: --cluster-name, else clusterName of ConfigMap
    tectonic-system/tectonic-config on the replica (the registry role writes it), read when first needed and
    again after a failure (at most every RETRY seconds), so that a replica down at start delays nothing else."""

    def __init__(self, replica, given=None, clock=time.monotonic):
        self.replica = replica
        self._name = given or None
        self._clock = clock
        self._next_try = 0.0
        self._lock = threading.Lock()

    def name(self):
        with self._lock:
            if self._name or self._clock() < self._next_try:
                return self._name
            self._next_try = self._clock() + RETRY
            try:
                found = self.replica.get("ConfigMap", names.CLUSTER_CONFIG_MAP, names.SYSTEM_NAMESPACE) or {}
                name = (found.get("data") or {}).get(names.CLUSTER_NAME_KEY)
                if not name:
                    raise MulticlusterError("ConfigMap %s/%s on the replica has no %s (give --cluster-name)" % (
                        names.SYSTEM_NAMESPACE, names.CLUSTER_CONFIG_MAP, names.CLUSTER_NAME_KEY))
                self._name = validate_name(name, "%s of ConfigMap %s/%s on the replica" % (
                    names.CLUSTER_NAME_KEY, names.SYSTEM_NAMESPACE, names.CLUSTER_CONFIG_MAP))
                log(logging.INFO, "cluster name read from the replica", cluster=self._name)
            except Exception as exc:  # pylint: disable=broad-except
                log(logging.WARNING, "cannot tell which Cluster this replica is: no heartbeat and no status yet",
                    reason=_reason(exc), retry_in=RETRY)
            return self._name


class Heartbeat(object):
    """Renews Lease tectonic-multi-cluster/<cluster> in the directory every *period* seconds, through the
    directory client the agent holds at that moment (directory_of(): None while it has none)."""

    def __init__(self, identity, period, directory_of, stop, wall=time.time):
        self.identity = identity
        self.period = float(period)
        self.directory_of = directory_of
        self.stop = stop
        self._wall = wall
        self._lease = None  # as last read or written, so that a renewal is one request
        self._client = None
        self._problem = None  # the reason of the last failure, logged once until it changes or passes
        self.renewals = 0
        self.failures = 0
        self.thread = None

    def beat(self):
        """One renewal; True when it was written, False when it failed (the Lease is read again next time), None
        while the agent has no directory client (its credential not loaded yet, or refused)."""
        directory = self.directory_of()
        cluster = self.identity.name() if directory is not None else None
        if cluster is None:
            return None
        if self._client is not directory:
            self._client, self._lease = directory, None
        try:
            try:
                self._renew(directory, cluster)
            except ConflictError:  # written meanwhile (by an agent of the same replica restarting): read it again
                self._lease = None
                self._renew(directory, cluster)
        except Exception as exc:  # pylint: disable=broad-except
            self._lease = None
            self.failures += 1
            reason = _reason(exc)
            if reason != self._problem:  # once, not every RETRY seconds (a replica onboarded before heartbeats)
                log(logging.WARNING, "cannot renew the heartbeat", lease="%s/%s" % (
                    names.HEARTBEAT_NAMESPACE, cluster), reason=reason, retry_in=min(self.period, RETRY))
            self._problem = reason
            return False
        self.renewals += 1
        if self._problem is not None:
            log(logging.INFO, "heartbeat renewed again", cluster=cluster)
            self._problem = None
        log(logging.DEBUG, "heartbeat renewed", cluster=cluster)
        return True

    def _renew(self, directory, cluster):
        if self._lease is None:
            self._lease = directory.get("Lease", cluster, names.HEARTBEAT_NAMESPACE)
            if self._lease is None:
                raise MulticlusterError("Lease %s/%s does not exist in the directory (onboard the replica again)"
                                        % (names.HEARTBEAT_NAMESPACE, cluster))
        self._lease = directory.replace(health.renewed(self._lease, cluster, self.period, self._wall()))

    def run(self):
        while not self.stop.is_set():
            done = self.beat()
            self.stop.wait(self.period if done else min(self.period, WAIT_FOR_CLIENT if done is None else RETRY))

    def start(self):
        self.thread = threading.Thread(target=self.run, name="heartbeat")
        self.thread.daemon = True
        self.thread.start()


class ClusterStatus(object):
    """Writes the replica's own Cluster's status (conditions Synced and PoliciesApplied, policiesApplied,
    kubernetesVersion, agentVersion) after each sync, when it differs from what the Cluster holds."""

    def __init__(self, identity, replica, agent_version, wall=time.time):
        self.identity = identity
        self.replica = replica
        self.agent_version = agent_version
        self._wall = wall
        self._live = None  # the Cluster's status as last read or written (None: read it)
        self._version = None  # the replica's Kubernetes version
        self._read_at = None  # when both were read (they are read again after REFRESH seconds)
        self._not_before = None  # after a refusal (403, 404): no request before this time
        self._problem = None  # the reason of the last failure, logged once until it changes
        self.writes = 0

    def _kubernetes_version(self):
        if self._version is None:
            try:
                found = self.replica.get_path("read", "the API server's version", "/version")
                self._version = str(found.get("gitVersion") or "")[:64] or None
            except Exception as exc:  # pylint: disable=broad-except
                log(logging.WARNING, "cannot read the replica's Kubernetes version", reason=_reason(exc))
        return self._version

    def report(self, directory, synced, reason=None, policy_status=None):
        """Write the status a sync's outcome makes, if it changed; True when written."""
        cluster = self.identity.name() if directory is not None else None
        if cluster is None:
            return False
        now = self._wall()
        if self._not_before is not None and now < self._not_before:
            return False
        if self._read_at is None or now - self._read_at >= REFRESH:
            self._live, self._version, self._read_at = None, None, now
        try:
            if self._live is None:
                found = directory.get("Cluster", cluster)
                if found is None:
                    raise MulticlusterError("Cluster %s is not in the directory" % cluster, details={"status": 404})
                self._live = found.get("status") if isinstance(found.get("status"), dict) else {}
            wanted = health.cluster_status(self._live, synced, reason, policy_status, self._kubernetes_version(),
                                           self.agent_version, now)
            patch = health.status_patch(self._live, wanted)
            if patch is None:
                return False
            written = directory.patch("ClusterStatus", cluster, patch, content_type=MERGE_PATCH)
            self._live = written.get("status") if isinstance(written.get("status"), dict) else wanted
        except Exception as exc:  # pylint: disable=broad-except
            self._live = None
            refused = _status(exc) in (403, 404)  # no grant or no Cluster: not before REFRESH, not every sync
            self._not_before = now + REFRESH if refused else None
            reason = _reason(exc)
            if reason != self._problem:
                log(logging.WARNING, "cannot write the Cluster's status", cluster=cluster, reason=reason,
                    retry_in=REFRESH if refused else "at the next sync")
            self._problem = reason
            return False
        self._not_before, self._problem = None, None
        self.writes += 1
        log(logging.INFO, "Cluster status written", cluster=cluster,
            conditions=dict((c["type"], c["status"]) for c in wanted["conditions"]))
        return True

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The directory-sync agent: the replica's long-running syncer.

    python -m ansible_collections.coreos.multicluster.agent \\
        [--kubeconfig REPLICA_KUBECONFIG [--context CONTEXT]] \\
        --directory-kubeconfig /etc/directory-sync/kubeconfig

It runs the engine of directory_sync (the one mc_directory_sync runs once),
informer-style (agent/loop.py):

* at start it lists the directory's Clusters and ClusterPolicies once, from
  the API server's watch cache, into a compact view of what the sync uses,
  and syncs the replica in full from it;
* a watch on each kind, from the list's resourceVersion, keeps the view up to
  date one event at a time: a changed Cluster is brought onto the replica
  within a fraction of a second, with one read and at most one write there
  and no directory request (a change the policies depend on syncs the
  replica in full from the view); an event that changes only a status costs
  nothing;
* the directory is listed again only when a watch expired (410 Gone), the
  credential changed, or every --relist-period seconds (default 1800, give
  or take 10%); the replica is synced in full from the view every
  --resync-period seconds (default 300), which repairs what was changed on
  it by hand;
* every API call is bounded by --request-timeout seconds (default 30),
  retries included, so a frozen API server fails a sync instead of hanging it;
* on failure, jittered exponential backoff (1 s doubling to --backoff-max);
* the directory kubeconfig is a file (the directory-sync Secret mounted in
  the pod): when its content changes it is reloaded and a sync runs at once;
* the directory is refused, nothing on the replica changed and the status
  says why, when it holds more Clusters than --max-clusters (10,000) or
  ClusterPolicies than --max-cluster-policies (1,000), a policy with more
  namespaces than --max-policy-namespaces (100), or an object larger than
  --max-object-bytes (256 KiB as the sync keeps it); its lists are read a page
  at a time, each object stripped to what the sync uses as it arrives, and
  the reading stops at the limit (sync/plan.Limits);
* its replica's health in the directory (agent/heartbeat.py), the one write
  its credential allows: it renews the Lease named after its Cluster
  (--cluster-name, default tectonic-system/tectonic-config's clusterName on
  the replica) every --heartbeat-period seconds (default 60), and writes the
  conditions of its last sync on its own Cluster's status when they change;
* HTTP /healthz answers 200 when the last sync succeeded and did so within
  --health-window seconds (default twice the resync period), else 503;
  /livez answers 200 while the sync loop runs (for a liveness probe that
  does not restart the pod because the directory is down);
* HTTP /metrics on the same port: Prometheus metrics (docs/monitoring.md),
  503 when the prometheus_client library is not installed;
* one JSON object per line on stderr, never a credential;
* SIGTERM or SIGINT stops it, exit code 0, within about two seconds.

Without --kubeconfig it uses the default kubeconfig if there is one, else
the pod's service account (in-cluster config), as ClusterClient does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import functools
import logging
import os
import signal
import threading

from ansible_collections.coreos.multicluster.agent.health import Health, serve_health
from ansible_collections.coreos.multicluster.agent.heartbeat import ClusterStatus, Heartbeat, Identity
from ansible_collections.coreos.multicluster.agent.logs import configure_logging, log
from ansible_collections.coreos.multicluster.agent.loop import (
    DEFAULT_RELIST, DEFAULT_RELOAD_INTERVAL, DEFAULT_RESYNC, Agent, CredentialFile)
from ansible_collections.coreos.multicluster.agent.metrics import VERSION, new_metrics
from ansible_collections.coreos.multicluster.agent.watcher import Watcher, k8s_watch
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import DEFAULT_REQUEST_TIMEOUT, ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import sync
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.view import DirectoryView
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.retries import Backoff
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import validate_name
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.health import (
    DEFAULT_HEARTBEAT_PERIOD, MAX_HEARTBEAT_PERIOD)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DEFAULT_MAX_CLUSTER_POLICIES, DEFAULT_MAX_CLUSTERS, DEFAULT_MAX_OBJECT_BYTES, DEFAULT_MAX_POLICY_NAMESPACES,
    DEFAULT_STATUS_INTERVAL, SOURCES, Limits)

DEFAULT_CREDENTIAL_FILE = "/etc/directory-sync/kubeconfig"
DEFAULT_HEALTH_PORT = 8080
DEFAULT_BACKOFF_MAX = 60.0
STOP_GRACE = 1.5
WATCH_TIMEOUT = 300  # seconds a watch request lasts before it is made again from where it ended


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
                             "(default: $DIRECTORY_KUBECONFIG or %s); reloaded when it changes"
                             % DEFAULT_CREDENTIAL_FILE)
    parser.add_argument("--resync-period", type=float, default=DEFAULT_RESYNC,
                        help="seconds between full syncs of the replica from the agent's view of the directory, "
                             "which make no directory request (default %(default)s)")
    parser.add_argument("--relist-period", type=float, default=DEFAULT_RELIST,
                        help="seconds between lists of the directory (from its watch cache), give or take 10%% "
                             "(default %(default)s); between them, watch events keep the view up to date")
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
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT,
                        help="seconds an API call may take, retries included (default %(default)s)")
    parser.add_argument("--max-clusters", type=int, default=DEFAULT_MAX_CLUSTERS,
                        help="refuse a directory holding more Clusters (default %(default)s)")
    parser.add_argument("--max-cluster-policies", type=int, default=DEFAULT_MAX_CLUSTER_POLICIES,
                        help="refuse a directory holding more ClusterPolicies (default %(default)s)")
    parser.add_argument("--max-policy-namespaces", type=int, default=DEFAULT_MAX_POLICY_NAMESPACES,
                        help="refuse a directory with a ClusterPolicy of more namespaces (default %(default)s)")
    parser.add_argument("--max-object-bytes", type=int, default=DEFAULT_MAX_OBJECT_BYTES,
                        help="refuse a directory with a larger object, counted as JSON of the fields the sync "
                             "keeps (default %(default)s)")
    parser.add_argument("--cluster-name", help="the replica's Cluster in the directory, whose heartbeat Lease and "
                                               "status the agent writes (default: clusterName of ConfigMap "
                                               "tectonic-system/tectonic-config on the replica)")
    parser.add_argument("--heartbeat-period", type=int, default=DEFAULT_HEARTBEAT_PERIOD,
                        help="seconds between renewals of the heartbeat Lease, from 1 to %d (readers do not "
                             "believe a longer one; default %%(default)s)" % MAX_HEARTBEAT_PERIOD)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    if not 1 <= args.heartbeat_period <= MAX_HEARTBEAT_PERIOD:
        parser.error("--heartbeat-period must be from 1 to %d" % MAX_HEARTBEAT_PERIOD)
    for option in ("resync_period", "relist_period", "reload_interval", "backoff_max", "request_timeout"):
        if getattr(args, option) <= 0:
            parser.error("--%s must be more than 0" % option.replace("_", "-"))
    if args.status_interval < 0:
        parser.error("--status-interval must be 0 or more")
    try:
        args.limits = Limits(args.max_clusters, args.max_cluster_policies, args.max_policy_namespaces,
                             args.max_object_bytes)
    except ValueError as exc:
        parser.error("--" + str(exc).replace("_", "-"))
    return args


def connect(args, what):
    """The ClusterClient of --kubeconfig/--context (or the pod's service account), every call bounded by
    --request-timeout; None, after logging why, when it cannot be made."""
    try:
        return ClusterClient({"kubeconfig": args.kubeconfig, "context": args.context,
                              "request_timeout": args.request_timeout})
    except MulticlusterError as exc:
        log(logging.ERROR, "cannot connect to %s" % what, reason=str(exc))
        return None


def make_agent(args, replica, credential, health=None, metrics=None, reporter=None):
    """The Agent of these arguments (parse_args) on *replica*, reading the directory credential from *credential*
    (a CredentialFile), with one Watcher per kind the sync reads (not started)."""
    agent = Agent(replica, credential, resync=args.resync_period, relist=args.relist_period,
                  status_interval=args.status_interval, reload_interval=args.reload_interval,
                  backoff=Backoff(1.0, args.backoff_max), health=health, request_timeout=args.request_timeout,
                  metrics=metrics, sync_fn=functools.partial(sync, limits=args.limits, diff=False),
                  read_view=functools.partial(DirectoryView.read, sources=SOURCES, limits=args.limits),
                  reporter=reporter)
    kinds = []
    for source in SOURCES:
        kinds.extend(kind for kind in source.reads if kind not in kinds)
    timeout = min(WATCH_TIMEOUT, args.relist_period)
    agent.watchers = [Watcher(kind, agent.on_event, agent.stop, timeout=timeout, until=agent.until_relist)
                      for kind in kinds]
    return agent


def main(argv=None, stream=None):
    args = parse_args(argv)
    configure_logging(stream, getattr(logging, args.log_level.upper()))
    if k8s_watch is None:
        log(logging.ERROR, "the kubernetes Python library is not installed")
        return 2
    replica = connect(args, "the replica")
    if replica is None:
        return 2
    if args.cluster_name:
        try:
            validate_name(args.cluster_name, "--cluster-name")
        except MulticlusterError as exc:
            log(logging.ERROR, "cannot tell which Cluster this replica is", reason=str(exc))
            return 2
    identity = Identity(replica, args.cluster_name)
    window = args.health_window or 2 * args.resync_period
    health = Health(window, max(120.0, 3 * args.resync_period))
    metrics = new_metrics()
    agent = make_agent(args, replica, CredentialFile(args.directory_kubeconfig), health=health, metrics=metrics,
                       reporter=ClusterStatus(identity, replica, VERSION))
    heartbeat = Heartbeat(identity, args.heartbeat_period, lambda: agent.directory, agent.stop)
    try:
        server = serve_health(health, args.health_address, args.health_port, metrics)
    except (OSError, IOError) as exc:
        log(logging.ERROR, "cannot serve the health endpoint", address=args.health_address, port=args.health_port,
            reason=exc.strerror or str(exc))
        return 2

    def on_signal(signum, frame):
        agent.request_stop()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log(logging.INFO, "started", replica=replica.label, cluster=args.cluster_name, directory_kubeconfig=args.directory_kubeconfig,
        health_port=server.server_port, resync_period=args.resync_period, relist_period=args.relist_period,
        limits=args.limits.options())
    if not metrics.available:
        log(logging.WARNING, "the prometheus_client Python library is not installed: /metrics answers 503")
    heartbeat.start()
    for watcher in agent.watchers:
        watcher.start()
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

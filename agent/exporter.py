# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ClusterProfile exporter: the agent's ``export-profiles`` mode, run on the directory.

    python -m ansible_collections.coreos.multicluster.agent export-profiles \\
        [--kubeconfig KUBECONFIG [--context CONTEXT]] [--namespace fleet-inventory] [--period 15]

* every --period seconds it runs registry/profiles.export (the same export as mc_cluster_profiles) with its budget:
  a profile's status is written at most once per 30 s, except on a health transition (KEP-4322);
* every API call is bounded by --request-timeout seconds (default 30);
* one JSON line per run on stderr (agent/logs.py): what it created, updated, deleted, held back, the conflicts,
  and how long it took; never a credential;
* SIGTERM or SIGINT stops it within 2 s (a run that hangs on the network is abandoned).

Without --kubeconfig it uses the default kubeconfig if there is one, else the pod's service account (in-cluster
config), as ClusterClient does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import logging
import signal
import threading
import time

from ansible_collections.coreos.multicluster.agent.logs import configure_logging, log
from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.agent.cli import connect
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import DEFAULT_REQUEST_TIMEOUT
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health, profiles

MODE = "export-profiles"
DEFAULT_PERIOD = 15.0
STOP_GRACE = 1.5  # seconds a stopping exporter waits for its run to end (SIGTERM to exit: under 2 s)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="agent " + MODE, description="Keep one ClusterProfile per Cluster of the "
                                     "directory (multicluster.x-k8s.io/v1alpha1).")
    parser.add_argument("--kubeconfig", help="kubeconfig of the directory (default: the default kubeconfig if any, "
                                             "else the pod's service account)")
    parser.add_argument("--context", help="context of --kubeconfig")
    parser.add_argument("--namespace", default=names.PROFILE_NAMESPACE,
                        help="namespace of the ClusterProfiles (default %(default)s)")
    parser.add_argument("--period", type=float, default=DEFAULT_PERIOD,
                        help="seconds between two exports (default %(default)s)")
    parser.add_argument("--grace-periods", type=int, default=health.DEFAULT_GRACE_PERIODS,
                        help="heartbeat periods without a renewal before ControlPlaneHealthy is Unknown "
                             "(default %(default)s)")
    parser.add_argument("--heartbeat-period", type=int, default=health.DEFAULT_HEARTBEAT_PERIOD,
                        help="seconds, for a Lease without a valid leaseDurationSeconds (default %(default)s)")
    parser.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT,
                        help="seconds each API call may take, retries included (default %(default)s)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    for option in ("period", "request_timeout"):
        if getattr(args, option) <= 0:
            parser.error("--%s must be more than 0" % option.replace("_", "-"))
    args.settings = {"namespace": args.namespace, "grace_periods": args.grace_periods,
                     "heartbeat_period": args.heartbeat_period, "state": "present"}
    try:
        profiles.validate(args.settings)
    except MulticlusterError as exc:
        parser.error(str(exc).replace("_", "-"))
    return args


def run_once(client, settings, budget, clock=time.time, timer=time.monotonic):
    """One export with the budget map *budget*; logs its line, and returns its result (None when it failed)."""
    started = timer()
    try:
        result = profiles.export(client, settings, clock(), budget)
    except MulticlusterError as exc:
        log(logging.ERROR, "export failed", directory=client.label, reason=str(exc),
            seconds=round(timer() - started, 3))
        return None
    except Exception as exc:  # pylint: disable=broad-except
        log(logging.ERROR, "export failed", directory=client.label, reason="unexpected error: %s" % type(exc).__name__,
            seconds=round(timer() - started, 3))
        return None
    log(logging.WARNING if result["failed"] else logging.INFO, "exported", directory=client.label,
        namespace=result["namespace"], changed=result["changed"], failed=result["failed"],
        created=result["created"], updated=result["updated"], deleted=result["deleted"],
        unchanged=len(result["unchanged"]), deferred=result["deferred"], conflicts=result["conflicts"],
        seconds=round(timer() - started, 3))
    return result


def loop(client, settings, period, stop):
    """Export every *period* seconds until *stop* is set."""
    budget = {}
    while not stop.is_set():
        started = time.monotonic()
        run_once(client, settings, budget)
        stop.wait(max(0.0, period - (time.monotonic() - started)))


def main(argv=None, stream=None):
    args = parse_args(argv)
    configure_logging(stream, getattr(logging, args.log_level.upper()))
    client = connect(args, "the directory")
    if client is None:
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log(logging.INFO, "started", mode=MODE, directory=client.label, namespace=args.namespace, period=args.period,
        grace_periods=args.grace_periods, request_timeout=args.request_timeout)
    worker = threading.Thread(target=loop, args=(client, args.settings, args.period, stop), name="export")
    worker.daemon = True  # a request hanging on the network must not delay the exit
    worker.start()
    while not stop.wait(0.5):
        if not worker.is_alive():  # pragma: no cover - run_once catches everything
            log(logging.ERROR, "the export loop ended unexpectedly")
            return 1
    worker.join(STOP_GRACE)
    log(logging.INFO, "stopped", mode=MODE)
    return 0

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's sync of single changes: the Clusters a watch event changed, brought onto the replica one by one
(each one read and at most one write there), without reading the directory (the agent's view holds it,
sync/view.py) or the replica's other objects. The counts and the message of the status come from what the last
full sync found (plan.Holdings), kept up to date here.

A change that the policies may depend on (a ClusterPolicy, the replica's own Cluster) is not synced here: the
agent runs the full sync (engine.sync) from its view for it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import (
    CONFLICT, Cancelled, _converge, _empty, _names)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DEFAULT_STATUS_INTERVAL, RESULT_OK, SOURCES, counts_of, is_held, mark, status_content, success_message,
    terminating)
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.record import record_failure, write_status

CLUSTERS = SOURCES[0]  # the Clusters source: what single changes sync


def sync_changes(replica, directory_server, changes, holdings, status_interval=DEFAULT_STATUS_INTERVAL, now=None,
                 cancel=None, clock=time.time):
    """Make the replica's copies of the changed Clusters what the directory holds. *changes*: {name: the Cluster
    as plan.kept keeps it, or None when the directory no longer has it}; *holdings*: plan.Holdings of the last full
    sync, updated in place. A Cluster made on the replica by hand is a conflict, left alone; one the syncer holds
    and the directory dropped is deleted. Returns what engine.sync returns (no diff, no resource_versions);
    MulticlusterError (after recording it on the replica) when the replica fails."""
    now = clock() if now is None else now
    done = {CLUSTERS.name: _empty()}
    out = done[CLUSTERS.name]
    held = holdings.held.setdefault(CLUSTERS.name, set())
    conflicts = holdings.conflicts.setdefault(CLUSTERS.name, set())
    try:
        for name in sorted(changes):
            if cancel is not None and cancel():
                raise Cancelled()
            key, want = ("", name), changes[name]
            if want is None:
                held.discard(key)
                conflicts.discard(key)
                live = replica.get(CLUSTER, name)
                if is_held(live) and not terminating(live) and replica.delete(CLUSTER, name):
                    out["deleted"].append(key)
                continue
            verb, dummy = _converge(replica, CLUSTERS, mark(want, directory_server))
            if verb == CONFLICT:
                held.discard(key)
                conflicts.add(key)
                out["conflicts"].append(key)
            else:
                conflicts.discard(key)
                held.add(key)
                out[verb].append(key)
    except MulticlusterError as exc:
        record_failure(replica, directory_server, str(exc), now, status_interval, replica.check_mode)
        raise
    whole = holdings.done()
    sources = [s for s in SOURCES if s.name in whole]
    counts = counts_of(sources, whole)
    status = write_status(replica, status_content(directory_server, RESULT_OK,
                                                  success_message(sources, whole, holdings.policy_status), counts,
                                                  holdings.policy_status), now, status_interval, replica.check_mode)
    result = dict((what, _names(CLUSTERS, out[what])) for what in ("created", "updated", "deleted", "conflicts"))
    result.update({
        "changed": bool(result["created"] or result["updated"] or result["deleted"] or status["changed"]),
        "failed": [], "released": [], "policies": holdings.policy_status, "counts": counts, "status": status,
        "directory_server": directory_server, "holdings": holdings,
    })
    return result

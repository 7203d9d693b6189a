# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leaving the registry: remove from a replica what the directory sync put
there (the core of mc_directory_sync_cleanup, run by the deregistration role
with deregistration_remove_synced).

First the agent's Deployment, so that nothing puts it back; then every object
carrying the syncer's mark - Clusters, the policies' ClusterRoleBindings,
RoleBindings, ResourceQuotas and LimitRanges - and the policies' Namespaces by
the sync's own rule (policy_sync.remove_namespace): deleted when they hold
only what the syncer and Kubernetes put there, else released (the mark
removed, the Namespace and its content kept). It is the sync's own plan with
nothing desired, so an object without the mark is never touched. Nothing is
read from the directory: the replica may have left it for good.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import apply_plans
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import read_replica
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import display
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.apply import view
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import SOURCES, plan_source
from ansible_collections.coreos.multicluster.plugins.module_utils import names


def _ref(source, key):
    return "%s %s" % (source.target.kind, display(*key))


def remove_synced(replica, sources=SOURCES):
    """Remove the agent's Deployment and everything the sync holds on *replica*
    (a ClusterClient; check mode: server-side dry run). Returns {changed,
    deleted: ["Kind ns/name"], released: [{object, reason}], failed: [{object,
    reason}], diff}."""
    deleted, before, after = [], {}, {}
    agent = replica.get("Deployment", names.AGENT_DEPLOYMENT, names.SYSTEM_NAMESPACE)
    if agent is not None:
        replica.delete("Deployment", names.AGENT_DEPLOYMENT, names.SYSTEM_NAMESPACE)
        ref = "Deployment %s" % display(names.SYSTEM_NAMESPACE, names.AGENT_DEPLOYMENT)
        deleted.append(ref)
        before["agent"], after["agent"] = {ref: view(agent)}, {ref: None}
    held = read_replica(replica, sources)
    plans = dict((s.name, plan_source(s, [], held[s.name], "")) for s in sources)
    done = apply_plans(replica, sources, plans)
    released, failed = [], []
    for source in sources:
        out = done[source.name]
        deleted.extend(_ref(source, key) for key in out["deleted"])
        released.extend({"object": _ref(source, key), "reason": reason} for key, reason in out["released"])
        failed.extend({"object": _ref(source, key), "reason": reason} for key, reason in out["failed"])
        if out["before"]:
            before[source.name], after[source.name] = out["before"], out["after"]
    return {"changed": bool(deleted or released), "deleted": deleted, "released": released, "failed": failed,
            "diff": {"before": before, "after": after}}

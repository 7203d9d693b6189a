# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A replica's health as the directory holds it: its heartbeat (a Lease named after its Cluster in
``tectonic-multi-cluster``, renewed by its agent) and the conditions its agent writes on its own Cluster's status;
and how a reader tells from them whether the replica is alive.

Both are written by the replica about itself, so every reader treats them as data: the few fields used are
parsed, each bounded, and a heartbeat dated in the future is not believed. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time, parse_time
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as outcomes

DEFAULT_HEARTBEAT_PERIOD = 60
DEFAULT_GRACE_PERIODS = 5
MAX_HEARTBEAT_PERIOD = 3600  # a Lease's leaseDurationSeconds above this is not believed (the reader's period is)
MAX_NAMES = 10  # failing policies a condition's message names; the rest are counted

SYNCED = "Synced"
POLICIES_APPLIED = "PoliciesApplied"
CONDITION_TYPES = (SYNCED, POLICIES_APPLIED)
TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"

_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def micro_time(epoch):
    """A Kubernetes MicroTime (a Lease's renewTime) of epoch seconds."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(_MICRO)


def parse_micro_time(text):
    """Epoch seconds of a MicroTime (or of a Time, without the fraction), or None."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        moment = datetime.datetime.strptime(text, _MICRO)
    except ValueError:
        return parse_time(text)
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


# --- the heartbeat -----------------------------------------------------------------------------------------

def renewed(lease, holder, period, now):
    """The body that renews *lease* (as last read or written) now: a PUT guarded by its resourceVersion.
    Only spec's holderIdentity, leaseDurationSeconds, renewTime (and acquireTime, when the holder changes) move."""
    spec = dict(lease.get("spec") or {})
    if spec.get("holderIdentity") != holder or not spec.get("acquireTime"):
        spec["acquireTime"] = micro_time(now)
    spec.update({"holderIdentity": holder, "leaseDurationSeconds": int(period), "renewTime": micro_time(now)})
    return dict(lease, spec=spec)


def heartbeat(lease, now, grace_periods=DEFAULT_GRACE_PERIODS, period=DEFAULT_HEARTBEAT_PERIOD):
    """What a reader makes of a replica's Lease (None: there is none) at *now*:
    {available, last_seen (ISO time or None), age (whole seconds or None), reason}.

    available is True while the last renewal is younger than *grace_periods*
    times the period (the Lease's leaseDurationSeconds when it is a whole
    number from 1 to MAX_HEARTBEAT_PERIOD, else *period*), False after it and
    for a renewal dated more than one period ahead of *now* (not believed: the
    replica writes its Lease), and None - not known - when no agent ever
    renewed it, or there is no Lease: a replica synced from Ansible only (no
    agent), or onboarded before heartbeats, is not reported as down."""
    if lease is None:
        return {"available": None, "last_seen": None, "age": None,
                "reason": "no heartbeat Lease (onboarded before heartbeats: onboard it again)"}
    spec = lease.get("spec") if isinstance(lease.get("spec"), dict) else {}
    duration = spec.get("leaseDurationSeconds")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= MAX_HEARTBEAT_PERIOD:
        duration = period
    renewed_at = parse_micro_time(spec.get("renewTime"))
    if renewed_at is None:
        return {"available": None, "last_seen": None, "age": None, "reason": "never renewed (no agent has run)"}
    age = now - renewed_at
    if age < -duration:
        return {"available": False, "last_seen": None, "age": None,
                "reason": "the renewal is dated in the future (%s): not believed" % iso_time(int(renewed_at))}
    age = max(0, int(age))
    grace = grace_periods * duration
    if age > grace:
        return {"available": False, "last_seen": iso_time(int(renewed_at)), "age": age,
                "reason": "no heartbeat for %ds (more than %d periods of %ds)" % (age, grace_periods, duration)}
    return {"available": True, "last_seen": iso_time(int(renewed_at)), "age": age,
            "reason": "heartbeat %ds ago" % age}


# --- the conditions on the replica's own Cluster ---------------------------------------------------------------

def condition(kind, status, reason, message, previous, now):
    """One condition; lastTransitionTime is *previous*'s (the list the Cluster holds) while the status stays."""
    before = next((c for c in previous or [] if isinstance(c, dict) and c.get("type") == kind), None)
    since = before.get("lastTransitionTime") if before and before.get("status") == status else None
    return {"type": kind, "status": status, "reason": reason, "message": one_line(message),
            "lastTransitionTime": since if isinstance(since, str) else iso_time(now)}


def _policies(policy_status):
    """(status, reason, message, 'applied/selected') of the PoliciesApplied condition."""
    items = (policy_status or {}).get("items") or {}
    if policy_status is not None and not policy_status.get("enabled"):
        return TRUE, "Disabled", "Cluster Policies are disabled on this replica", "0/0"
    if not items:
        return TRUE, "NoPolicies", "the directory holds no Cluster Policies", "0/0"
    if policy_status.get("error"):
        return FALSE, "NotApplied", "policies not applied: %s" % policy_status["error"], "0/%d" % len(items)
    selected = sorted(name for name, o in items.items() if (o or {}).get("state") not in (
        outcomes.NOT_SELECTED, outcomes.DISABLED))
    applied = [name for name in selected if items[name].get("state") == outcomes.APPLIED]
    failing = [name for name in selected if name not in applied]
    summary = "%d/%d" % (len(applied), len(selected))
    if not failing:
        return TRUE, "Applied", "%s selected policies applied" % summary, summary
    shown = ", ".join("%s (%s)" % (name, items[name].get("state")) for name in failing[:MAX_NAMES])
    more = " and %d more" % (len(failing) - MAX_NAMES) if len(failing) > MAX_NAMES else ""
    return FALSE, "Failing", "%s applied; not applied: %s%s" % (summary, shown, more), summary


def cluster_status(previous, synced, reason, policy_status, kubernetes_version, agent_version, now):
    """The status a replica's agent writes on its own Cluster.

    previous: the Cluster's status now (dict or None). synced: whether the
    last sync succeeded; reason: its failure, when it did not. policy_status:
    the sync's (policies/status.replica_status) or None. The messages carry
    no counts of Clusters, so that the status changes only when the replica's
    state does (every status write is a watch event for every agent)."""
    previous = (previous or {}).get("conditions") if isinstance(previous, dict) else None
    if synced:
        sync_condition = condition(SYNCED, TRUE, "InSync", "in sync with the directory", previous, now)
        state = _policies(policy_status)
    else:
        sync_condition = condition(SYNCED, FALSE, "SyncFailed", reason or "the last sync failed", previous, now)
        state = (UNKNOWN, "NotSynced", "not known: the last sync failed", "?")
    status, why, message, summary = state
    return {
        "conditions": [sync_condition, condition(POLICIES_APPLIED, status, why, message, previous, now)],
        "policiesApplied": summary,
        "kubernetesVersion": one_line(kubernetes_version or "", 64) or None,
        "agentVersion": one_line(agent_version or "", 64) or None,
    }


def status_patch(live, wanted):
    """The merge patch that makes a Cluster's status *wanted*, or None when it holds it already (the owned fields
    only: conditions, policiesApplied, kubernetesVersion, agentVersion)."""
    live = live if isinstance(live, dict) else {}
    if all(live.get(key) == value for key, value in wanted.items()):
        return None
    return {"status": wanted}


def read_conditions(cluster):
    """{type: {status, reason, message, lastTransitionTime}} of a Cluster's own conditions (data: strings only,
    one bounded line each), plus the versions: what fleet_status, mc_cluster_info and the inventory show."""
    status = (cluster or {}).get("status")
    status = status if isinstance(status, dict) else {}
    found = {}
    for item in status.get("conditions") if isinstance(status.get("conditions"), list) else []:
        if isinstance(item, dict) and item.get("type") in CONDITION_TYPES:
            found[item["type"]] = dict((key, one_line(item.get(key), 512) if isinstance(item.get(key), str) else None)
                                       for key in ("status", "reason", "message", "lastTransitionTime"))
    return {
        "conditions": found,
        "policies_applied": _text(status.get("policiesApplied"), 16),
        "kubernetes_version": _text(status.get("kubernetesVersion"), 64),
        "agent_version": _text(status.get("agentVersion"), 64),
    }


NOT_READ = object()  # cluster_health's lease when the Leases could not be read


def cluster_health(cluster, lease, now, grace_periods=DEFAULT_GRACE_PERIODS, period=DEFAULT_HEARTBEAT_PERIOD,
                   unread_reason=None, directory=False):
    """What the directory knows of one cluster's health, for readers (mc_cluster_info, the inventory,
    fleet_status.yml): available, last_seen, heartbeat_age, heartbeat (why), synced and policies (the conditions'
    statuses, with their messages), policies_applied, kubernetes_version, agent_version.

    *lease*: its heartbeat Lease, None (it has none), or NOT_READ (available is then None, and heartbeat
    *unread_reason*). The directory's own Cluster (*directory*) has no agent, so no Lease: available None too."""
    if lease is NOT_READ:
        beat = {"available": None, "last_seen": None, "age": None, "reason": "not known: %s" % unread_reason}
    elif lease is None and directory:
        beat = {"available": None, "last_seen": None, "age": None,
                "reason": "the directory runs no agent: it has no heartbeat"}
    else:
        beat = heartbeat(lease, now, grace_periods, period)
    found = read_conditions(cluster)
    return {
        "available": beat["available"], "last_seen": beat["last_seen"], "heartbeat_age": beat["age"],
        "heartbeat": beat["reason"],
        "synced": found["conditions"].get(SYNCED, {}).get("status"),
        "synced_message": found["conditions"].get(SYNCED, {}).get("message"),
        "policies": found["conditions"].get(POLICIES_APPLIED, {}).get("status"),
        "policies_message": found["conditions"].get(POLICIES_APPLIED, {}).get("message"),
        "policies_applied": found["policies_applied"],
        "kubernetes_version": found["kubernetes_version"],
        "agent_version": found["agent_version"],
    }


def _text(value, limit):
    return one_line(value, limit) if isinstance(value, str) and value else None

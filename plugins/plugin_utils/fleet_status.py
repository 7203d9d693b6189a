# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's status on the controller, for fleet_status.yml: the rows mc_cluster_status read on each cluster,
joined with what the directory holds of each (mc_cluster_info's fleet view: its registration, and its health -
the heartbeat Lease its agent renews and the conditions it writes on its Cluster, registry/health.py), sorted so
that what needs attention comes first, the table a person reads and what fails the run. Pure: no API calls.

The table says where each column comes from (SOURCES): the directory's columns are there for every cluster of
it, each cluster's own only for those read (fleet_status_read_clusters).

The rows hold what replicas recorded (bounded single lines already); the table makes every cell one line
again (plain_text.one_line), whatever rows it is given. A registered Cluster whose API endpoint or console URL
is not https:// needs attention (insecure-endpoint), and so does one whose API endpoint is not the
inventory's (endpoint-mismatch)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import MAX_ERROR, one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import same_server
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as policy_outcomes
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import address_problems
from ansible_collections.coreos.multicluster.plugins.plugin_utils.tables import aligned


def with_registration(rows, fleet):
    """The rows with registered and labels from the directory's Clusters (mc_cluster_info's fleet view);
    fleet None: the directory could not be read, registration unknown. Also, from the Cluster:
    endpoint_problem when it gives an API endpoint or console URL that is not https://, and
    endpoint_mismatch when its API endpoint is not the row's api_endpoint (the inventory's mc_api_endpoint:
    for the directory, the address replicas are given)."""
    clusters = None if fleet is None else dict((entry.get("name"), entry) for entry in fleet)
    result = []
    for row in rows:
        row = dict(row)
        if clusters is not None:
            entry = clusters.get(row.get("name"))
            row["registered"] = entry is not None
            row["labels"] = (entry or {}).get("labels") or {}
            row["health"] = dict((key, (entry or {}).get(key)) for key in HEALTH_KEYS) if entry else None
            found = address_problems(entry or {})
            row["endpoint_problem"] = "; ".join(
                found["endpoints"] + ([found["console_url"]] if found["console_url"] else [])) or None
            row["endpoint_mismatch"] = None
            if entry is not None and row.get("api_endpoint") and not same_server(entry.get("server"), row["api_endpoint"]):
                row["endpoint_mismatch"] = "its Cluster object gives API endpoint %s, the inventory %s" % (
                    one_line(repr(entry.get("server"))), one_line(repr(row["api_endpoint"])))
        result.append(row)
    return result


# what with_registration copies of the directory's health of a cluster (registry/health.cluster_health)
HEALTH_KEYS = ("available", "last_seen", "heartbeat_age", "heartbeat", "synced", "synced_message", "policies",
               "policies_message", "policies_applied", "kubernetes_version", "agent_version")


def attention(row):
    """Why a row needs attention (a list of short words), most urgent first."""
    reasons = []
    if row.get("reachable") is False or row.get("error"):
        reasons.append("unreachable" if row.get("reachable") is False else "error")
    if row.get("registered") is False:
        reasons.append("unregistered")
    health = row.get("health") or {}
    if row.get("role") == "replica" and health.get("available") is False:
        reasons.append("unavailable")
    if health.get("synced") == "False":
        reasons.append("not-synced")
    if row.get("endpoint_problem"):
        reasons.append("insecure-endpoint")
    if row.get("endpoint_mismatch"):
        reasons.append("endpoint-mismatch")
    sync = row.get("sync") or {}
    if row.get("role") == "replica" and sync.get("stale"):
        reasons.append("stale")
    if sync.get("result") == "failed":
        reasons.append("failing")
    found = row.get("policies") or {}
    if (found.get("error") or any(policy_outcomes.needs_attention(e) for e in (found.get("items") or {}).values())
            or health.get("policies") == "False"):
        reasons.append("policies")
    credential = row.get("credential") or {}
    if row.get("role") == "replica" and credential.get("present") is False:
        reasons.append("no-credential")
    elif credential.get("renewal_due"):
        reasons.append("expiring")
    return reasons


def _age(seconds):
    if seconds is None:
        return "never"
    if seconds < 120:
        return "%ds ago" % seconds
    if seconds < 7200:
        return "%dm ago" % (seconds // 60)
    if seconds < 172800:
        return "%dh ago" % (seconds // 3600)
    return "%dd ago" % (seconds // 86400)


def _sync_cell(sync):
    """'ok 5s ago' (the last success), 'failed, ok 40s ago' when the last attempt failed, 'none never'."""
    age = _age(sync.get("age_seconds"))
    if sync.get("result") == "failed":
        return "failed, ok %s" % age if sync.get("age_seconds") is not None else "failed, never ok"
    return "%s %s" % (sync.get("result") or "none", age)


def _heartbeat_cell(row):
    """'5s ago', 'UNKNOWN 12m ago' (older than the grace), 'never' (no Lease, or none renewed), '?' (the Leases
    could not be read), '-' (the directory)."""
    health = row.get("health") or {}
    if row.get("role") == "directory" or not health:
        return "-"
    if health.get("available") is None:
        return "?" if (health.get("heartbeat") or "").startswith("not known") else "never"
    age = _age(health.get("heartbeat_age"))
    return age if health["available"] else "UNKNOWN %s" % age


def _cells(row):
    credential, sync, agent = row.get("credential") or {}, row.get("sync") or {}, row.get("agent") or {}
    health = row.get("health") or {}
    if credential.get("present"):
        days = credential.get("days_left")
        cred = "%s, %s" % (credential.get("type"), "no expiry" if days is None else "%.1f days left" % days)
    else:
        cred = "-" if row.get("role") == "directory" or not credential else "none"
    cells = [
        row.get("name") or "?",
        row.get("role") or "?",
        {True: "yes", False: "NO"}.get(row.get("registered"), "?"),
        _heartbeat_cell(row),
        health.get("synced") or "-",
        health.get("policies_applied") or "-",
        health.get("kubernetes_version") or "-",
        cred,
        "-" if row.get("role") == "directory" or not sync else _sync_cell(sync),
        "%s/%s" % (agent.get("ready_replicas", 0), agent.get("replicas", 0)) if agent.get("present") else "-",
        ", ".join(attention(row)) or "ok",
    ]
    return [one_line(cell) for cell in cells]


HEADERS = ["CLUSTER", "ROLE", "REGISTERED", "HEARTBEAT", "SYNCED", "POLICIES", "VERSION", "CREDENTIAL", "LAST SYNC",
           "AGENT", "ATTENTION"]
# where each column comes from: the directory (one list of Clusters, one of Leases) or each cluster itself
SOURCES = ("from the directory: REGISTERED, HEARTBEAT, SYNCED, POLICIES, VERSION; "
           "from each cluster: CREDENTIAL (its directory-sync Secret), LAST SYNC (its status ConfigMap), AGENT")


def sort_rows(rows):
    """Rows needing attention first (the most reasons first), then by name."""
    return sorted(rows, key=lambda row: (-len(attention(row)), row.get("name") or ""))


def table(rows):
    """Aligned lines: a header, one line per cluster (attention first), the errors, and a total."""
    rows = sort_rows(rows)
    lines = aligned([HEADERS] + [_cells(row) for row in rows])
    for row in rows:
        for problem in (row.get("error"), row.get("endpoint_problem"), row.get("endpoint_mismatch")):
            if problem:
                lines.append("%s: %s" % (one_line(row.get("name")), one_line(problem, MAX_ERROR)))
    needing = sum(1 for row in rows if attention(row))
    lines.append(SOURCES)
    lines.append("%d clusters, %d need attention" % (len(rows), needing))
    return lines


def failing(rows, fail_on, expiring_days):
    """(cluster, reason) pairs that fail the run: fail_on is a list of stale, expiring, unreachable,
    unregistered, unavailable, not-synced, failing, policies, insecure-endpoint, endpoint-mismatch; 'expiring'
    means a credential with at most *expiring_days* days left."""
    found = []
    for row in sort_rows(rows):
        reasons = set(attention(row))
        days = (row.get("credential") or {}).get("days_left")
        if "expiring" in fail_on and days is not None and days <= expiring_days:
            reasons.add("expiring")
        elif "expiring" in reasons:
            reasons.discard("expiring")
        if "error" in reasons:
            reasons.add("unreachable")
        for reason in sorted(reasons & set(fail_on)):
            found.append((row.get("name"), reason))
        if "unregistered" in fail_on and row.get("registered") is None:
            found.append((row.get("name"), "registration unknown (the directory's list could not be read)"))
    return found

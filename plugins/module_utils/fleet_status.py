# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster's place in the fleet, for fleet_status.yml: registered in the
directory, its directory credential (type, expiry, renewal due), its last
sync (age, source, stale) and the directory-sync Deployment; and the table a
person reads, sorted so that what needs attention comes first. Reading is
bounded like every call; an unreachable cluster is a row that says so."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.kubeconfig import current_token
from ansible_collections.coreos.multicluster.plugins.module_utils.sync_plan import STATUS_CONFIG_MAP, STATUS_NAMESPACE
from ansible_collections.coreos.multicluster.plugins.module_utils.sync_secret import DEPLOYMENT, NAMESPACE, SECRET
from ansible_collections.coreos.multicluster.plugins.module_utils.sync_secret import read_sync_secret
from ansible_collections.coreos.multicluster.plugins.module_utils.timestamps import iso_time, parse_time
from ansible_collections.coreos.multicluster.plugins.module_utils.tokens import token_facts
from ansible_collections.coreos.multicluster.plugins.module_utils.validation import validate_name

DEFAULT_STALE_AFTER = 600
DEFAULT_RENEW_BEFORE_DAYS = 7
DAY = 86400.0


def validate(params):
    validate_name(params.get("name"), "name")
    for option in ("stale_after", "renew_before_days"):
        if params.get(option) is not None and params[option] < 0:
            raise MulticlusterError("%s must be 0 or more, not %s" % (option, params[option]))
    return params


def credential_row(kubeconfig_text, now, renew_before_days):
    """The credential a replica holds, from its sync Secret's kubeconfig: type, expiry, days left, renewal due."""
    token, problem = current_token(kubeconfig_text)
    if token is None:
        return {"present": False, "problem": problem}
    facts = token_facts(token)
    expires = facts.get("expires")
    row = {"present": True, "type": facts.get("type") or "unknown", "expires_at": iso_time(expires),
           "days_left": None, "renewal_due": False}
    if expires is not None:
        row["days_left"] = round((expires - now) / DAY, 1)
        row["renewal_due"] = expires - now <= renew_before_days * DAY
    return row


def sync_row(data, now, stale_after):
    """The last sync the replica recorded (ConfigMap data or None): result, last success, age, source, stale."""
    if data is None:
        return {"recorded": False, "stale": True, "result": None, "last_success": None, "age_seconds": None,
                "directory": None, "message": "no sync recorded"}
    last = parse_time(data.get("lastSuccess"))
    age = None if last is None else int(now - last)
    return {"recorded": True, "result": data.get("result"), "last_success": data.get("lastSuccess") or None,
            "age_seconds": age, "directory": data.get("directory") or None, "message": data.get("message"),
            "stale": age is None or age > stale_after}


def policies_row(data):
    """The replica's Cluster Policies as its last sync recorded them (status key policies), or None:
    {enabled, error, allowlist, items: {policy: {state, objects, conflicts, refused, failed, ...}}, released}."""
    text = (data or {}).get("policies")
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def agent_row(deployment):
    if deployment is None:
        return {"present": False, "replicas": 0, "ready_replicas": 0}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return {"present": True, "replicas": spec.get("replicas", 1), "ready_replicas": status.get("readyReplicas") or 0}


def read_status(client, params, now=None):
    """The status row of one cluster, read through its ClusterClient; an error becomes the row's error
    (reachable false), never raised. Registration is added from the directory's list (with_registration)."""
    validate(params)
    now = time.time() if now is None else now
    role = params.get("role") or "replica"
    row = {"name": params["name"], "role": role, "reachable": True, "error": None, "registered": None,
           "labels": None, "credential": None, "sync": None, "agent": None, "policies": None}
    if client is None:
        return row
    try:
        if role == "replica":
            row["credential"] = credential_row(read_sync_secret(client, NAMESPACE, SECRET), now,
                                               params.get("renew_before_days", DEFAULT_RENEW_BEFORE_DAYS))
            status = client.get("ConfigMap", STATUS_CONFIG_MAP, STATUS_NAMESPACE)
            data = None if status is None else status.get("data") or {}
            row["sync"] = sync_row(data, now, params.get("stale_after", DEFAULT_STALE_AFTER))
            row["policies"] = policies_row(data)
        row["agent"] = agent_row(client.get("Deployment", DEPLOYMENT, NAMESPACE))
    except MulticlusterError as exc:
        row["reachable"] = False
        row["error"] = str(exc)
    return row


def with_registration(rows, fleet):
    """The rows with registered and labels from the directory's Clusters (mc_cluster_info's fleet view);
    fleet None: the directory could not be read, registration unknown."""
    clusters = None if fleet is None else dict((entry.get("name"), entry) for entry in fleet)
    result = []
    for row in rows:
        row = dict(row)
        if clusters is not None:
            entry = clusters.get(row.get("name"))
            row["registered"] = entry is not None
            row["labels"] = (entry or {}).get("labels") or {}
        result.append(row)
    return result


_POLICY_TROUBLE = ("conflict", "refused", "failed", "invalid")


def attention(row):
    """Why a row needs attention (a list of short words), most urgent first."""
    reasons = []
    if not row.get("reachable", True) or row.get("error"):
        reasons.append("unreachable" if not row.get("reachable", True) else "error")
    if row.get("registered") is False:
        reasons.append("unregistered")
    sync = row.get("sync") or {}
    if row.get("role") == "replica" and sync.get("stale"):
        reasons.append("stale")
    if sync.get("result") == "failed":
        reasons.append("failing")
    found = row.get("policies") or {}
    if found.get("error") or any((e or {}).get("state") in _POLICY_TROUBLE for e in (found.get("items") or {}).values()):
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


def _cells(row):
    credential, sync, agent = row.get("credential") or {}, row.get("sync") or {}, row.get("agent") or {}
    if credential.get("present"):
        days = credential.get("days_left")
        cred = "%s, %s" % (credential.get("type"), "no expiry" if days is None else "%.1f days left" % days)
    else:
        cred = "-" if row.get("role") == "directory" or not credential else "none"
    return [
        row.get("name") or "?",
        row.get("role") or "?",
        {True: "yes", False: "NO", None: "?"}[row.get("registered")],
        cred,
        "-" if row.get("role") == "directory" else _sync_cell(sync),
        "%s/%s" % (agent.get("ready_replicas", 0), agent.get("replicas", 0)) if agent.get("present") else "-",
        ", ".join(attention(row)) or "ok",
    ]


HEADERS = ["CLUSTER", "ROLE", "REGISTERED", "CREDENTIAL", "LAST SYNC", "AGENT", "ATTENTION"]


def sort_rows(rows):
    """Rows needing attention first (the most reasons first), then by name."""
    return sorted(rows, key=lambda row: (-len(attention(row)), row.get("name") or ""))


def table(rows):
    """Aligned lines: a header, one line per cluster (attention first), the errors, and a total."""
    rows = sort_rows(rows)
    cells = [HEADERS] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]
    for row in rows:
        if row.get("error"):
            lines.append("%s: %s" % (row.get("name"), row["error"]))
    needing = sum(1 for row in rows if attention(row))
    lines.append("%d clusters, %d need attention" % (len(rows), needing))
    return lines


def failing(rows, fail_on, expiring_days):
    """(cluster, reason) pairs that fail the run: fail_on is a list of stale, expiring, unreachable,
    unregistered, failing, policies; 'expiring' means a credential with at most *expiring_days* days left."""
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

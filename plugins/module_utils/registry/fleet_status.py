# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster's place in the fleet, for fleet_status.yml: registered in the
directory, its directory credential (type, expiry, renewal due), its last
sync (age, source, stale) and the directory-sync Deployment; and the table a
person reads, sorted so that what needs attention comes first. Reading is
bounded like every call; an unreachable cluster is a row that says so.

What a replica recorded (its status ConfigMap: result, message, the
directory, policy names and reasons) is data its admin can write: it is read
into a fixed shape, every string made one line of bounded length
(plain_text.one_line), so a replica can neither run a terminal escape in the
operator's console nor fake another cluster's row. The table does the same to
every cell it prints, whatever rows it is given. A registered Cluster whose
API endpoint or console URL is not https:// needs attention (insecure-endpoint),
and so does one whose API endpoint is not the inventory's (endpoint-mismatch)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import address_problems
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import current_token
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import MAX_ERROR, one_line


from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import read_sync_secret
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time, parse_time
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.tokens import token_facts
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import same_server, validate_name
from ansible_collections.coreos.multicluster.plugins.module_utils import names

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


# A recorded sync result is a word (ok, failed); anything longer is cut to this.
_MAX_WORD = 32


def sync_row(data, now, stale_after):
    """The last sync the replica recorded (ConfigMap data or None): result, last success, age, source, stale.
    Each value is the replica's text made one bounded line; last_success only when it is a time."""
    if data is None:
        return {"recorded": False, "stale": True, "result": None, "last_success": None, "age_seconds": None,
                "directory": None, "message": "no sync recorded"}
    last = parse_time(data.get("lastSuccess"))
    age = None if last is None else int(now - last)
    return {"recorded": True, "result": one_line(data.get("result"), _MAX_WORD) or None,
            "last_success": None if last is None else iso_time(last), "age_seconds": age,
            "directory": one_line(data.get("directory")) or None, "message": one_line(data.get("message")),
            "stale": age is None or age > stale_after}


def _items(value):
    return value if isinstance(value, list) else []


def _object_reasons(value):
    """[{object, reason}] of a policy's conflicts, refusals, failures or released Namespaces."""
    return [{"object": one_line(entry.get("object")), "reason": one_line(entry.get("reason"))}
            for entry in _items(value) if isinstance(entry, dict)]


def _policy_item(item):
    """One policy's recorded outcome, in the shape the syncer writes (policies.Report): state, and those of
    objects, conflicts, refused, failed, problems and reason that are there."""
    item = item if isinstance(item, dict) else {}
    found = {"state": one_line(item.get("state"), _MAX_WORD) or "unknown"}
    if "objects" in item:
        found["objects"] = [one_line(ref) for ref in _items(item["objects"])]
    for key in ("conflicts", "refused", "failed"):
        if key in item:
            found[key] = _object_reasons(item[key])
    if "problems" in item:
        found["problems"] = [one_line(problem) for problem in _items(item["problems"])]
    if "reason" in item:
        found["reason"] = one_line(item["reason"])
    return found


def policies_row(data):
    """The replica's Cluster Policies as its last sync recorded them (status key policies), or None:
    {enabled, error, allowlist, items: {policy: {state, objects, conflicts, refused, failed, ...}}, released},
    read into that shape only, each string one bounded line."""
    text = (data or {}).get("policies")
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    items = found.get("items") if isinstance(found.get("items"), dict) else {}
    return {"enabled": found.get("enabled") if isinstance(found.get("enabled"), bool) else None,
            "error": one_line(found.get("error")),
            "allowlist": [one_line(role) for role in _items(found.get("allowlist"))],
            "items": dict((one_line(name), _policy_item(item)) for name, item in items.items()),
            "released": _object_reasons(found.get("released"))}


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
            row["credential"] = credential_row(read_sync_secret(client, names.SYSTEM_NAMESPACE, names.CREDENTIAL_SECRET), now,
                                               params.get("renew_before_days", DEFAULT_RENEW_BEFORE_DAYS))
            status = client.get("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)
            data = None if status is None else status.get("data") or {}
            row["sync"] = sync_row(data, now, params.get("stale_after", DEFAULT_STALE_AFTER))
            row["policies"] = policies_row(data)
        row["agent"] = agent_row(client.get("Deployment", names.AGENT_DEPLOYMENT, names.SYSTEM_NAMESPACE))
    except MulticlusterError as exc:
        row["reachable"] = False
        row["error"] = one_line(str(exc), MAX_ERROR)  # may quote what the cluster's API server answered
    return row


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
            found = address_problems(entry or {})
            row["endpoint_problem"] = "; ".join(
                found["endpoints"] + ([found["console_url"]] if found["console_url"] else [])) or None
            row["endpoint_mismatch"] = None
            if entry is not None and row.get("api_endpoint") and not same_server(entry.get("server"), row["api_endpoint"]):
                row["endpoint_mismatch"] = "its Cluster object gives API endpoint %s, the inventory %s" % (
                    one_line(repr(entry.get("server"))), one_line(repr(row["api_endpoint"])))
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
    cells = [
        row.get("name") or "?",
        row.get("role") or "?",
        {True: "yes", False: "NO"}.get(row.get("registered"), "?"),
        cred,
        "-" if row.get("role") == "directory" else _sync_cell(sync),
        "%s/%s" % (agent.get("ready_replicas", 0), agent.get("replicas", 0)) if agent.get("present") else "-",
        ", ".join(attention(row)) or "ok",
    ]
    return [one_line(cell) for cell in cells]


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
        for problem in (row.get("error"), row.get("endpoint_problem"), row.get("endpoint_mismatch")):
            if problem:
                lines.append("%s: %s" % (one_line(row.get("name")), one_line(problem, MAX_ERROR)))
    needing = sum(1 for row in rows if attention(row))
    lines.append("%d clusters, %d need attention" % (len(rows), needing))
    return lines


def failing(rows, fail_on, expiring_days):
    """(cluster, reason) pairs that fail the run: fail_on is a list of stale, expiring, unreachable,
    unregistered, failing, policies, insecure-endpoint, endpoint-mismatch; 'expiring' means a credential with at most *expiring_days* days left."""
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cluster's place in the fleet, for fleet_status.yml (mc_cluster_status): its directory credential
(type, expiry, renewal due), its last sync (age, source, stale), its Cluster Policies and the directory-sync
Deployment. Reading is bounded like every call; an unreachable cluster is a row that says so. The table a
person reads, and what needs attention, are the controller's (plugin_utils/fleet_status.py).

What a replica recorded (its status ConfigMap: result, message, the
directory, policy names and reasons) is data its admin can write: it is read
into a fixed shape, every string made one line of bounded length
(plain_text.one_line), so a replica can neither run a terminal escape in the
operator's console nor fake another cluster's row."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.coreos.multicluster.plugins.module_utils import names
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import read_sync_secret
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.tokens import token_facts
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import current_token
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import MAX_ERROR, one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.timestamps import iso_time, parse_time
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import validate_name
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import status as policy_outcomes

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


def policies_row(data):
    """The replica's Cluster Policies as its last sync recorded them (status key policies), or None:
    policies.status.read_recorded (read into that shape only, each string one bounded line)."""
    return policy_outcomes.read_recorded((data or {}).get("policies"))


def agent_row(deployment):
    if deployment is None:
        return {"present": False, "replicas": 0, "ready_replicas": 0}
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return {"present": True, "replicas": spec.get("replicas", 1), "ready_replicas": status.get("readyReplicas") or 0}


def cluster_row(client, params, now=None):
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

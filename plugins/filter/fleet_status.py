# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters behind fleet_status.yml: the rows of every host, the table, and what fails the run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.coreos.multicluster.plugins.plugin_utils import fleet_status
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import MAX_ERROR, one_line

FAIL_ON = ("stale", "expiring", "unreachable", "unregistered", "unavailable", "not-synced", "failing", "policies",
           "insecure-endpoint", "endpoint-mismatch")


def fleet_status_rows(hostvars, hosts, fleet=None, result_var="_fleet_status", read_clusters=True):
    """One row per host, from the mc_cluster_status result each host registered (a failed one is a row
    that says so, its message made one bounded line), with the host's mc_api_endpoint as api_endpoint, and
    registration, labels and health from the directory's fleet view. read_clusters=False: no cluster was read
    (the report is the directory's alone), so a row without a result is no error."""
    rows = []
    for host in hosts:
        facts = hostvars.get(host) or {}
        result = facts.get(result_var) or {}
        row = result.get("status")
        if not row and not read_clusters:
            role = "directory" if "directory" in (facts.get("group_names") or []) else "replica"
            row = {"name": facts.get("mc_cluster_name") or host, "role": role, "reachable": None, "error": None,
                   "registered": None, "labels": None, "credential": None, "sync": None, "agent": None,
                   "policies": None}
        elif not row:
            if result.get("skipped"):
                error = "not read: mc_kubeconfig is not set for this host"
            else:
                error = one_line(result.get("msg") or "no status was read", MAX_ERROR)
            role = "directory" if "directory" in (facts.get("group_names") or []) else "replica"
            row = {"name": facts.get("mc_cluster_name") or host, "role": role, "reachable": False,
                   "error": error, "registered": None, "labels": None, "credential": None, "sync": None,
                   "agent": None, "policies": None}
        rows.append(dict(row, host=host, api_endpoint=facts.get("mc_api_endpoint")))
    return fleet_status.sort_rows(fleet_status.with_registration(rows, fleet))


def fleet_status_table(rows):
    return fleet_status.table(rows)


def fleet_status_failing(rows, fail_on, expiring_days=3):
    """['<cluster>: <reason>'] for every row that fails the run under *fail_on*."""
    if isinstance(fail_on, str):
        fail_on = [part.strip() for part in fail_on.split(",") if part.strip()]
    unknown = sorted(set(fail_on or []) - set(FAIL_ON))
    if unknown:
        raise AnsibleFilterError("fleet_status_fail_on: %s not one of %s" % (", ".join(unknown), ", ".join(FAIL_ON)))
    try:
        days = float(expiring_days)
    except (TypeError, ValueError):
        raise AnsibleFilterError("fleet_status_expiring_days: %r is not a number of days" % (expiring_days,)) from None
    return ["%s: %s" % pair for pair in fleet_status.failing(rows, list(fail_on or []), days)]


class FilterModule(object):
    def filters(self):
        return {"fleet_status_rows": fleet_status_rows, "fleet_status_table": fleet_status_table,
                "fleet_status_failing": fleet_status_failing}

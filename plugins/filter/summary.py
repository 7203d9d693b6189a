# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters behind the playbooks' closing summary. A step's message may quote
what a cluster answered (an API error, a replica's status message): each
record is printed as one line of plain text (plain_text.one_line)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import MAX_ERROR, one_line


def summary_line(result, step):
    """One registered task result (or loop item result) -> a summary record."""
    label = result.get("item")
    if isinstance(label, dict):
        label = label.get("name") or label.get("item")
    name = "%s %s" % (step, label) if label is not None else step
    if result.get("failed") or result.get("unreachable"):
        return {"step": name, "status": "failed", "msg": str(result.get("msg") or "failed")}
    if result.get("skipped"):
        return {"step": name, "status": "skipped"}
    return {"step": name, "status": "changed" if result.get("changed") else "ok"}


# The roles leave their records in <role>_summary, read in this order.
ROLES = ("registry", "directory_setup", "cluster_policies", "replica_onboarding", "deregistration", "directory_sync")


def _records(facts, role):
    """A role's summary records: <role>_summary (a list the role keeps), then the steps of <role>_result
    (a registered module result that carries its own summary, like mc_replica_onboarding's)."""
    records = list(facts.get(role + "_summary") or [])
    result = facts.get(role + "_result")
    if isinstance(result, dict) and isinstance(result.get("summary"), list):
        records.extend(result["summary"])
    return records


def summary_table(hostvars, hosts):
    """Per cluster: what changed, what was already in place, what failed and why."""
    lines = []
    totals = {"changed": 0, "ok": 0, "failed": 0, "skipped": 0}
    for host in hosts:
        facts = hostvars.get(host) or {}
        records = [record for role in ROLES for record in _records(facts, role)]
        if not records:
            continue
        lines.append("%s:" % host)
        for record in records:
            status = record.get("status", "ok")
            totals[status] = totals.get(status, 0) + 1
            text = "  %-8s %s" % (one_line(status), one_line(record.get("step", ""), MAX_ERROR))
            if record.get("msg"):
                text += ": " + one_line(record["msg"], MAX_ERROR)
            lines.append(text)
    lines.append("total: %d changed, %d already in place, %d failed" % (totals["changed"], totals["ok"], totals["failed"]))
    return lines


class FilterModule(object):
    def filters(self):
        return {"summary_line": summary_line, "summary_table": summary_table}

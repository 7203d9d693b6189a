# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's Cluster Policies, cluster by policy, from the rows of
mc_cluster_status (each replica's status ConfigMap, as its last sync wrote
it): the matrix for AWX and JSON, and the table policy_status.yml prints.
Pure: no API calls.

Policy names, states and reasons are what a replica recorded: the rows come
from fleet_status.policies_row (one bounded line each), and the table makes
every cell and message one line again (plain_text.one_line), so a replica
cannot fake another cluster's line, whatever rows it is given."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import MAX_ERROR, one_line
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.status import DETAILS, INVALID, UNKNOWN
from ansible_collections.coreos.multicluster.plugins.plugin_utils.tables import aligned

NOT_APPLIED = "-"


def _cell(entry):
    return (entry or {}).get("state") or UNKNOWN


def matrix(rows):
    """One entry per cluster: {cluster, role, error, enabled, policies: {name: {state, objects, conflicts,
    refused, failed, problems, reason}}, released}. A cluster whose status could not be read, or whose
    last sync recorded no policies, has error set and no policies."""
    result = []
    for row in sorted(rows, key=lambda r: (r.get("role") != "replica", r.get("name") or "")):
        found = row.get("policies") or {}
        entry = {"cluster": row.get("name"), "role": row.get("role"), "error": None, "enabled": None,
                 "policies": {}, "released": found.get("released") or []}
        if row.get("role") == "directory":
            entry["error"] = "the directory: policies apply to replicas only"
        elif row.get("error"):
            entry["error"] = row["error"]
        elif not found:
            entry["error"] = "no sync has recorded policies yet"
        else:
            entry["enabled"] = found.get("enabled")
            entry["error"] = found.get("error")
            for name, item in sorted((found.get("items") or {}).items()):
                item = item or {}
                cell = {"state": _cell(item), "objects": len(item.get("objects") or [])}
                for key in [key for key, _state in DETAILS] + ["problems", "reason"]:
                    if item.get(key):
                        cell[key] = item[key]
                entry["policies"][name] = cell
        result.append(entry)
    return result


def table(rows):
    """Aligned lines: CLUSTER and one column per policy (applied, conflict, refused, failed, invalid,
    not selected, disabled); then why, per cluster and policy; and a total."""
    entries = matrix(rows)
    names = sorted(set(name for entry in entries for name in entry["policies"]))
    cells = [["CLUSTER"] + names]
    for entry in entries:
        if entry["role"] == "directory":
            cells.append([entry["cluster"]] + [NOT_APPLIED] * len(names))
            continue
        missing = UNKNOWN if entry["error"] else NOT_APPLIED
        cells.append([entry["cluster"]] + [entry["policies"].get(n, {}).get("state", missing) for n in names])
    lines = aligned(cells)
    troubled = 0
    for entry in entries:
        cluster = one_line(entry["cluster"])
        if entry["error"]:
            lines.append("%s: %s" % (cluster, one_line(entry["error"], MAX_ERROR)))
        for name, cell in sorted(entry["policies"].items()):
            name = one_line(name)
            if cell["state"] == INVALID:
                troubled += 1
                lines.append("%s %s: invalid: %s" % (cluster, name, one_line("; ".join(
                    str(problem) for problem in cell.get("problems") or []), MAX_ERROR)))
            for key, word in DETAILS:
                for item in cell.get(key) or []:
                    lines.append("%s %s: %s %s: %s" % (cluster, name, word, one_line(item.get("object")),
                                                       one_line(item.get("reason"))))
            if any(cell.get(key) for key, _word in DETAILS):
                troubled += 1
        for item in entry["released"]:
            lines.append("%s: released %s (kept, no longer managed): %s" % (cluster, one_line(item.get("object")),
                                                                            one_line(item.get("reason"))))
    replicas = sum(1 for e in entries if e["role"] == "replica")
    lines.append("%d replicas, %d policies, %d policy results need attention" % (replicas, len(names), troubled))
    return lines

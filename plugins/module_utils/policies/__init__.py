# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster Policies: what the directory asks of a replica, and the bounds each replica sets.

- ``spec``: a ClusterPolicy's spec, validated (the rules the CRD also checks).
- ``problems``: the problems found in a policy, named by field path, and the checks every level uses.
- ``quantities``: which fields hold resource quantities, their grammar, and the server's spelling of them.
- ``bounds``: the replica's bounds (allowed roles, subjects, label keys, protected namespaces) and the reasons
  of a refusal.
- ``plan``: where policies are planned - the objects a replica applies for the policies that select it,
  within its bounds (pure).
- ``status``: what became of each policy on a replica (``Report``, ``PolicyOutcome``): the one type the syncer
  records, ``mc_cluster_status`` reads back, the filters tabulate and the agent counts.
- ``cluster_policy``: the ClusterPolicy objects in the directory (``mc_cluster_policy``, ``mc_cluster_policy_info``).
Imports ``names`` and ``k8s``."""

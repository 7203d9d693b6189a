# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry in the directory: Cluster objects, the registry's installation, a replica's onboarding and
de-registration, and the fleet's status.

- ``cluster``: one ``Cluster`` object per cluster (``mc_cluster``, ``mc_cluster_info``, the inventory plugin).
- ``install``: the CRDs, RBAC and agent a cluster of the registry holds (``mc_registry``).
- ``onboarding``: a replica's whole onboarding in one process (``mc_replica_onboarding``), composed of
  ``cluster`` and ``credentials``.
- ``deregistration``: a replica's whole de-registration in one process (``mc_replica_deregistration``), composed
  of ``cluster`` and ``credentials`` (and the removal of synced objects, handed in from ``sync``).
- ``fleet_status``: what each cluster reports of itself (``mc_cluster_status``, the fleet_status filters).
- ``health``: a replica's heartbeat Lease and the conditions its agent writes on its own Cluster's status, and
  how readers (the inventory, ``mc_cluster_info``, ``fleet_status.yml``, the exporter) tell whether it is alive.
- ``profiles``: the fleet as SIG-Multicluster ``ClusterProfile`` objects (``mc_cluster_profiles``, the agent's
  ``export-profiles`` mode).
Imports ``names``, ``k8s``, ``credentials`` and ``policies`` (a replica's policy status)."""

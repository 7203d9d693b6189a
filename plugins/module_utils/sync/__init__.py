# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A replica pulls the directory: the engine ``mc_directory_sync`` and the directory-sync agent share.

- ``plan``: what a sync writes on the replica, from what the directory holds and what the replica holds (pure).
- ``engine``: one sync - read both sides, plan, apply through ``k8s.apply``, record the outcome.
- ``view``: the agent's view of the directory, listed once from the watch cache and kept by watch events.
- ``changes``: the agent's sync of single changed Clusters from its view (one read, at most one write each).
- ``reading``: what a sync reads first: the directory's desired set (bounded by the replica's limits), what the
  replica holds, the directory credential from the replica's Secret (as data).
- ``record``: the outcome recorded on the replica (ConfigMap ``directory-sync-status``), written only on change,
  and what the replica holds after a sync (``Holdings``, for the counts of later syncs of single changes).
- ``replica_policies``: what a replica holds of the policies (its settings and the objects it applied).
- ``removal``: removing what the directory put on a replica when it leaves (``mc_directory_sync_cleanup``).
Imports ``names``, ``k8s``, ``credentials``, ``policies`` and ``registry``: the top layer."""

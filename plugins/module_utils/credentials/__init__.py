# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A replica's view-only credential on the directory, from its issue to its revocation.

- ``objects``: the ServiceAccount, token Secret and ClusterRoleBinding a replica's credential is made of
  (in the directory's ``tectonic-multi-cluster`` namespace).
- ``tokens``: what a token says about itself (kind, expiry) without trusting it.
- ``replica_credential``: issue, rotate and revoke a credential on the directory (``mc_replica_credentials``).
- ``replica_secret``: the credential as a kubeconfig in the replica's Secret ``tectonic-system/directory-sync``,
  written, read back as data (never through a loader) and verified (``mc_sync_secret``).
- ``revocation``: proof that a revoked token is refused.
- ``health_grants``: the replica's heartbeat Lease and its grants to renew it and to write its own Cluster's
  status, issued and revoked with the credential.
Imports only ``k8s`` and ``names``."""

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_replica_deregistration
short_description: De-register one replica in one step - delete its Cluster, revoke its credential, clean the replica
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against the B(directory) cluster (the connection options) and the B(replica) (O(replica_connection)), in
    one module process with one connection to each, the whole de-registration of one replica that
    M(coreos.multicluster.mc_cluster), M(coreos.multicluster.mc_replica_credentials),
    M(coreos.multicluster.mc_sync_secret) and M(coreos.multicluster.mc_directory_sync_cleanup) do as four tasks.
    The role C(coreos.multicluster.deregistration) uses it.
  - Bad input is refused before any request. Then it reads the replica's current credential from Secret
    C(tectonic-system/directory-sync), as data, for its token only (it is never used to connect).
  - Then, in this order, it deletes the replica's C(Cluster) object from the directory, revokes the replica's
    credential there (its ClusterRoleBinding, ServiceAccount, anchor Secret and token Secrets) and, with
    O(verify_revoked), waits until the directory refuses the old token; it removes Secret
    C(tectonic-system/directory-sync) from the replica; and, with O(remove_synced), removes what the directory put
    on the replica (as M(coreos.multicluster.mc_directory_sync_cleanup) does).
  - A replica that is gone for good is still de-registered - the directory is cleaned, the old token cannot be
    tested (RV(revocation_check) says why), and the Secret step is reported V(not cleaned), with a warning.
    With O(remove_synced) the replica must be reachable; one that cannot be read fails before anything is
    written.
  - What is already gone is no change, so a second run reports C(changed=false) and writes nothing.
  - No result holds a token or a kubeconfig, so the task needs no C(no_log).
options:
  name:
    description:
      - The replica's cluster name. A DNS-1123 label; it names the Cluster object and the ServiceAccount.
    type: str
    required: true
  replica_connection:
    description:
      - Connection to the replica. Takes the same keys as the connection options (O(kubeconfig), O(context),
        O(host), ...), without environment fallbacks. It may point at a cluster that is gone.
    type: dict
    required: true
  verify_revoked:
    description:
      - Prove that the directory refuses the replica's old token after the revocation, by requests made with that
        token alone, for at most O(revoke_timeout) seconds (the API server caches token authentications for about
        10 seconds).
      - When the replica holds no credential or cannot be read, nothing is tested and RV(revocation_check) says why.
    type: bool
    default: true
  revoke_timeout:
    description:
      - Seconds to wait for the directory to refuse the old token.
    type: int
    default: 30
  remove_synced:
    description:
      - Also remove from the replica what the directory put there, so that it keeps no grant from a directory it
        left - the C(directory-sync) agent's Deployment, the synced Clusters, and the Cluster Policies' bindings,
        quotas and limit ranges; their Namespaces are deleted when they hold only what the syncer put there, else
        released (kept, no longer managed).
      - The replica must be reachable.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
  - coreos.multicluster.connection.replica_connection
attributes:
  check_mode:
    support: full
    details: Deletes use server-side dry run, and the old token is not tested (RV(revocation_check) says so).
  diff_mode:
    support: full
    details: The Cluster object, the credential's objects as names, uids and C(sha256:) token hashes, the Secret's
      data as hashes, and the synced objects removed.
requirements:
  - kubernetes >= 24.2.0
notes:
  - The registry itself (its CRD, the agent's ServiceAccount and RBAC) stays on the replica; remove it with the role
    C(coreos.multicluster.registry) and C(registry_state=absent).
seealso:
  - module: coreos.multicluster.mc_replica_onboarding
  - module: coreos.multicluster.mc_cluster
  - module: coreos.multicluster.mc_replica_credentials
  - module: coreos.multicluster.mc_sync_secret
  - module: coreos.multicluster.mc_directory_sync_cleanup
"""

EXAMPLES = r"""
- name: De-register the replica - Cluster deleted, credential revoked and proven refused, sync Secret removed
  coreos.multicluster.mc_replica_deregistration:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    replica_connection:
      kubeconfig: /etc/fleet/east-coast-production.kubeconfig
  register: deregistered

- name: Show what each step did
  ansible.builtin.debug:
    msg: "{{ deregistered.summary }}"

- name: De-register it and remove what the directory put on it (agent, synced Clusters, policy objects)
  coreos.multicluster.mc_replica_deregistration:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    remove_synced: true
    replica_connection:
      kubeconfig: /etc/fleet/east-coast-production.kubeconfig
"""

RETURN = r"""
summary:
  description: One record per step, in order, for the playbooks' closing summary.
  returned: always
  type: list
  elements: dict
  contains:
    step: {description: What the step was., type: str}
    status: {description: "V(changed), V(ok) (nothing to remove) or V(not cleaned) (the replica could not be
              cleaned; the other steps are done).", type: str}
    msg: {description: "Why a step was not cleaned, or which synced objects the replica refused to remove.", type: str}
  sample:
    - {step: delete Cluster from directory, status: changed}
    - {step: revoke credential (old token refused), status: changed}
    - {step: remove sync Secret, status: changed}
removed:
  description: What was (in check mode, would be) removed, per step; null or empty where there was nothing.
  returned: always
  type: dict
  contains:
    cluster: {description: The name of the Cluster object deleted from the directory., type: str}
    credential: {description: "The credential's objects deleted from the directory, as C(Kind namespace/name).",
                 type: list, elements: str}
    secret: {description: The sync Secret removed from the replica., type: str}
    synced: {description: "The objects removed from the replica with O(remove_synced); null without it.",
             type: list, elements: str}
  sample:
    cluster: east-coast-production
    credential: ["ClusterRoleBinding east-coast-production-view-clusters",
                 "ServiceAccount tectonic-multi-cluster/east-coast-production",
                 "Secret tectonic-multi-cluster/east-coast-production-credential-anchor"]
    secret: Secret tectonic-system/directory-sync
    synced: null
released:
  description: With O(remove_synced), the Namespaces kept because they hold something else, each with the reason;
    null without it.
  returned: always
  type: list
  elements: dict
  sample: [{object: Namespace monitoring, reason: it holds Deployment dashboards}]
service_account:
  description: Namespace and name of the replica's ServiceAccount on the directory.
  returned: always
  type: str
  sample: tectonic-multi-cluster/east-coast-production
cluster_role_binding:
  description: Name of the replica's ClusterRoleBinding on the directory.
  returned: always
  type: str
  sample: east-coast-production-view-clusters
revoked:
  description: True when O(verify_revoked) proved that the old token is refused.
  returned: when O(verify_revoked=true), not in check mode, and the old token is known
  type: bool
  sample: true
revocation_check:
  description:
    - "What O(verify_revoked) found: V(old token refused), V(not tested in check mode), or V(not tested: <why>)
      when the replica holds no credential or could not be read."
  returned: when O(verify_revoked=true)
  type: str
  sample: old token refused
diff:
  description: The Cluster object, the credential's objects, the Secret and the synced objects, before and after.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    connection_suboption_spec, module_spec)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.deregistration import deregister
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.removal import remove_synced


def argument_spec():
    return module_spec(
        name=dict(type="str", required=True),
        replica_connection=dict(type="dict", required=True, options=connection_suboption_spec()),
        verify_revoked=dict(type="bool", default=True),
        revoke_timeout=dict(type="int", default=30),
        remove_synced=dict(type="bool", default=False),
    )


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    module.run(lambda: deregister(module.client(), lambda: module.client(params["replica_connection"]), params,
                                  remove_synced=remove_synced, hide=module.hide_credential, warn=module.warn))


if __name__ == "__main__":
    main()

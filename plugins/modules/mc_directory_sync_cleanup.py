#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_directory_sync_cleanup
short_description: Remove from a replica what the directory sync put there
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against a B(replica) cluster that leaves the registry, so that it keeps no grant from a directory it
    left. The C(coreos.multicluster.deregistration) role runs it with C(deregistration_remove_synced=true).
  - Deletes the C(directory-sync) agent's Deployment in C(tectonic-system) first, so that nothing puts the
    objects back, then every object carrying the syncer's mark (label
    C(app.kubernetes.io/managed-by=directory-sync)) - the synced C(Cluster) objects and the Cluster Policies'
    ClusterRoleBindings, RoleBindings, ResourceQuotas and LimitRanges.
  - The policies' Namespaces follow the sync's own rule - a Namespace holding only what the syncer and Kubernetes
    put there is deleted; one holding anything else (a workload, a ConfigMap made by hand) is B(released) - the
    mark is removed and the Namespace and its content are kept.
  - Objects without the mark are never touched. The directory is not contacted.
  - A second run finds nothing to remove and reports no change.
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
attributes:
  check_mode:
    support: full
    details: Uses server-side dry run.
  diff_mode:
    support: full
requirements:
  - kubernetes >= 24.2.0
notes:
  - The agent's ServiceAccount, RBAC and settings ConfigMap are the registry's (role C(coreos.multicluster.registry)),
    not the directory's, and are left; remove the registry with that role's C(registry_state=absent).
seealso:
  - module: coreos.multicluster.mc_directory_sync
"""

EXAMPLES = r"""
- name: Remove what the directory put on the replica
  coreos.multicluster.mc_directory_sync_cleanup:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
"""

RETURN = r"""
deleted:
  description: The objects deleted, as C(Kind namespace/name) (C(Kind name) for a cluster-scoped one).
  returned: always
  type: list
  elements: str
  sample: ["Deployment tectonic-system/directory-sync", "ClusterRoleBinding clusterpolicy:auditors:view",
           "Cluster central-production"]
released:
  description: The Namespaces kept because they hold something else, each with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{object: Namespace monitoring, reason: it holds Deployment dashboards}]
failed:
  description: The objects the replica refused to remove, each with the reason.
  returned: always
  type: list
  elements: dict
diff:
  description: The removed objects before, and null (or the release) after.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.removal import remove_synced


def main():
    module = MulticlusterModule(argument_spec=module_spec(), supports_check_mode=True)
    module.run(lambda: remove_synced(module.client()))


if __name__ == "__main__":
    main()

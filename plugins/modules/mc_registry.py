#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_registry
short_description: Install, upgrade or remove the multi-cluster registry on one cluster
version_added: 0.1.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Ensures the registry's objects on one cluster - the C(Cluster) CustomResourceDefinition
    (C(multicluster.coreos.com/v1)), namespaces C(tectonic-system) and C(tectonic-multi-cluster),
    ClusterRole C(tectonic-view-clusters), whatever else O(definitions) holds - and ConfigMap
    C(tectonic-system/tectonic-config) with the cluster's C(clusterName).
  - An object is written only when the live one lacks a field of its definition, so a second run writes nothing.
  - Waits until the CustomResourceDefinition is Established (not in check mode).
  - Removal refuses to delete a Cluster API that still holds Clusters unless O(force=true).
  - A CustomResourceDefinition of O(definitions) outside the registry's group (the ClusterProfile API,
    C(multicluster.x-k8s.io)) is installed only when it is absent or carries the label
    C(app.kubernetes.io/part-of=tectonic-multi-cluster); another manager's is left alone (RV(left_alone)), on
    install and on removal.
  - The role M(coreos.multicluster.registry) passes the collection's definitions; use the role.
options:
  cluster_name:
    description:
      - The name the cluster is installed with (C(tectonic-config) C(clusterName)); a DNS-1123 label.
      - Required when O(state=present).
    type: str
  definitions:
    description:
      - The objects to ensure, in order (deleted in reverse order). Kinds - CustomResourceDefinition,
        Namespace, ClusterRole, ClusterRoleBinding, ConfigMap, Secret, ServiceAccount, Role, RoleBinding, Deployment.
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(present) installs or upgrades; V(absent) removes.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=present), rename a cluster installed under another C(clusterName).
      - With O(state=absent), remove the Cluster API even though it still holds Clusters (they are lost).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the CustomResourceDefinition to be Established.
    type: int
    default: 60
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
attributes:
  check_mode:
    support: full
    details: Uses server-side dry run; never waits.
  diff_mode:
    support: full
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Install the registry (the role does this with the collection's definitions)
  coreos.multicluster.mc_registry:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    cluster_name: east-coast-production
    definitions: "{{ (lookup('ansible.builtin.file', 'registry.yml') | from_yaml)['items'] }}"

- name: Remove it, even with Clusters left
  coreos.multicluster.mc_registry:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    definitions: "{{ (lookup('ansible.builtin.file', 'registry.yml') | from_yaml)['items'] }}"
    state: absent
    force: true
"""

RETURN = r"""
objects:
  description: Each object handled, in order, and whether it changed.
  returned: always
  type: list
  elements: dict
  contains:
    ref: {description: "Kind and name, for example C(Namespace tectonic-system).", type: str}
    changed: {description: "Whether it was created, updated or deleted.", type: bool}
  sample:
    - {ref: CustomResourceDefinition clusters.multicluster.coreos.com, changed: false}
    - {ref: ConfigMap tectonic-system/tectonic-config, changed: true}
left_alone:
  description:
    - The CustomResourceDefinitions of an API outside the registry's group (the ClusterProfile API) found on the
      cluster without the label C(app.kubernetes.io/part-of=tectonic-multi-cluster) - another manager's - and left
      alone, neither changed nor removed.
  returned: always
  type: list
  elements: str
  sample: [CustomResourceDefinition clusterprofiles.multicluster.x-k8s.io]
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import STATE_SPEC, module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.install import ensure_absent, ensure_present


def argument_spec():
    return module_spec(
        cluster_name=dict(type="str"),
        definitions=dict(type="list", elements="dict", required=True),
        state=STATE_SPEC,
        force=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=60),
    )


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True,
                                required_if=[("state", "present", ["cluster_name"])])
    params = module.params

    def run():
        client = module.client()
        if params["state"] == "present":
            return ensure_present(client, params["definitions"], params["cluster_name"], params["force"],
                                  params["wait_timeout"])
        return ensure_absent(client, params["definitions"], params["force"])
    module.run(run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_cluster_policy_info
short_description: Read ClusterPolicies from the multi-cluster directory
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Reads C(ClusterPolicy) objects (C(multicluster.coreos.com/v1)) from the directory - one by name, or all that
    match a label selector.
  - Also names the ones this collection manages (label C(app.kubernetes.io/managed-by=coreos.multicluster)),
    which the C(coreos.multicluster.cluster_policies) role may prune.
options:
  name:
    description:
      - Name of one ClusterPolicy. Mutually exclusive with O(label_selectors).
    type: str
  label_selectors:
    description:
      - Label selectors, joined with commas, for example C(team=platform) or
        C(app.kubernetes.io/managed-by=coreos.multicluster).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.attributes.read_only
  - coreos.multicluster.connection
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: coreos.multicluster.mc_cluster_policy
"""

EXAMPLES = r"""
- name: Every ClusterPolicy of the directory
  coreos.multicluster.mc_cluster_policy_info:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
  register: policies

- name: Print the names of the ones this collection manages
  ansible.builtin.debug:
    msg: "{{ policies.managed }}"
"""

RETURN = r"""
policies:
  description: The ClusterPolicy objects found, without server-owned metadata, sorted by name.
  returned: always
  type: list
  elements: dict
names:
  description: Their names, in the same order.
  returned: always
  type: list
  elements: str
  sample: [aws-admins, monitoring]
managed:
  description: The names of those that carry the label C(app.kubernetes.io/managed-by=coreos.multicluster).
  returned: always
  type: list
  elements: str
  sample: [aws-admins]
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.policies.cluster_policy import info
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import run_info


def main():
    run_info(info)


if __name__ == "__main__":
    main()

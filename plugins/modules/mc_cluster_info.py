#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_cluster_info
short_description: Read Clusters from the multi-cluster directory
version_added: 0.1.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Reads C(Cluster) objects (C(multicluster.coreos.com/v1)) from the directory, or from a replica
    that pulled them - one by name, or all that match a label selector.
  - Returns the objects and a flat, inventory-friendly view of each.
options:
  name:
    description:
      - Name of one Cluster. Mutually exclusive with O(label_selectors).
    type: str
  label_selectors:
    description:
      - Label selectors, joined with commas, for example C(stage=production) or C(role in (replica)).
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
"""

EXAMPLES = r"""
- name: All production clusters of the fleet
  coreos.multicluster.mc_cluster_info:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    label_selectors:
      - stage=production
  register: production

- name: Print their API servers
  ansible.builtin.debug:
    msg: "{{ production.fleet | map(attribute='server') | list }}"

- name: One cluster
  coreos.multicluster.mc_cluster_info:
    name: east-coast-production
  register: east
"""

RETURN = r"""
clusters:
  description: The Cluster objects found, without server-owned metadata, sorted by name.
  returned: always
  type: list
  elements: dict
fleet:
  description: One flat dict per Cluster, in the same order as RV(clusters).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Cluster name., type: str}
    labels: {description: Its labels., type: dict}
    console_url: {description: Console URL or null., type: str}
    directory: {description: Whether it is the directory., type: bool}
    endpoints: {description: API server addresses., type: list, elements: str}
    server: {description: The first API server address., type: str}
    kube_system_uid: {description: "Recorded kube-system namespace UID, or null.", type: str}
    available:
      description:
        - Whether its agent renewed its heartbeat Lease (C(tectonic-multi-cluster/<name>)) within 5 periods (false
          after them).
        - Null - not known - when no agent ever renewed it (a replica synced from Ansible only) or it has no Lease,
          when the Leases cannot be read, and for the directory (it runs no agent).
      type: bool
    last_seen: {description: "When the heartbeat was last renewed (UTC), or null.", type: str}
    heartbeat_age: {description: "Seconds since then, or null.", type: int}
    heartbeat: {description: "Why it is available or not, in a few words.", type: str}
    synced: {description: "The status of its Synced condition (True, False) or null when its agent wrote none.", type: str}
    synced_message: {description: "That condition's message, or null.", type: str}
    policies: {description: "The status of its PoliciesApplied condition (True, False, Unknown) or null.", type: str}
    policies_message: {description: "That condition's message (the failing policies), or null.", type: str}
    policies_applied: {description: "Cluster Policies applied / selected there (for example 2/3), or null.", type: str}
    kubernetes_version: {description: "Its Kubernetes version, as its agent reported it, or null.", type: str}
    agent_version: {description: "Its agent's version, or null.", type: str}
  sample:
    - name: west-coast-production
      labels: {stage: production, cloud: aws, region: us-west-1, role: directory}
      console_url: https://west-coast-production.west.example.com
      directory: true
      endpoints: [https://west-coast-production-api.west.example.com:443]
      server: https://west-coast-production-api.west.example.com:443
      kube_system_uid: 2c0e9e37-5a8e-4c1e-9f0e-6f1f0f7f4b11
      available: null
      last_seen: null
      heartbeat_age: null
      heartbeat: "the directory runs no agent: it has no heartbeat"
      synced: null
      synced_message: null
      policies: null
      policies_message: null
      policies_applied: null
      kubernetes_version: null
      agent_version: null
    - name: east-coast-production
      labels: {stage: production, cloud: aws, region: us-east-1}
      console_url: null
      directory: false
      endpoints: [https://east-coast-production-api.east.example.com:443]
      server: https://east-coast-production-api.east.example.com:443
      kube_system_uid: 8d1f7a52-3b0e-4f6c-a1d2-0e5c9b7f2a64
      available: true
      last_seen: "2026-12-07T01:40:02Z"
      heartbeat_age: 21
      heartbeat: heartbeat 21s ago
      synced: "True"
      synced_message: in sync with the directory
      policies: "True"
      policies_message: 2/2 selected policies applied
      policies_applied: 2/2
      kubernetes_version: v1.31.2
      agent_version: 0.1.0
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import info
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import run_info


def main():
    run_info(info)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_cluster
short_description: Register, update or remove a Cluster in the multi-cluster directory
version_added: 0.1.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Manages one C(Cluster) object (C(multicluster.coreos.com/v1), cluster-scoped) on the B(directory) cluster,
    the source of truth of the fleet.
  - The object keeps the schema of the original Tectonic tooling
    (C(spec.KubernetesAPIEndpoints.ServerEndpoints[].ServerAddress)), so objects it wrote stay valid.
  - Updates are JSON merge patches guarded by C(resourceVersion); a conflicting concurrent write is re-read and retried.
  - Refuses to make a second cluster the directory, naming the cluster that already is.
  - With O(cluster_connection), checks the identity of the cluster being registered, its
    C(tectonic-system/tectonic-config) C(clusterName) must equal O(name), and records its C(kube-system)
    namespace UID so the same cluster cannot be registered twice under two names.
options:
  name:
    description:
      - Name of the Cluster object, the name the cluster was installed with. A DNS-1123 label.
    type: str
    required: true
  state:
    description:
      - V(present) registers or updates the Cluster; V(absent) deletes it (deleting what is gone is no change).
    type: str
    choices: [present, absent]
    default: present
  labels:
    description:
      - Labels to set, for example C(stage), C(cloud), C(region), C(role). A label given the value V(null) is removed.
      - Other labels on the object are kept unless O(purge_labels=true).
    type: dict
  purge_labels:
    description:
      - Remove the labels of the object that are not in O(labels).
    type: bool
    default: false
  console_url:
    description:
      - The cluster's console URL, kept in annotation C(multicluster.coreos.com/console-url). An C(https://) URL
        with a host; plain C(http://) is refused.
      - An empty string removes the annotation; omitted leaves it as it is.
    type: str
  directory:
    description:
      - V(true) marks this Cluster as the directory (annotation C(multicluster.coreos.com/directory=true));
        V(false) removes the mark; omitted leaves it as it is.
    type: bool
  endpoints:
    description:
      - API server addresses of the cluster (C(ServerEndpoints[].ServerAddress)), each an C(https://) URL with a host,
        without user info or white space - the rule the Cluster CRD enforces too. Plain C(http://) is refused before
        anything is read or written - replicas send their credential to the directory's address.
      - Required to register a new Cluster; when given for an existing one, replaces the list
        (other fields of an entry whose address stays are kept).
    type: list
    elements: str
  cluster_connection:
    description:
      - Connection to the cluster being registered, to check its identity. Takes the same keys as the
        connection options (O(kubeconfig), O(context), O(host), ...), without environment fallbacks.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
  - coreos.multicluster.connection.cluster_connection
attributes:
  check_mode:
    support: full
    details: Uses server-side dry run.
  diff_mode:
    support: full
requirements:
  - kubernetes >= 24.2.0
notes:
  - Needs the registry's C(Cluster) API on the directory (role C(coreos.multicluster.registry)); without it
    the module fails with "the multi-cluster registry is not installed on cluster ...".
"""

EXAMPLES = r"""
- name: Register the directory cluster itself
  coreos.multicluster.mc_cluster:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: west-coast-production
    directory: true
    labels: {stage: production, cloud: aws, region: us-west-1, role: directory}
    console_url: https://west-coast-production.west.example.com
    endpoints:
      - https://west-coast-production-api.west.example.com:443

- name: Register a replica, checking it really is the cluster installed under that name
  coreos.multicluster.mc_cluster:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    labels: {stage: production, cloud: gcp, region: us-east1, role: replica}
    endpoints: [https://east-coast-production-api.east.example.com:443]
    cluster_connection:
      kubeconfig: /etc/fleet/east-coast-production.kubeconfig

- name: Keep only the given labels
  coreos.multicluster.mc_cluster:
    name: east-coast-production
    labels: {stage: production, role: replica}
    purge_labels: true

- name: De-register a cluster
  coreos.multicluster.mc_cluster:
    name: central-production
    state: absent
"""

RETURN = r"""
cluster:
  description: Inventory-friendly view of the Cluster after the change (null when absent).
  returned: always
  type: dict
  contains:
    name: {description: Cluster name., type: str}
    labels: {description: Its labels., type: dict}
    console_url: {description: Console URL or null., type: str}
    directory: {description: Whether it is the directory., type: bool}
    endpoints: {description: API server addresses., type: list, elements: str}
    server: {description: The first API server address., type: str}
    kube_system_uid: {description: "Recorded kube-system namespace UID, or null.", type: str}
  sample:
    name: east-coast-production
    labels: {stage: production, cloud: gcp, region: us-east1, role: replica}
    console_url: null
    directory: false
    endpoints: [https://east-coast-production-api.east.example.com:443]
    server: https://east-coast-production-api.east.example.com:443
    kube_system_uid: null
before:
  description: The object before the change, without server-owned metadata; null if it did not exist.
  returned: always
  type: dict
after:
  description: The object after the change (as the server returned it, dry run in check mode); null when absent.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    STATE_SPEC, connection_suboption_spec, module_spec)
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import ensure_absent, ensure_present
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule


def argument_spec():
    return module_spec(
        name=dict(type="str", required=True),
        state=STATE_SPEC,
        labels=dict(type="dict"),
        purge_labels=dict(type="bool", default=False),
        console_url=dict(type="str"),
        directory=dict(type="bool"),
        endpoints=dict(type="list", elements="str"),
        cluster_connection=dict(type="dict", options=connection_suboption_spec()),
    )


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params

    def run():
        directory = module.client()
        if params["state"] == "absent":
            return ensure_absent(directory, params["name"])
        target = module.client(params["cluster_connection"]) if params["cluster_connection"] else None
        return ensure_present(directory, params, target)
    module.run(run)


if __name__ == "__main__":
    main()

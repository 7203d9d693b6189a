#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_cluster_profiles
short_description: Export the directory's Clusters as SIG-Multicluster ClusterProfiles, once
version_added: 0.3.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against the B(directory) cluster and keeps one C(ClusterProfile) (C(multicluster.x-k8s.io/v1alpha1),
    KEP-4322) per C(Cluster) object in namespace O(namespace), the way the C(cluster-profile-exporter) agent does
    continuously (role C(coreos.multicluster.registry), C(registry_profile_exporter)).
  - Each profile has the Cluster's name, the label C(x-k8s.io/cluster-manager=coreos-multicluster) and
    C(spec.clusterManager.name=coreos-multicluster) (never changed once written - the API's own rule), and
    C(spec.displayName) the Cluster's name.
  - Its status, written through the status subresource - C(version.kubernetes) from the Cluster's status (written by
    the replica's agent); the Cluster's labels as C(properties) named C(multicluster.coreos.com/<label>) (a label
    with an empty value left out, 64 properties at most) and C(multicluster.coreos.com/console-url); a
    C(ControlPlaneHealthy) condition, V(True) while the replica's heartbeat Lease (in C(tectonic-multi-cluster),
    named after its Cluster) is renewed, V(Unknown) after O(grace_periods) periods without a renewal or when it has
    none (the directory's own Cluster, which runs no agent, is V(True), as it answered the export); and one access
    provider, C(coreos-multicluster), with the Cluster's first API endpoint as C(server). No credential or secret is
    ever written into a profile. The Cluster object records no CA, so the access provider has none.
  - A Cluster is data - only those fields are read, each checked (an address that is not an C(https://) URL with a
    host is left out) and bounded.
  - Only profiles carrying the manager label (and that C(spec.clusterManager.name)) are created, updated or deleted.
    A profile of the same name of another manager is a conflict - reported in RV(conflicts) and left alone. The
    profile of a Cluster that is gone from the directory is deleted.
  - Only the fields the exporter owns are compared, and a converged export makes no write request.
options:
  namespace:
    description:
      - Namespace of the ClusterProfiles on the directory (a DNS-1123 label). The registry role creates
        C(fleet-inventory) with the ClusterProfile API (C(registry_cluster_profiles)).
    type: str
    default: fleet-inventory
  grace_periods:
    description:
      - Heartbeat periods without a renewal after which C(ControlPlaneHealthy) is V(Unknown) (from 1 to 1000).
    type: int
    default: 5
  heartbeat_period:
    description:
      - The heartbeat period in seconds, used for a Lease without a valid C(leaseDurationSeconds) (from 1 to 3600).
        A Lease's own C(leaseDurationSeconds) (the replica's C(registry_sync_heartbeat_period)) takes precedence.
    type: int
    default: 60
  state:
    description:
      - V(present) makes the profiles show the directory's Clusters; V(absent) deletes every profile carrying the
        manager label in O(namespace) (another manager's are left alone).
    type: str
    choices: [present, absent]
    default: present
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
    details: Each changed profile before and after, with its status.
requirements:
  - kubernetes >= 24.2.0
notes:
  - Needs the ClusterProfile API on the directory (role C(coreos.multicluster.registry) with
    C(registry_cluster_profiles=true)); without it the module fails and says so.
  - The agent's continuous export writes a profile's status at most once per 30 seconds except on a health
    transition (the KEP's budget); this module writes whatever differs.
seealso:
  - module: coreos.multicluster.mc_cluster
  - module: coreos.multicluster.mc_registry
"""

EXAMPLES = r"""
- name: Export the fleet as ClusterProfiles
  coreos.multicluster.mc_cluster_profiles:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig

- name: Export into another namespace, with a longer grace before a replica counts as unhealthy
  coreos.multicluster.mc_cluster_profiles:
    namespace: inventory
    grace_periods: 10

- name: Delete every profile this collection exported
  coreos.multicluster.mc_cluster_profiles:
    state: absent
"""

RETURN = r"""
namespace:
  description: The namespace of the profiles.
  returned: success
  type: str
  sample: fleet-inventory
actions:
  description:
    - What was done (in check mode, would be) for each profile - V(create), V(update), V(delete), V(conflict),
      V(unchanged), or V(deferred) (only its status differs and the continuous exporter's budget holds it back; never
      from this module).
  returned: success
  type: dict
  sample: {central-production: unchanged, east-coast-production: update}
created:
  description: Names of the profiles created.
  returned: success
  type: list
  elements: str
  sample: [west-coast-production]
updated:
  description: Names of the profiles updated (the profile or its status).
  returned: success
  type: list
  elements: str
  sample: [east-coast-production]
deleted:
  description: Names of the profiles deleted (their Cluster is gone, or O(state=absent)).
  returned: success
  type: list
  elements: str
  sample: []
failed:
  description:
    - Always empty when the task succeeds. A profile that could not be written fails the task, which names it and
      why, after every other profile was exported.
  returned: success
  type: list
  elements: dict
  sample: []
unchanged:
  description: Names of the profiles that already showed their Cluster.
  returned: success
  type: list
  elements: str
  sample: [central-production]
deferred:
  description: Always empty from this module (see RV(actions)).
  returned: success
  type: list
  elements: str
  sample: []
conflicts:
  description: Profiles of another manager named like a Cluster, left alone.
  returned: success
  type: list
  elements: dict
  sample: [{name: central-production, manager: open-cluster-management}]
"""

import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import STATE_SPEC, module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import profiles


def argument_spec():
    return module_spec(
        namespace=dict(type="str", default="fleet-inventory"),
        grace_periods=dict(type="int", default=5),
        heartbeat_period=dict(type="int", default=60),
        state=STATE_SPEC,
    )


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params

    def run():
        profiles.validate(params)  # before connecting
        return profiles.fail_on_failed(profiles.export(module.client(), params, time.time()))
    module.run(run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_cluster_policy
short_description: Create, update or delete a ClusterPolicy in the multi-cluster directory
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Manages one C(ClusterPolicy) object (C(multicluster.coreos.com/v1), cluster-scoped) on the B(directory)
    cluster. Every replica whose C(Cluster) object matches the policy's selector applies it to itself at its next
    sync - Namespaces, ClusterRoleBindings and RoleBindings to ClusterRoles, a ResourceQuota and a LimitRange
    per Namespace (see C(docs/policies.md)).
  - The format is the original Tectonic one, so policies written for Tectonic stay valid, plus C(matchExpressions),
    C(resourceQuota) and C(limitRange).
  - The whole policy is checked before anything is sent to the API server, and every problem is reported at once,
    each with its path (for example C(spec.namespaces[1].resourceQuota.hard.pods)). Nothing is written when
    there is one.
  - That check includes what every replica refuses (C(docs/policies.md), "Bounds") - a namespace entry naming a
    protected namespace (C(kube-system), C(kube-public), C(kube-node-lease), C(default), C(tectonic-system),
    C(tectonic-multi-cluster)), a C(system:) user or group, a service account outside the policy's own namespaces,
    and a namespace label key under C(kubernetes.io/), C(k8s.io/) or C(multicluster.coreos.com/) - so an author
    learns at apply time. Each replica also applies its own bounds (ClusterRoles allowed cluster-wide and inside
    namespaces, namespaces it protects) and reports a refused entry in its status.
  - The spec is owned whole - a key removed from O(spec) is removed from the object - and a policy that already
    holds O(spec) and O(labels) is no change, with no write request.
  - Every policy it writes carries the label C(app.kubernetes.io/managed-by=coreos.multicluster); the
    C(coreos.multicluster.cluster_policies) role prunes only policies with that label. A policy of the same name
    made by another tool is taken over (the label is added) when this module names it.
options:
  name:
    description:
      - Name of the ClusterPolicy. A DNS-1123 subdomain of at most 239 characters (its quota and limit range on
        replicas are named C(clusterpolicy.<name>)).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy; V(absent) deletes it (deleting what is gone is no change).
    type: str
    choices: [present, absent]
    default: present
  spec:
    description:
      - The policy's C(spec). Required with O(state=present).
      - C(selector) - labels of C(Cluster) objects, label to value; empty or absent selects every cluster.
      - C(matchExpressions) - a list of C({key, operator, values}), ANDed with C(selector); C(operator) is one of
        V(In), V(NotIn) (C(values) required), V(Exists), V(DoesNotExist) (no C(values)).
      - C(authorization.clusterBindings) - a list of C({clusterRole, users, groups, serviceAccounts}), a
        ClusterRoleBinding per entry; C(serviceAccounts) entries are C({namespace, name}); each entry names at least
        one subject, and a C(clusterRole) appears at most once in the list (merge the subjects instead).
      - C(namespaces) - a list of C({name, labels, authorization, resourceQuota, limitRange}), a Namespace per entry
        (a DNS-1123 label, each name once); C(authorization.bindings) has the entries of C(clusterBindings) and makes
        RoleBindings to ClusterRoles in that Namespace; C(resourceQuota) is a core/v1 ResourceQuotaSpec (C(hard),
        C(scopes), C(scopeSelector)) and C(limitRange) a core/v1 LimitRangeSpec (C(limits)).
      - Quantities are Kubernetes quantities (V(500m), V(1.5Gi), V(2e3), V(20)); a whole number may be given as a
        number and is stored as a string.
      - Unknown keys are refused at every level.
    type: dict
  labels:
    description:
      - Labels of the ClusterPolicy object itself. A label given the value V(null) is removed; other labels on the
        object are kept.
      - C(app.kubernetes.io/managed-by) is set by the module and cannot be given another value.
    type: dict
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
  - Needs the registry's C(ClusterPolicy) API on the directory (role C(coreos.multicluster.registry)); without it
    the module fails with "the multi-cluster registry is not installed on cluster ...".
  - When the policy is not valid the module fails with every problem in C(msg) and as a list in
    C(details.problems).
seealso:
  - module: coreos.multicluster.mc_cluster_policy_info
  - module: coreos.multicluster.mc_cluster
"""

EXAMPLES = r"""
- name: Readers for the AWS clusters, and a monitoring Namespace they administer with a quota on the production ones
  coreos.multicluster.mc_cluster_policy:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: aws-admins
    labels: {team: platform}
    spec:
      selector: {cloud: aws}
      matchExpressions:
        - {key: stage, operator: In, values: [production]}
      authorization:
        clusterBindings:  # cluster-wide: replicas allow only view by default
          - clusterRole: view
            users: [alice@example.com]
            groups: [aws-admins]
            serviceAccounts: [{namespace: monitoring, name: deployer}]  # of the policy's own namespaces only
      namespaces:
        - name: monitoring
          labels: {team: platform}  # keys under kubernetes.io/ and k8s.io/ are refused
          authorization:
            bindings:  # inside the namespace: view, edit, admin by default
              - clusterRole: admin
                groups: [aws-admins]
              - clusterRole: edit
                groups: [sre]
          resourceQuota:
            hard: {pods: "20", requests.cpu: "4", requests.memory: 8Gi}
          limitRange:
            limits:
              - type: Container
                default: {cpu: 500m, memory: 512Mi}
                defaultRequest: {cpu: 100m, memory: 128Mi}

- name: Remove a policy (the replicas remove what it made at their next sync)
  coreos.multicluster.mc_cluster_policy:
    name: aws-admins
    state: absent
"""

RETURN = r"""
policy:
  description: The ClusterPolicy after the change, as the server returned it (its dry-run answer in check mode),
    without server-owned metadata; null when absent.
  returned: always
  type: dict
  sample:
    apiVersion: multicluster.coreos.com/v1
    kind: ClusterPolicy
    metadata:
      name: aws-admins
      labels: {app.kubernetes.io/managed-by: coreos.multicluster, team: platform}
    spec:
      selector: {cloud: aws}
      authorization:
        clusterBindings: [{clusterRole: view, groups: [aws-admins]}]
before:
  description: The object before the change, without server-owned metadata; null if it did not exist.
  returned: always
  type: dict
after:
  description: The object after the change (the same as RV(policy)); null when absent.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import STATE_SPEC, module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.cluster_policy import check, ensure_policy
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule


def argument_spec():
    return module_spec(
        name=dict(type="str", required=True),
        state=STATE_SPEC,
        spec=dict(type="dict"),
        labels=dict(type="dict"),
    )


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True,
                                required_if=[("state", "present", ["spec"])])
    params = module.params

    def run():
        check(params["name"], params["spec"], params["labels"], params["state"])  # before connecting
        return ensure_policy(module.client(), params["name"], params["spec"], params["labels"], params["state"])
    module.run(run)


if __name__ == "__main__":
    main()

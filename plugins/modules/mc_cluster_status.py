#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_cluster_status
short_description: One cluster's place in the fleet - credential, last sync, agent
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Reads, from one cluster of the fleet, what C(fleet_status.yml) shows of it - for a replica, the directory
    credential it holds in Secret C(tectonic-system/directory-sync) (type, expiry, days left, whether renewal is
    due) and its last sync as recorded in ConfigMap C(tectonic-system/directory-sync-status) (result, last success,
    its age, the directory it came from, stale or not); for every cluster, the C(directory-sync) Deployment's ready
    replicas.
  - Never fails because the cluster cannot be read - an unreachable cluster (or one whose API refuses the
    credential, or does not answer within O(request_timeout)) gives a row with RV(status.reachable=false) and the
    reason in RV(status.error), so that a report over the fleet is never cut short by one cluster.
  - Whether the cluster is registered in the directory, and its labels there, come from one
    M(coreos.multicluster.mc_cluster_info) on the directory (the playbook merges them), not from a request per cluster.
  - Reads only; no token is returned, only the token's type and expiry.
  - What the replica recorded is data its admin can write - it is read into the shape below only, and each string
    (result, message, directory, policy names, states, objects and reasons, errors) is returned as one line of
    plain text - control characters, terminal escape sequences, newlines, tabs and bidi controls removed, cut to
    256 characters (1024 for an error) with an ellipsis - so that no replica can run an escape sequence in a
    console or add a row of another cluster to a report.
  - The replica's credential is read as data, never used. A kubeconfig in its Secret that holds anything but one
    cluster (an C(https://) server, C(certificate-authority-data), C(tls-server-name)), one user with a C(token) and
    one context (an C(exec) plugin, an C(auth-provider), a C(tokenFile), file paths, ...) is no credential -
    RV(status.credential.present=false) - and RV(status.error) names the Secret, the cluster and the refused key.
options:
  name:
    description:
      - The cluster's name (its C(Cluster) object's name), a DNS-1123 label.
    type: str
    required: true
  role:
    description:
      - V(replica) reads the credential and the last sync; V(directory) only the agent's Deployment.
    type: str
    choices: [replica, directory]
    default: replica
  stale_after:
    description:
      - Seconds without a successful sync after which a replica is stale (also when none was ever recorded).
      - Keep it above the syncer's status interval (300 s by default, C(--status-interval) of the agent,
        O(coreos.multicluster.mc_directory_sync#module:status_interval)) - a sync that changes nothing
        refreshes the recorded time only that often.
    type: int
    default: 600
  renew_before_days:
    description:
      - Days of validity left below which the credential's renewal is due (as O(coreos.multicluster.mc_replica_credentials#module:renew_before)).
    type: int
    default: 7
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.attributes.read_only
  - coreos.multicluster.connection
requirements:
  - kubernetes >= 24.2.0
seealso:
  - module: coreos.multicluster.mc_cluster_info
  - module: coreos.multicluster.mc_directory_sync
"""

EXAMPLES = r"""
- name: The status of one replica
  coreos.multicluster.mc_cluster_status:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    name: east-coast-production
    stale_after: 900
  register: east

- name: Say when it is stale
  ansible.builtin.debug:
    msg: "{{ east.status.name }} last synced {{ east.status.sync.age_seconds }} s ago"
  when: east.status.sync.stale
"""

RETURN = r"""
status:
  description: One row of the fleet status.
  returned: always
  type: dict
  contains:
    name: {description: The cluster's name., type: str}
    role: {description: V(replica) or V(directory)., type: str}
    reachable: {description: Whether the cluster could be read., type: bool}
    error:
      description:
        - Why the cluster could not be read (names the cluster and the call), or why the credential in its Secret is
          refused (names the Secret, the cluster and the key); null when neither.
      type: str
    registered: {description: Always null here; set by the playbook from the directory's list., type: bool}
    labels: {description: Always null here; set by the playbook from the directory's list., type: dict}
    credential:
      description: The directory credential the replica holds; null for the directory.
      type: dict
      contains:
        present: {description: Whether the replica holds one., type: bool}
        type: {description: V(token_request) or V(service_account_token)., type: str}
        expires_at: {description: "RFC 3339 expiry, or null for a token without one.", type: str}
        days_left: {description: Days of validity left., type: float}
        renewal_due: {description: Whether fewer than O(renew_before_days) days are left., type: bool}
        problem: {description: Why there is none (when not present)., type: str}
    sync:
      description: The last sync the replica recorded; null for the directory.
      type: dict
      contains:
        recorded: {description: Whether a sync was ever recorded., type: bool}
        result: {description: V(ok) or V(failed)., type: str}
        last_success: {description: RFC 3339 time of the last successful sync., type: str}
        age_seconds: {description: Seconds since then., type: int}
        directory: {description: The directory's API server it came from., type: str}
        message: {description: What the sync said., type: str}
        stale: {description: No success within O(stale_after) seconds., type: bool}
    agent:
      description: The C(directory-sync) Deployment.
      type: dict
      contains:
        present: {description: Whether it exists., type: bool}
        replicas: {description: Wanted replicas., type: int}
        ready_replicas: {description: Ready replicas., type: int}
    policies:
      description:
        - The Cluster Policies as the replica's last sync recorded them (its status ConfigMap's C(policies) key;
          docs/policies.md); null for the directory, or before any sync that knew of policies.
      type: dict
      contains:
        enabled: {description: Whether policies apply on this replica (registry_sync_policies)., type: bool}
        error: {description: "Why none could be applied at the last sync (the directory has no ClusterPolicy API, ...), or null.", type: str}
        allowlist: {description: The ClusterRoles policies may bind there., type: list, elements: str}
        items:
          description:
            - Per policy of the directory, its C(state) (V(applied), V(conflict), V(refused), V(failed), V(invalid),
              V(not selected) or V(disabled)), the C(objects) it holds there, and its C(conflicts), C(refused)
              and C(failed) objects as C({object, reason}).
          type: dict
        released:
          description: Namespaces no policy wants any more that were kept because they hold other objects.
          type: list
          elements: dict
  sample:
    name: east-coast-production
    role: replica
    reachable: true
    error: null
    registered: null
    labels: null
    credential: {present: true, type: token_request, expires_at: "2026-12-31T09:00:00Z", days_left: 29.9, renewal_due: false}
    sync: {recorded: true, result: ok, last_success: "2026-12-01T09:00:00Z", age_seconds: 42,
           directory: "https://west-coast-production-api.west.example.com:443", message: 3 Clusters in sync, stale: false}
    agent: {present: true, replicas: 1, ready_replicas: 1}
    policies:
      enabled: true
      error: null
      allowlist: [view, edit, admin]
      items:
        aws-admins: {state: applied, objects: [Namespace monitoring, ClusterRoleBinding "clusterpolicy:aws-admins:admin"],
                     conflicts: [], refused: [], failed: []}
        gcp-admins: {state: not selected}
      released: []
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.fleet_status import cluster_row, validate
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import credential_refusal


def argument_spec():
    return module_spec(
        name=dict(type="str", required=True),
        role=dict(type="str", choices=["replica", "directory"], default="replica"),
        stale_after=dict(type="int", default=600),
        renew_before_days=dict(type="int", default=7),
    )


def run(module):
    params = validate(module.params)
    try:
        client = module.client()
    except MulticlusterError as exc:  # a cluster that cannot even be configured is a row too
        return {"changed": False, "status": dict(cluster_row(None, params), reachable=False, error=str(exc))}
    row = cluster_row(client, params)
    if row["role"] == "replica" and row["reachable"] and not row["error"]:
        try:  # the row's credential says only "none": say why
            row["error"] = credential_refusal(client)
        except MulticlusterError as exc:
            row.update(reachable=False, error=str(exc))
    return {"changed": False, "status": row}


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_directory_sync
short_description: Pull the Cluster list and the Cluster Policies from the directory into a replica, once
version_added: 0.1.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against a B(replica) cluster and makes its C(Cluster) objects (C(multicluster.coreos.com/v1)) match the
    directory's, the way the replica's C(directory-sync) agent does continuously. Pull-only - the replica reads
    the directory with its own view-only credential; nothing on the directory writes to replicas.
  - The directory is read with the kubeconfig in the replica's Secret O(secret_namespace)/O(secret_name) (key
    C(kubeconfig), as stored by M(coreos.multicluster.mc_sync_secret)), or with O(directory_kubeconfig).
  - The kubeconfig in the replica's Secret is data - the replica's admins can write it. It must hold one cluster
    (an C(https://) server, C(certificate-authority-data), C(tls-server-name)), one user with a C(token) and one
    context, and nothing else; the client is built from those values alone. An C(exec) plugin, an C(auth-provider),
    a C(tokenFile), file paths, client certificates, C(insecure-skip-tls-verify), C(proxy-url), a second entry or
    an unknown key fail the module before any request, naming the Secret, the replica and the refused key. Only
    O(directory_kubeconfig), the operator's own, is read by the kubernetes client's kubeconfig loader.
  - Creates the directory's Clusters that the replica lacks and updates those that differ (labels, annotations
    and spec). Every Cluster it writes carries the label C(app.kubernetes.io/managed-by=directory-sync) and the
    annotation C(multicluster.coreos.com/synced-from) naming the directory's API server.
  - Deletes from the replica only Clusters carrying that label which the directory no longer has. A Cluster made on
    the replica by hand is never changed or deleted; when it has the name of a directory Cluster it is left alone and
    reported in the C(conflicts) return value.
  - Objects are compared in a normalised form (labels, annotations other than C(kubectl.kubernetes.io/) ones,
    spec), and nothing is written when nothing differs.
  - When the directory refuses the credential (HTTP 401 or 403), cannot be reached, or has no Cluster API, nothing
    on the replica's Clusters is changed, the module fails with the reason, and the failure is recorded.
  - B(Cluster Policies) (docs/policies.md). The same run applies every C(ClusterPolicy) of the directory whose
    selector matches the labels of this replica's own C(Cluster) there (its name is the C(clusterName) of
    ConfigMap C(tectonic-system/tectonic-config)) - Namespaces, ClusterRoleBindings, RoleBindings, ResourceQuotas and
    LimitRanges with names derived from the policy, marked like the Clusters; and removes what no selected policy
    wants any more. A Namespace is deleted only when it holds nothing but what the syncer and Kubernetes put there;
    otherwise it is released (mark removed, object kept) and reported in C(released).
  - What the replica lets policies do is read from its ConfigMap C(tectonic-system/directory-sync-config), written
    by the C(coreos.multicluster.registry) role (docs/policies.md, "Bounds") - whether they apply, the ClusterRoles
    they may bind cluster-wide (default V(view)) and inside their namespaces (default V(view), V(edit), V(admin)),
    the namespaces they never write into (always C(kube-system), C(kube-public), C(kube-node-lease), C(default),
    C(tectonic-system), C(tectonic-multi-cluster)), and the C(system:) subjects and reserved label keys allowed by
    name (none by default). Anything else is refused entry by entry and reported; the rest of the policy applies.
    When that ConfigMap is missing or cannot be read, when policies are disabled, or the directory has no
    ClusterPolicy API, or this replica's Cluster is not in the directory, no object of theirs is changed and the
    Clusters are still synced.
  - Policy objects are read and written B(as the agent's ServiceAccount) - header C(Impersonate-User) naming
    C(system:serviceaccount:tectonic-system:directory-sync) - so the agent's RBAC (installed
    by the registry role) bounds them here too, whatever the connection's own rights. Where the connection may not
    impersonate, or that RBAC is not installed, policies are reported as not applied and the Clusters are still
    synced with the connection's own credential.
  - An object the replica refuses (HTTP 400, 403, 404, 409 or 422, for example a missing ClusterRole or an admission
    webhook) fails alone and is reported in C(failed_objects) and under its policy; the rest goes on.
  - The outcome is recorded on the replica in ConfigMap C(tectonic-system/directory-sync-status), with the keys
    C(directory), C(lastAttempt), C(lastSuccess), C(result) (V(ok) or V(failed)), C(message), C(counts) (JSON) and
    C(policies) (JSON, per policy its state, objects, conflicts, refusals and failures; see RV(policies)).
    It is written only when its content other than the two timestamps changes, or when the recorded
    C(lastAttempt) is at least O(status_interval) seconds old, so that a run with nothing to change writes nothing;
    the timestamps are therefore exact to within O(status_interval).
  - B(Limits). The replica bounds what it reads from the directory. A directory holding more Clusters than
    O(max_clusters) or ClusterPolicies than O(max_cluster_policies), a ClusterPolicy with more namespaces than
    O(max_policy_namespaces), or an object larger than O(max_object_bytes) is refused - nothing on the replica
    changes, the module fails naming the limit (C(details.limit)), and the failure is recorded in the status
    ConfigMap. The directory's lists are read a page at a time, each object stripped to the fields the sync uses
    as it arrives, and the reading stops at the limit.
options:
  directory_kubeconfig:
    description:
      - A kubeconfig for the directory, as a dict, as YAML text or as the path of a file. Its current context is used.
        It is the operator's own (trusted) and read by the kubernetes client's loader, as O(kubeconfig) is.
      - When not given, the kubeconfig stored in the replica's Secret O(secret_namespace)/O(secret_name) is used.
    type: raw
  directory_server:
    description:
      - The directory's API address as the operator knows it (the directory host's C(mc_api_endpoint);
        C(playbooks/sync_replicas.yml) passes it). A kubeconfig in the replica's Secret that names another server is
        refused before any request is made with it, so that whoever administers the replica cannot choose where
        the controller sends requests.
      - Not checked when not given, nor for O(directory_kubeconfig) (the operator's own).
    type: str
  secret_name:
    description:
      - Name of the replica's Secret holding the directory kubeconfig under key C(kubeconfig).
    type: str
    default: directory-sync
  secret_namespace:
    description:
      - Namespace of that Secret.
    type: str
    default: tectonic-system
  status_interval:
    description:
      - Seconds after which the status ConfigMap is written again even when its content did not change, so that
        C(lastSuccess) and C(lastAttempt) stay current. Such a refresh alone is not reported as a change.
      - V(0) writes the timestamps on every run.
    type: int
    default: 300
  max_clusters:
    description:
      - The most Clusters the directory may hold; with more, the sync is refused and nothing is changed.
    type: int
    default: 10000
  max_cluster_policies:
    description:
      - The most ClusterPolicies the directory may hold; with more, the sync is refused and nothing is changed.
    type: int
    default: 1000
  max_policy_namespaces:
    description:
      - The most namespaces one ClusterPolicy of the directory may list; with more, the sync is refused and nothing
        is changed.
    type: int
    default: 100
  max_object_bytes:
    description:
      - The largest object of the directory, in bytes of JSON of the fields the sync keeps (name, labels,
        annotations other than C(kubectl.kubernetes.io/) ones, spec); with a larger one, the sync is refused and
        nothing is changed.
      - The default, 256 KiB, is the API server's own limit for the annotations of one object and about a
        hundred times a real Cluster or ClusterPolicy. A page of the directory's lists (100 objects) may be at
        most 100 times this as the directory sends it.
    type: int
    default: 262144
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
attributes:
  check_mode:
    support: full
    details: Cluster writes use server-side dry run; the status ConfigMap is not written.
  diff_mode:
    support: full
    details: The Clusters created, updated or deleted, before and after. No credential appears in the diff.
requirements:
  - kubernetes >= 24.2.0
notes:
  - The connection options are for the replica; the directory is reached with its own kubeconfig.
  - The replica needs the registry (role C(coreos.multicluster.registry)) - the Cluster API and namespace
    C(tectonic-system).
  - The directory kubeconfig only needs to get and list C(clusters.multicluster.coreos.com) and
    C(clusterpolicies.multicluster.coreos.com) (ClusterRole C(tectonic-view-clusters)).
  - For continuous sync, run the C(directory-sync) agent on the replica (C(containers/directory-sync) in the
    collection); this module runs the same engine once, for example from an AWX schedule
    (playbook C(coreos.multicluster.sync_replicas)).
seealso:
  - module: coreos.multicluster.mc_sync_secret
  - module: coreos.multicluster.mc_replica_credentials
"""

EXAMPLES = r"""
- name: Pull the Cluster list from the directory into a replica
  coreos.multicluster.mc_directory_sync:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig

- name: With a directory kubeconfig from a file instead of the replica's Secret
  coreos.multicluster.mc_directory_sync:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    directory_kubeconfig: /etc/fleet/east-coast-production-directory.kubeconfig

- name: Show what a sync would change
  coreos.multicluster.mc_directory_sync:
    kubeconfig: /etc/fleet/central-production.kubeconfig
  check_mode: true
  diff: true
  register: _sync

- name: Report the Cluster Policies this replica refused or could not apply
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.state }}"
  loop: "{{ _sync.policies['items'] | dict2items }}"
  when: _sync.policies and item.value.state in ['conflict', 'refused', 'failed', 'invalid']

- name: Report Clusters made on the replica by hand that block a directory Cluster
  ansible.builtin.debug:
    msg: "{{ _sync.conflicts }}"
  when: _sync.conflicts | length > 0
"""

RETURN = r"""
created:
  description:
    - Names of the Clusters created on the replica (in check mode, that would be), then the objects of Cluster
      Policies as C(Kind namespace/name).
  returned: success
  type: list
  elements: str
  sample: [central-production]
updated:
  description: Names of the Clusters updated on the replica.
  returned: success
  type: list
  elements: str
  sample: [west-coast-production]
deleted:
  description: Names of the Clusters deleted from the replica (the directory no longer has them).
  returned: success
  type: list
  elements: str
  sample: []
conflicts:
  description:
    - Names of directory Clusters that exist on the replica without the C(app.kubernetes.io/managed-by=directory-sync)
      label (made there by hand); they are left alone.
  returned: success
  type: list
  elements: str
  sample: []
failed_objects:
  description:
    - Objects of Cluster Policies the replica refused (HTTP 400, 403, 404, 409, 422), each with the reason; the rest
      of the sync went on and the task does not fail. (Earlier releases returned it as C(failed), which made any such
      object fail the task.)
  returned: success
  type: list
  elements: dict
  sample: [{object: "LimitRange monitoring/clusterpolicy.aws-admins", reason: "create LimitRange ...: HTTP 403 Forbidden"}]
released:
  description: Namespaces no policy wants any more that hold other objects - kept, no longer managed.
  returned: success
  type: list
  elements: str
  sample: [Namespace monitoring]
policies:
  description:
    - How the directory's Cluster Policies went on this replica (also recorded in the status ConfigMap).
    - Null when the sync ran without them.
  returned: success
  type: dict
  contains:
    enabled:
      description: Whether policies apply on this replica.
      type: bool
    error:
      description: Why no policy could be applied (their objects were left as they were), or null.
      type: str
    allowlist:
      description: The ClusterRoles policies may bind here.
      type: list
      elements: str
    items:
      description:
        - Per policy, C(state) - V(applied), V(conflict) (an object of that name made by hand, or two policies asking
          for different labels on one Namespace), V(refused) (a role outside an allowlist, a protected namespace, a
          C(system:) subject, a reserved label key, something inside a Namespace made by hand), V(failed), V(invalid)
          (with C(problems)), V(not selected) or V(disabled); C(objects) it holds here; C(conflicts), C(refused) and
          C(failed) as lists of C({object, reason}).
      type: dict
    released:
      description: The Namespaces released by this run, as C({object, reason}).
      type: list
      elements: dict
  sample:
    enabled: true
    error: null
    allowlist: [view, edit, admin]
    items:
      aws-admins:
        state: refused
        objects: [Namespace monitoring, "RoleBinding monitoring/clusterpolicy:aws-admins:edit"]
        conflicts: []
        refused:
          - object: "ClusterRoleBinding clusterpolicy:aws-admins:cluster-admin"
            reason: >-
              ClusterRole cluster-admin is not in this replica's allowlist of roles policies may bind cluster-wide
              (view)
        failed: []
      gcp-admins: {state: not selected}
    released: []
counts:
  description:
    - Per kind of object (C(clusters), and for policies C(namespaces), C(clusterrolebindings), C(rolebindings),
      C(resourcequotas), C(limitranges)), how many the directory wants, how many the syncer holds, conflicts.
  returned: success
  type: dict
  sample: {clusters: {desired: 3, held: 3, conflicts: 0}, namespaces: {desired: 1, held: 1, conflicts: 0}}
status:
  description: The status ConfigMap C(tectonic-system/directory-sync-status).
  returned: success
  type: dict
  contains:
    data:
      description: Its data after the run (in check mode, as it would be written; the present data when not written).
      type: dict
    written:
      description: Whether it was written by this run.
      type: bool
    changed:
      description: Whether its content other than the timestamps changed.
      type: bool
  sample:
    data:
      directory: https://west-coast-production-api.west.example.com:443
      result: ok
      message: 3 Clusters in sync
      counts: '{"clusters":{"conflicts":0,"desired":3,"held":3}}'
      lastAttempt: "2026-07-01T10:00:00Z"
      lastSuccess: "2026-07-01T10:00:00Z"
    written: true
    changed: true
directory_server:
  description: The directory API server read. On failure it is in C(details.directory_server).
  returned: success
  type: str
  sample: https://west-coast-production-api.west.example.com:443
diff:
  description:
    - The objects created, updated or deleted, before and after, under the plural of their kind (C(clusters),
      C(namespaces), ...).
  returned: success, in diff mode
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.engine import sync
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.reading import (
    WHOLE, directory_credential)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import HIDE_USERS, MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.policies.plan import AGENT_USER
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DEFAULT_MAX_CLUSTER_POLICIES, DEFAULT_MAX_CLUSTERS, DEFAULT_MAX_OBJECT_BYTES, DEFAULT_MAX_POLICY_NAMESPACES, Limits)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import validate_https_url


def argument_spec():
    return module_spec(
        directory_kubeconfig=dict(type="raw", no_log=True),
        directory_server=dict(type="str"),
        secret_name=dict(type="str", default="directory-sync"),
        secret_namespace=dict(type="str", default="tectonic-system", no_log=False),
        status_interval=dict(type="int", default=300),
        max_clusters=dict(type="int", default=DEFAULT_MAX_CLUSTERS),
        max_cluster_policies=dict(type="int", default=DEFAULT_MAX_CLUSTER_POLICIES),
        max_policy_namespaces=dict(type="int", default=DEFAULT_MAX_POLICY_NAMESPACES),
        max_object_bytes=dict(type="int", default=DEFAULT_MAX_OBJECT_BYTES),
    )


def limits_of(params):
    """The Limits the module options give (MulticlusterError naming a bad one)."""
    try:
        return Limits(params["max_clusters"], params["max_cluster_policies"], params["max_policy_namespaces"],
                      params["max_object_bytes"])
    except ValueError as exc:
        raise MulticlusterError(str(exc)) from None


def run(module, params):
    if params["status_interval"] < 0:
        raise MulticlusterError("status_interval must be 0 or more seconds")
    limits = limits_of(params)
    replica = module.client()
    if params["directory_server"]:
        validate_https_url(params["directory_server"], "directory_server")
    config, server = directory_credential(replica, params["directory_kubeconfig"], params["secret_namespace"],
                                          params["secret_name"], expected_server=params["directory_server"])
    module.hide_kubeconfig(config)
    # from the Secret: a Credential, built from its values; directory_kubeconfig: the loader (the operator's own)
    directory = module.client({"kubeconfig": config})
    # each directory list one consistent answer, from the watch cache on servers that can (reading.WHOLE)
    result = sync(directory, replica, server, status_interval=params["status_interval"], limits=limits,
                  policy_replica=replica.impersonating(AGENT_USER), cached=WHOLE)  # policies: the agent's RBAC
    for name in result["conflicts"]:
        module.warn("%s exists on cluster '%s' without the app.kubernetes.io/managed-by=directory-sync label "
                    "(made there by hand): left alone" % (name if " " in name else "Cluster " + name, replica.label))
    for item in result["failed"]:
        module.warn("%s on cluster '%s' could not be applied: %s" % (item["object"], replica.label, item["reason"]))
    keys = ("changed", "created", "updated", "deleted", "conflicts", "failed", "released", "policies", "counts",
            "status", "directory_server", "diff")
    out = dict((key, result[key]) for key in keys)
    out["failed_objects"] = out.pop("failed")  # "failed" is Ansible's: a list of objects there fails the task
    return out


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True,
                                credential_options={"directory_kubeconfig": HIDE_USERS})
    params = dict(module.params, **module.credentials)
    module.run(lambda: run(module, params))


if __name__ == "__main__":
    main()

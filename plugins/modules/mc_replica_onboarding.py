#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_replica_onboarding
short_description: Onboard one replica in one step - register it, issue its credential, store it, prove it
version_added: 0.2.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against the B(directory) cluster (the connection options) and the B(replica) (O(replica_connection)), in
    one module process with one connection to each, the whole onboarding of one replica that
    M(coreos.multicluster.mc_cluster), M(coreos.multicluster.mc_replica_credentials),
    M(coreos.multicluster.mc_sync_secret) and M(coreos.multicluster.mc_cluster_info) do as four tasks. The role
    C(coreos.multicluster.replica_onboarding) uses it.
  - First it reads the replica (its current credential from Secret C(tectonic-system/directory-sync) and, with
    O(verify_identity), its identity), so that a replica that cannot be reached fails before anything is written.
  - The current credential is read as data, for its token only, and never used to connect. A kubeconfig in that
    Secret that holds anything but one cluster (an C(https://) server, C(certificate-authority-data),
    C(tls-server-name)), one user with a C(token) and one context - an C(exec) plugin, an C(auth-provider), a
    C(tokenFile), file paths, client certificates, C(insecure-skip-tls-verify), C(proxy-url) - is no credential - a
    fresh one is issued and stored over it, and RV(credential.reason) names the refused key.
  - Then it ensures the replica's C(Cluster) object in the directory (as M(coreos.multicluster.mc_cluster) with
    O(coreos.multicluster.mc_cluster#module:cluster_connection) does), the replica's ServiceAccount, ClusterRoleBinding and credential on the directory
    (as M(coreos.multicluster.mc_replica_credentials) does), and the credential in the replica's Secret (as
    M(coreos.multicluster.mc_sync_secret) does, proving first that it lists Clusters on the directory and rolling
    the C(directory-sync) Deployment onto a new credential).
  - Last, with O(verify_credential), it lists the Clusters on the directory with the replica's credential.
  - The credential never leaves the module; no result holds a token or a kubeconfig, so the task needs no
    C(no_log).
  - For de-registration use M(coreos.multicluster.mc_replica_deregistration) (the role
    C(coreos.multicluster.deregistration) runs it).
options:
  name:
    description:
      - The replica's cluster name, as its C(tectonic-config) ConfigMap records it. A DNS-1123 label; it names the
        Cluster object and the ServiceAccount.
    type: str
    required: true
  replica_connection:
    description:
      - Connection to the replica. Takes the same keys as the connection options (O(kubeconfig), O(context),
        O(host), ...), without environment fallbacks.
    type: dict
    required: true
  labels:
    description:
      - Labels of the Cluster object, for example C(stage), C(cloud), C(region), C(role). Labels not given are kept
        unless O(purge_labels).
    type: dict
  purge_labels:
    description:
      - Remove the Cluster object's labels that O(labels) does not give.
    type: bool
    default: false
  console_url:
    description:
      - The replica's console URL (annotation C(multicluster.coreos.com/console-url)). An empty string removes it.
    type: str
  endpoints:
    description:
      - API server addresses of the replica. Needed when the Cluster object does not exist yet.
    type: list
    elements: str
  verify_identity:
    description:
      - Check that the replica was installed under O(name) (ConfigMap C(tectonic-system/tectonic-config)) and
        record its C(kube-system) namespace UID, refusing a cluster already registered under another name.
    type: bool
    default: true
  credential_type:
    description:
      - V(token_request) is an expiring token bound to an anchor Secret (renewed by re-running the module);
        V(service_account_token) a long-lived token kept in a Secret on the directory. See
        M(coreos.multicluster.mc_replica_credentials).
    type: str
    choices: [token_request, service_account_token]
    default: token_request
  token_ttl:
    description:
      - Lifetime in seconds asked for a new V(token_request) token, at least V(600). The default is 30 days.
    type: int
    default: 2592000
  renew_before:
    description:
      - A V(token_request) token with less than this many seconds left is renewed. The default is 7 days.
    type: int
    default: 604800
  rotate:
    description:
      - Replace the credential even if it is still valid, which revokes every earlier token of the replica. The
        replica's Secret then holds the new one and its C(directory-sync) pods restart with it.
    type: bool
    default: false
  directory_server:
    description:
      - The directory API address written into the replica's kubeconfig, the one replicas reach it at.
      - An C(https://) URL with a host; a plain C(http://) address is refused before any write.
      - Default, the address the module connects to (which must then be C(https://) too).
    type: str
  directory_name:
    description:
      - Name of the cluster, user and context of the replica's kubeconfig.
    type: str
    default: directory
  verify_credential:
    description:
      - Prove that the credential lists Clusters on the directory, before it is written into the Secret and, when
        nothing had to be written, after. Turn it off only when the directory is reachable from the replica but
        not from where the module runs.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
  - coreos.multicluster.connection.replica_connection
attributes:
  check_mode:
    support: full
    details: Writes use server-side dry run. No token is minted; when a new one would be, the Secret step is
      reported V(skipped) and nothing is listed with it.
  diff_mode:
    support: full
    details: The Cluster object, the directory-side objects as names, uids and C(sha256:) token hashes, and the
      Secret's data as hashes.
requirements:
  - kubernetes >= 24.2.0
notes:
  - Needs the registry on both clusters (role C(coreos.multicluster.registry)).
  - The small modules stay for playbooks that compose the steps themselves; this one runs them in one process,
    which on a fleet is several times faster than four tasks per replica.
seealso:
  - module: coreos.multicluster.mc_cluster
  - module: coreos.multicluster.mc_replica_credentials
  - module: coreos.multicluster.mc_sync_secret
"""

EXAMPLES = r"""
- name: Onboard the replica - Cluster object, credential, sync Secret, verified
  coreos.multicluster.mc_replica_onboarding:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    labels: {stage: production, cloud: aws, region: us-east-1, role: replica}
    console_url: https://east-coast-production.east.example.com
    endpoints: [https://east-coast-production-api.east.example.com:443]
    directory_server: https://west-coast-production-api.west.example.com:443
    replica_connection:
      kubeconfig: /etc/fleet/east-coast-production.kubeconfig
  register: onboarded

- name: Show what each step did
  ansible.builtin.debug:
    msg: "{{ onboarded.summary }}"

- name: Rotate the replica's credential now (its syncer restarts with the new one)
  coreos.multicluster.mc_replica_onboarding:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    rotate: true
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
    status: {description: "V(changed), V(ok) (already in place) or V(skipped).", type: str}
  sample:
    - {step: register in directory, status: changed}
    - {step: credential on directory, status: changed}
    - {step: sync Secret tectonic-system/directory-sync, status: changed}
    - {step: credential lists 3 Clusters on the directory, status: ok}
cluster:
  description: The replica's Cluster object after the run, as a flat view (see M(coreos.multicluster.mc_cluster)).
  returned: always
  type: dict
  sample:
    name: east-coast-production
    labels: {stage: production, cloud: aws, region: us-east-1, role: replica}
    console_url: https://east-coast-production.east.example.com
    directory: false
    endpoints: [https://east-coast-production-api.east.example.com:443]
    server: https://east-coast-production-api.east.example.com:443
    kube_system_uid: 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0
credential:
  description: What was decided about the credential (never the token), as M(coreos.multicluster.mc_replica_credentials)
    returns it.
  returned: always
  type: dict
  contains:
    type: {description: The credential type., type: str}
    minted: {description: Whether a new token was (or in check mode would be) issued., type: bool}
    reason: {description: "Why a new token was minted, or null when the current one was kept.", type: str}
    expires_at: {description: "Expiry of the token (UTC, ISO 8601), null for a long-lived token.", type: str}
    token_sha256: {description: "C(sha256:) hash (16 hex digits) of the token.", type: str}
  sample:
    type: token_request
    minted: false
    reason: null
    expires_at: "2026-12-31T10:00:00Z"
    token_sha256: "sha256:5e884898da280471"
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
credential_secret:
  description: Namespace and name of the Secret on the directory the credential depends on.
  returned: always
  type: str
  sample: tectonic-multi-cluster/east-coast-production-credential-anchor
secret:
  description: The replica's Secret, its data as key names and C(sha256:) hashes only; null when skipped.
  returned: always
  type: dict
  sample: {name: directory-sync, namespace: tectonic-system, present: true, data: {kubeconfig: "sha256:9f86d081884c7d65"}}
deployment:
  description: The replica's syncer Deployment, and whether its pods were rolled onto the credential; null when skipped.
  returned: always
  type: dict
  sample: {name: directory-sync, namespace: tectonic-system, present: true, updated: false}
credential_hash:
  description: SHA-256 (hex) of the stored kubeconfig; null when skipped.
  returned: always
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
clusters_visible:
  description: How many Clusters the credential listed on the directory; null when not verified.
  returned: always
  type: int
  sample: 3
diff:
  description: The Cluster object, the credential's objects and the Secret, before and after.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    connection_suboption_spec, module_spec)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.onboarding import onboard
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_credential import credential_options


def argument_spec():
    spec = module_spec(
        name=dict(type="str", required=True),
        replica_connection=dict(type="dict", required=True, options=connection_suboption_spec()),
        labels=dict(type="dict"),
        purge_labels=dict(type="bool", default=False),
        console_url=dict(type="str"),
        endpoints=dict(type="list", elements="str"),
        verify_identity=dict(type="bool", default=True),
        verify_credential=dict(type="bool", default=True),
    )
    spec.update(credential_options())
    return spec


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    module.run(lambda: onboard(module.client(), module.client(params["replica_connection"]), params,
                               hide=module.hide_credential))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_sync_secret
short_description: Keep a replica's directory credential in its directory-sync Secret
version_added: 0.1.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against a B(replica) cluster. Ensures Secret C(tectonic-system/directory-sync) holds, under key
    C(kubeconfig), the kubeconfig the replica's C(directory-sync) syncer uses to read the C(Cluster) list
    from the directory (typically the C(kubeconfig)
    returned by M(coreos.multicluster.mc_replica_credentials)).
  - The kubeconfig is stored in a canonical YAML form and compared by content hash, so the same kubeconfig
    given as a dict or as text, or formatted differently, is no change and nothing is written.
  - Before writing, it proves that the kubeconfig can list C(Cluster) objects (C(multicluster.coreos.com/v1))
    on the directory, and fails without writing anything if it cannot.
  - When it writes new content, and whenever the Deployment O(deployment) in the same namespace does not carry the
    content's hash yet, it sets that Deployment's pod template annotation C(multicluster.coreos.com/credential-hash)
    to the SHA-256 of the content, so that its pods restart with the new credential. A missing Deployment is
    skipped.
options:
  kubeconfig_content:
    description:
      - The kubeconfig to store, as a dict or as YAML (or JSON) text, of at most 64 KiB.
      - It must be the one form every reader of the Secret accepts (the agent, M(coreos.multicluster.mc_directory_sync),
        M(coreos.multicluster.mc_cluster_status), M(coreos.multicluster.mc_replica_onboarding)) - one cluster with an
        C(https://) C(server), C(certificate-authority-data) (else the system's trust store is used) and optionally
        C(tls-server-name); one user with a C(token); one context naming them; optionally C(current-context) naming
        it, C(apiVersion=v1), C(kind=Config) and empty C(preferences). Anything else (C(exec), C(auth-provider),
        C(tokenFile), file paths, client certificates, C(insecure-skip-tls-verify), C(proxy-url), a second entry,
        an unknown key) is refused before anything is read or written, naming the key. The kubeconfig returned by
        M(coreos.multicluster.mc_replica_credentials) is of that form.
      - Required with O(state=present).
    type: raw
  state:
    description:
      - V(present) stores the kubeconfig; V(absent) deletes the Secret (the Deployment is left as it is).
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the Secret.
    type: str
    default: directory-sync
  namespace:
    description:
      - Namespace of the Secret and of the Deployment.
    type: str
    default: tectonic-system
  deployment:
    description:
      - Name of the syncer's Deployment whose pods are restarted on a new credential. An empty string skips it.
    type: str
    default: directory-sync
  verify_credential:
    description:
      - Prove that the kubeconfig can list Clusters on the directory before writing it.
      - Turn it off only when the directory is reachable from the replica but not from where the module runs.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
attributes:
  check_mode:
    support: full
    details: Writes use server-side dry run; the credential is still checked against the directory (a read).
  diff_mode:
    support: full
    details: Secret data shows only as key names and C(sha256:) hashes.
requirements:
  - kubernetes >= 24.2.0
notes:
  - The connection options are for the replica; the directory is reached with O(kubeconfig_content) itself.
  - The content is never returned; the result has its hash.
  - The Secret's current content is read as data (to compare it) and never used; content the strict reader refuses
    is simply replaced.
seealso:
  - module: coreos.multicluster.mc_replica_credentials
"""

EXAMPLES = r"""
- name: Issue or renew the replica's credential on the directory
  coreos.multicluster.mc_replica_credentials:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
  register: _credential
  no_log: true

- name: Store it on the replica, restarting its directory-sync pods when it changed
  coreos.multicluster.mc_sync_secret:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    kubeconfig_content: "{{ _credential.kubeconfig }}"
  when: _credential.kubeconfig is not none

- name: From a file, for a syncer Deployment with another name
  coreos.multicluster.mc_sync_secret:
    kubeconfig: /etc/fleet/central-production.kubeconfig
    kubeconfig_content: "{{ lookup('ansible.builtin.file', '/etc/fleet/central-directory.kubeconfig') }}"
    deployment: tectonic-directory-sync

- name: Remove the replica's copy of the credential
  coreos.multicluster.mc_sync_secret:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    state: absent
"""

RETURN = r"""
secret:
  description: The Secret, its data as key names and C(sha256:) hashes only.
  returned: always
  type: dict
  contains:
    name: {description: Name of the Secret., type: str}
    namespace: {description: Its namespace., type: str}
    present: {description: "Whether it exists after the run (in check mode, would exist).", type: bool}
    data: {description: "Key -> C(sha256:) hash (16 hex digits) of its value; null when absent.", type: dict}
  sample:
    name: directory-sync
    namespace: tectonic-system
    present: true
    data: {kubeconfig: "sha256:9f86d081884c7d65"}
deployment:
  description: The syncer Deployment.
  returned: always
  type: dict
  contains:
    name: {description: Its name (null when O(deployment) is empty)., type: str}
    namespace: {description: Its namespace., type: str}
    present: {description: Whether it exists., type: bool}
    updated: {description: Whether its pod template annotation was set (pods restart)., type: bool}
  sample: {name: directory-sync, namespace: tectonic-system, present: true, updated: true}
credential_hash:
  description: SHA-256 (hex) of the stored content, the value of the Deployment's C(multicluster.coreos.com/credential-hash).
  returned: when O(state=present)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
directory_server:
  description: The directory API address in the kubeconfig.
  returned: when O(state=present)
  type: str
  sample: https://west-coast-production-api.west.example.com:443
clusters_visible:
  description:
    - How many Clusters the credential listed on the directory when O(verify_credential) proved it, before it
      was written.
    - Null when nothing was written (the Secret held this kubeconfig already) or O(verify_credential=false).
  returned: when O(state=present)
  type: int
  sample: 3
diff:
  description: The Secret (data as hashes) and the Deployment's annotation, before and after.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import STATE_SPEC, module_spec
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import HIDE_USERS, MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import ensure_absent, ensure_present


def argument_spec():
    return module_spec(
        kubeconfig_content=dict(type="raw", no_log=True),
        state=STATE_SPEC,
        name=dict(type="str", default="directory-sync"),
        namespace=dict(type="str", default="tectonic-system"),
        deployment=dict(type="str", default="directory-sync"),
        verify_credential=dict(type="bool", default=True),
    )


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True,
                                required_if=[("state", "present", ["kubeconfig_content"])],
                                credential_options={"kubeconfig_content": HIDE_USERS})
    params = dict(module.params, **module.credentials)

    def run():
        replica = module.client()
        return ensure_absent(replica, params) if params["state"] == "absent" else ensure_present(replica, params)
    module.run(run)


if __name__ == "__main__":
    main()

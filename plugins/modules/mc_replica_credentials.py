#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mc_replica_credentials
short_description: Issue, renew or revoke a replica's view-only credential on the directory
version_added: 0.1.0
author:
  - coreos.multicluster contributors (@coreos)
description:
  - Runs against the B(directory) cluster. For one replica it ensures the ServiceAccount O(name) in namespace
    C(tectonic-multi-cluster), the ClusterRoleBinding C(<name>-view-clusters) to ClusterRole
    C(tectonic-view-clusters) (get, list and watch C(Cluster) objects, nothing else), and one credential,
    and returns a kubeconfig the replica can use (for M(coreos.multicluster.mc_sync_secret)).
  - With O(credential_type=token_request) (the default) the credential is an expiring token from the
    TokenRequest API, bound to the Opaque Secret C(<name>-credential-anchor) in C(tectonic-multi-cluster).
    Deleting that Secret revokes every token bound to it. The token is stored nowhere on the directory, so
    give the kubeconfig the replica holds now as O(current_kubeconfig).
  - A current token is kept (nothing is minted, C(changed=false)) when it was issued to the present
    ServiceAccount, is bound to the present anchor Secret, has more than O(renew_before) seconds left and a
    TokenReview on the directory accepts it. Otherwise a new token is minted.
  - With O(credential_type=service_account_token) the credential is a long-lived token in Secret
    C(<name>-credential-token) of type C(kubernetes.io/service-account-token), created explicitly (so it also
    works on Kubernetes 1.24 and later) and filled by the token controller. It is kept as long as that Secret
    exists; O(current_kubeconfig) is then only needed for O(verify_revoked).
  - Each credential type removes the other's object, which revokes the tokens of the other type.
  - O(state=absent) revokes everything the directory holds for the replica, the binding, the ServiceAccount,
    the anchor Secret and every token Secret of the account.
options:
  name:
    description:
      - The replica's name, its cluster name. A DNS-1123 label; it names the ServiceAccount.
    type: str
    required: true
    aliases: [replica]
  state:
    description:
      - V(present) ensures the account, the binding and a valid credential; V(absent) revokes them all.
    type: str
    choices: [present, absent]
    default: present
  credential_type:
    description:
      - V(token_request) is an expiring token bound to the anchor Secret (renewed by re-running the module).
      - V(service_account_token) is a long-lived token kept in a Secret on the directory.
    type: str
    choices: [token_request, service_account_token]
    default: token_request
  token_ttl:
    description:
      - Lifetime in seconds asked for a new V(token_request) token. At least V(600). The API server may issue
        a shorter one (C(--service-account-max-token-expiration)); the module reads the real expiry from the token.
      - The default is 30 days.
    type: int
    default: 2592000
  renew_before:
    description:
      - A V(token_request) token with less than this many seconds left is renewed. Less than O(token_ttl).
      - When the API server issued a shorter token than asked, half of that token's lifetime is used if smaller,
        so that a capped token is not renewed on every run.
      - The default is 7 days, so running the module at least weekly keeps replicas' tokens valid.
    type: int
    default: 604800
  current_kubeconfig:
    description:
      - The kubeconfig the replica holds now (for example the C(kubeconfig) key of its C(tectonic-system/directory-sync)
        Secret), as a dict or as YAML text. Only its current user's token is used.
      - Without it (and without O(replica_connection)), a V(token_request) credential cannot be recognised as still
        valid and a new token is minted on every run. A missing, unreadable or token-less value simply means
        "no current credential".
    type: raw
  replica_connection:
    description:
      - Connection to the replica, to read the credential it holds now from its C(tectonic-system/directory-sync)
        Secret when O(current_kubeconfig) is not given. The token never passes through Ansible variables this way.
      - Takes the same keys as the connection options (O(kubeconfig), O(context), O(host), ...), without
        environment fallbacks.
      - With O(state=present), a replica that cannot be read fails the module before anything is written.
        With O(state=absent), it is a warning (a replica gone for good is still de-registered).
      - With O(state=absent), when the replica cannot be read or holds no credential (it was de-registered
        already), O(verify_revoked) has no old token to test; RV(revocation_check) says so and RV(revoked) is
        not returned.
    type: dict
  rotate:
    description:
      - Replace the credential even if it is still valid. The anchor Secret (V(token_request)) or the token Secret
        (V(service_account_token)) is deleted and created again, which revokes every earlier token of the replica.
    type: bool
    default: false
  directory_server:
    description:
      - The directory API address written into the returned kubeconfig, the one replicas reach it at.
      - An C(https://) URL with a host; a plain C(http://) address is refused before any write.
      - Default, the address the module connects to (which must then be C(https://) too).
    type: str
  directory_name:
    description:
      - Name of the cluster, user and context of the returned kubeconfig.
    type: str
    default: directory
  verify_revoked:
    description:
      - With O(state=absent) or O(rotate=true), prove that the old token (from O(current_kubeconfig), which is then
        required) is refused. The module polls the directory with a real request made with that token until it
        answers 401, allowing for the API server's token cache (about 10 seconds), for at most O(revoke_timeout)
        seconds, and fails if it is still accepted.
      - Not done in check mode.
    type: bool
    default: false
  revoke_timeout:
    description:
      - Seconds O(verify_revoked) waits for the old token to be refused.
    type: int
    default: 30
  wait_timeout:
    description:
      - Seconds to wait for the token controller to fill a new V(service_account_token) Secret. Not waited in check mode.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - coreos.multicluster.attributes
  - coreos.multicluster.connection
  - coreos.multicluster.connection.replica_connection
attributes:
  check_mode:
    support: full
    details: Writes use server-side dry run. No token is minted and nothing is waited for; when a new token would be
      minted the result says C(changed=true) and the C(kubeconfig) return value is null.
  diff_mode:
    support: full
    details: Tokens show only as C(sha256:) hashes.
requirements:
  - kubernetes >= 24.2.0
notes:
  - Needs the registry's objects on the directory (role C(coreos.multicluster.registry)), namespace
    C(tectonic-multi-cluster) and ClusterRole C(tectonic-view-clusters).
  - The returned C(kubeconfig) holds the replica's token. Pass it straight on, for example to
    M(coreos.multicluster.mc_sync_secret), and use C(no_log) on tasks that print or register it where it could be shown.
  - The kubeconfig trusts the CA the module trusts for the directory (from the connection options); with no CA
    there, it has no C(certificate-authority-data) and the replica uses its system trust store.
  - On Kubernetes before 1.24, the token controller also gives every ServiceAccount a token Secret of its own;
    V(state=absent) deletes those too.
seealso:
  - module: coreos.multicluster.mc_sync_secret
"""

EXAMPLES = r"""
- name: Issue or renew the replica's credential on the directory (the current one is read from the replica)
  coreos.multicluster.mc_replica_credentials:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    directory_server: https://west-coast-production-api.west.example.com:443
    replica_connection:
      kubeconfig: /etc/fleet/east-coast-production.kubeconfig
  register: _credential
  no_log: true

- name: Give it to the replica
  coreos.multicluster.mc_sync_secret:
    kubeconfig: /etc/fleet/east-coast-production.kubeconfig
    kubeconfig_content: "{{ _credential.kubeconfig }}"
  when: _credential.kubeconfig is not none

- name: A long-lived service-account token instead of an expiring one
  coreos.multicluster.mc_replica_credentials:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: central-production
    credential_type: service_account_token
  register: _credential
  no_log: true

- name: Rotate now, and prove the old token is refused
  coreos.multicluster.mc_replica_credentials:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    rotate: true
    verify_revoked: true
    replica_connection:
      kubeconfig: /etc/fleet/east-coast-production.kubeconfig
  register: _credential
  no_log: true

- name: De-register - revoke the replica's credential and prove it is refused
  coreos.multicluster.mc_replica_credentials:
    kubeconfig: /etc/fleet/west-coast-production.kubeconfig
    name: east-coast-production
    state: absent
    verify_revoked: true
    current_kubeconfig: "{{ lookup('ansible.builtin.file', '/secure/east-coast-production-directory.kubeconfig') }}"
"""

RETURN = r"""
kubeconfig:
  description:
    - A kubeconfig for the replica - the directory's address and CA, and the replica's token. B(Sensitive) -
      it is the credential.
    - When nothing was minted, it holds the current token (rebuilt with the present address and CA, so equal to
      O(current_kubeconfig) when those did not change).
    - Null with O(state=absent), and in check mode when a new token would be minted.
  returned: always
  type: dict
  sample:
    apiVersion: v1
    kind: Config
    clusters: [{name: directory, cluster: {server: "https://west-coast-production-api.west.example.com:443",
                                           certificate-authority-data: LS0tLS1CRUdJTi...}}]
    users: [{name: directory, user: {token: eyJhbGciOiJSUzI1NiIsImtpZCI6Ii...}}]
    contexts: [{name: directory, context: {cluster: directory, user: directory}}]
    current-context: directory
    preferences: {}
credential:
  description: What was decided about the credential (never the token itself).
  returned: when O(state=present)
  type: dict
  contains:
    type:
      description: The credential type.
      type: str
    minted:
      description: Whether a new token was (or in check mode would be) issued.
      type: bool
    reason:
      description: Why a new token was minted, or null when the current one was kept.
      type: str
    expires_at:
      description: Expiry of the returned token (UTC, ISO 8601), null for a long-lived token or when none is returned.
      type: str
    token_sha256:
      description: C(sha256:) hash (16 hex digits) of the returned token, to compare credentials without showing them.
      type: str
  sample:
    type: token_request
    minted: true
    reason: the current token expires at 2026-07-01T10:00:00Z, within 604800 seconds (renew_before)
    expires_at: "2026-07-31T10:00:00Z"
    token_sha256: "sha256:5e884898da280471"
service_account:
  description: Namespace and name of the replica's ServiceAccount on the directory.
  returned: always
  type: str
  sample: tectonic-multi-cluster/east-coast-production
cluster_role_binding:
  description: Name of the replica's ClusterRoleBinding.
  returned: always
  type: str
  sample: east-coast-production-view-clusters
credential_secret:
  description: Namespace and name of the Secret the credential depends on (the anchor, or the token Secret).
  returned: when O(state=present)
  type: str
  sample: tectonic-multi-cluster/east-coast-production-credential-anchor
revoked:
  description: True when O(verify_revoked) proved that the old token is refused.
  returned: when O(verify_revoked=true), not in check mode, and the old token is known
  type: bool
  sample: true
revocation_check:
  description:
    - "What O(verify_revoked) found with O(state=absent): V(old token refused), V(not tested in check mode), or
      V(not tested: <why>) when the old token could not be had from the replica."
  returned: when O(verify_revoked=true) and O(state=absent)
  type: str
  sample: old token refused
diff:
  description: Objects before and after, as names, uids and C(sha256:) token hashes.
  returned: always
  type: dict
"""

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    STATE_SPEC, connection_suboption_spec, module_spec)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.module import HIDE_TEXT, MulticlusterModule
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_credential import (
    credential_options, ensure_absent, ensure_present)
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.replica_secret import read_replica_credential


def argument_spec():
    spec = module_spec(
        name=dict(type="str", required=True, aliases=["replica"]),
        state=STATE_SPEC,
        current_kubeconfig=dict(type="raw", no_log=True),
        replica_connection=dict(type="dict", options=connection_suboption_spec()),
        verify_revoked=dict(type="bool", default=False),
        revoke_timeout=dict(type="int", default=30),
        wait_timeout=dict(type="int", default=30),
    )
    spec.update(credential_options())
    return spec


def main():
    module = MulticlusterModule(argument_spec=argument_spec(), supports_check_mode=True,
                                required_if=[("verify_revoked", True, ["current_kubeconfig", "replica_connection"], True)],
                                credential_options={"current_kubeconfig": HIDE_TEXT})
    params = dict(module.params, **module.credentials)

    def run():
        unknown = None
        if params["current_kubeconfig"] in (None, "") and params["replica_connection"]:
            current, warning = read_replica_credential(lambda: module.client(params["replica_connection"]),
                                                       params["state"])
            if current:  # its text is hidden; its token shows only in the kubeconfig returned on purpose
                module.no_log_values.add(current)
            else:
                unknown = "the replica could not be read" if warning else "the replica holds no credential"
            if warning:
                module.warn(warning)
            params["current_kubeconfig"] = current
        directory = module.client()
        if params["state"] == "absent":
            return ensure_absent(directory, params, token_unknown=unknown)
        return ensure_present(directory, params)
    module.run(run)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole onboarding of one replica in one process (mc_replica_onboarding):
its Cluster object in the directory, its view-only credential on the
directory, the credential in its directory-sync Secret, and proof that the
credential lists the Clusters - through one ClusterClient per cluster.

Each step is the one the small modules run (registry/cluster.py, credentials/replica_credential.py,
replica_secret.py); this module only orders them, so that everything that can be
refused is refused before the first write, and the credential never leaves
the process (no kubeconfig passes through Ansible variables).

The credential the replica holds now is read as data (kubeconfig.read_credential),
only for its token, and never used to connect. A Secret holding anything else
than the one accepted form (an exec plugin, a token file, ...) is no credential:
onboarding issues a fresh one and stores it over the refused one, and says why
(credential.reason).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import cluster
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_credential
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_secret
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import in_step
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import display
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import Settings, settled
from ansible_collections.coreos.multicluster.plugins.module_utils import names

STEP_REGISTER = "register in directory"
STEP_CREDENTIAL = "credential on directory"
STEP_SECRET = "sync Secret %s" % display(names.SYSTEM_NAMESPACE, names.CREDENTIAL_SECRET)
STEP_VERIFY = "credential lists Clusters on the directory"
STEP_REPLICA = "read the replica"


def _cluster_params(params):
    return {"name": params["name"], "labels": params.get("labels"), "purge_labels": params.get("purge_labels"),
            "console_url": params.get("console_url"), "endpoints": params.get("endpoints")}


def _credential_params(params):
    keys = ("name", "credential_type", "token_ttl", "renew_before", "rotate", "directory_server", "directory_name")
    return dict((key, params.get(key)) for key in keys)


def validate(params):
    """Refuse bad input of every step before anything is read or written: the Settings of each step, checked
    once here and taken as they are by the steps."""
    return Settings(cluster=cluster.validate(_cluster_params(params)),
                    credential=replica_credential.validate(_credential_params(params)),
                    verify_credential=params.get("verify_credential", True) is not False,
                    verify_identity=params.get("verify_identity", True) is not False)


def _status(result):
    return "changed" if result.get("changed") else "ok"


def onboard(directory, replica, params, lister=replica_secret.verify_credential, hide=None):
    """Onboard replica params['name']: *directory* and *replica* are the
    ClusterClients of the two clusters (in the module's check mode); hide(kubeconfig)
    keeps the credentials of a kubeconfig out of every output (the module's no_log values).

    Returns the module result: what each step found and did, a per-step
    summary, and the diff; never the credential itself."""
    settings = settled(params, validate)
    # Read from the replica first: a replica that cannot be reached fails here, before any write.
    current = in_step(STEP_REPLICA, replica_secret.read_sync_secret, replica)
    if current and hide:
        hide(current)
    registered = in_step(STEP_REGISTER, cluster.ensure_present, directory, settings["cluster"],
                         replica if settings["verify_identity"] else None)
    credential = in_step(STEP_CREDENTIAL, replica_credential.ensure_present, directory,
                         Settings(settings["credential"], current_kubeconfig=current),
                         current_what=replica_secret.sync_secret_where(replica))
    kubeconfig = credential.pop("kubeconfig")
    if kubeconfig is not None and hide:
        hide(kubeconfig)
    summary = [{"step": STEP_REGISTER, "status": _status(registered)},
               {"step": STEP_CREDENTIAL, "status": _status(credential)}]
    secret, visible = None, None
    if kubeconfig is None:  # check mode, and a new token would be minted: nothing to store or prove yet
        summary.append({"step": STEP_SECRET, "status": "skipped"})
    else:
        verify = settings["verify_credential"]
        secret = in_step(STEP_SECRET, replica_secret.ensure_present, replica,
                         {"kubeconfig_content": kubeconfig, "verify_credential": verify}, verifier=lister)
        summary.append({"step": STEP_SECRET, "status": _status(secret)})
        if verify:  # proved before the Secret was written; when nothing was written, proved now
            visible = secret["clusters_visible"]
            if visible is None:
                visible = in_step(STEP_VERIFY, lister, kubeconfig, secret["directory_server"], directory.timeout)
            summary.append({"step": "credential lists %d Clusters on the directory" % visible, "status": "ok"})
    results = (registered, credential) + ((secret,) if secret else ())
    result = {
        "changed": any(r["changed"] for r in results),
        "cluster": registered["cluster"],
        "credential": credential["credential"],
        "service_account": credential["service_account"],
        "cluster_role_binding": credential["cluster_role_binding"],
        "credential_secret": credential["credential_secret"],
        "secret": (secret or {}).get("secret"),
        "deployment": (secret or {}).get("deployment"),
        "credential_hash": (secret or {}).get("credential_hash"),
        "clusters_visible": visible,
        "summary": summary,
        "diff": {"before": {"cluster": registered["diff"]["before"], "credential": credential["diff"]["before"],
                            "secret": (secret or {}).get("diff", {}).get("before")},
                 "after": {"cluster": registered["diff"]["after"], "credential": credential["diff"]["after"],
                           "secret": (secret or {}).get("diff", {}).get("after")}},
    }
    return result

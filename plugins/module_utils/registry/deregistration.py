# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole de-registration of one replica in one process
(mc_replica_deregistration): its Cluster object deleted from the directory,
its credential revoked there (and the old token proven refused), its
directory-sync Secret removed from the replica and, when asked, what the
directory put on the replica - through one ClusterClient per cluster.

Each step is the one the small modules run (registry/cluster.py,
credentials/replica_credential.py and replica_secret.py with state=absent,
and sync/removal.py, which the module hands in as *remove_synced*: sync is a
layer above this one). This module only orders them, as the deregistration
role did with four tasks: bad input is refused before any request, and the
replica is read before the first write.

A replica that is gone for good is still de-registered: its old token is then
unknown (the revocation says "not tested" and why), and its Secret is
reported "not cleaned". Removing what the directory put there needs the
replica, so with remove_synced one that cannot be read fails before anything
is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.registry import cluster
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_credential
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import replica_secret
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError, in_step
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import display
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import current_token
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import Settings
from ansible_collections.coreos.multicluster.plugins.module_utils import names

STEP_REPLICA = "read the replica"
STEP_CLUSTER = "delete Cluster from directory"
STEP_CREDENTIAL = "revoke credential"
STEP_SECRET = "remove sync Secret"
STEP_SYNCED = "remove synced objects"
NOT_CLEANED = "not cleaned"
SECRET = "Secret %s" % display(names.SYSTEM_NAMESPACE, names.CREDENTIAL_SECRET)


def _credential_params(params):
    return {"name": params.get("name"), "state": "absent",
            "verify_revoked": params.get("verify_revoked", True) is not False,
            "revoke_timeout": params.get("revoke_timeout")}


def validate(params, where):
    """Refuse bad input of every step before anything is read or written (*where* names the directory in the
    message): the revocation's Settings, checked once here and taken as they are by its step."""
    try:
        return replica_credential.validate(_credential_params(params))
    except MulticlusterError as exc:
        raise MulticlusterError("de-register a replica from cluster '%s': %s" % (where, exc), cluster=where) from None


def _read_replica(connect, required):
    """What the replica holds, read before any write: (its ClusterClient or
    None, the kubeconfig in its sync Secret or None, why its old token is
    unknown or None, why it could not be read or None). A replica that cannot
    be reached is an error only when *required*."""
    try:
        client = connect()
        text = replica_secret.read_sync_secret(client)
    except MulticlusterError as exc:
        if required:
            raise MulticlusterError("read the replica (remove_synced needs it): %s" % exc, cluster=exc.cluster,
                                    details=dict(exc.details, step=STEP_REPLICA)) from None
        return None, None, "the replica could not be read", str(exc)
    if text is None:
        return client, None, "the replica holds no credential", None
    token, problem = current_token(text, replica_secret.sync_secret_where(client))
    return client, text, None if token else problem, None


def _credential_removed(before):
    """The directory's objects of the credential that were there, as "Kind namespace/name"."""
    found = []
    for key, kind in (("cluster_role_binding", "ClusterRoleBinding"), ("service_account", "ServiceAccount"),
                      ("credential_anchor", "Secret"), ("token_secret", "Secret")):
        if before.get(key):
            found.append("%s %s" % (kind, display(before[key].get("namespace"), before[key]["name"])))
    for name in before.get("token_secrets") or []:
        ref = "Secret %s" % display(names.CREDENTIALS_NAMESPACE, name)
        if ref not in found:
            found.append(ref)
    return found


def _status(result):
    return "changed" if result.get("changed") else "ok"


def deregister(directory, connect_replica, params, remove_synced=None, hide=None, warn=None, **revocation):
    """De-register replica params['name']: *directory* is the directory's
    ClusterClient, connect_replica() makes the replica's (it may fail: a
    replica gone for good), both in the module's check mode. remove_synced(client)
    removes what the directory put on the replica (sync/removal.py), run with
    params['remove_synced']. hide(kubeconfig) keeps the credential the replica
    holds out of every output; warn(text) reports what could not be done.
    *revocation*: sleep, clock and probe of the wait for the old token's refusal.

    Returns the module result: what each step removed, a per-step summary and
    the diff; never a token."""
    credential = validate(params, directory.label)
    synced_asked = bool(params.get("remove_synced"))
    if synced_asked and remove_synced is None:
        raise MulticlusterError("remove_synced needs the removal of synced objects")  # a caller's mistake
    replica, current, unknown, unreachable = _read_replica(connect_replica, synced_asked)
    if current and hide:
        hide(current)
    if unreachable and warn:
        warn("could not read the replica (%s): its old token cannot be tested, and %s is left on it"
             % (unreachable, SECRET))
    registered = in_step(STEP_CLUSTER, cluster.ensure_absent, directory, params["name"])
    revoked = in_step(STEP_CREDENTIAL, replica_credential.ensure_absent, directory,
                      Settings(credential, current_kubeconfig=current), token_unknown=unknown, **revocation)
    revoked.pop("kubeconfig", None)
    check = revoked.get("revocation_check")
    summary = [{"step": STEP_CLUSTER, "status": _status(registered)},
               {"step": STEP_CREDENTIAL + (" (%s)" % check if check else ""), "status": _status(revoked)}]
    secret = None
    if replica is None:
        summary.append({"step": STEP_SECRET, "status": NOT_CLEANED, "msg": "the replica could not be read: %s"
                        % unreachable})
    else:
        try:
            secret = replica_secret.ensure_absent(replica, {"state": "absent"})
            summary.append({"step": STEP_SECRET, "status": _status(secret)})
        except MulticlusterError as exc:  # the directory is clean: what is left on the replica is reported
            summary.append({"step": STEP_SECRET, "status": NOT_CLEANED, "msg": str(exc)})
            if warn:
                warn("%s is left on the replica: %s" % (SECRET, exc))
    synced = None
    if synced_asked:
        synced = in_step(STEP_SYNCED, remove_synced, replica)
        record = {"step": "%s (%d deleted, %d released)" % (STEP_SYNCED, len(synced["deleted"]),
                                                            len(synced["released"])), "status": _status(synced)}
        if synced["failed"]:
            record["msg"] = "%d refused: %s" % (len(synced["failed"]), "; ".join(
                "%s (%s)" % (f["object"], f["reason"]) for f in synced["failed"]))
        summary.append(record)
    results = [r for r in (registered, revoked, secret, synced) if r]
    removed_secret = secret is not None and secret["diff"]["before"]["secret"] is not None
    result = {
        "changed": any(r["changed"] for r in results),
        "removed": {"cluster": params["name"] if registered["before"] else None,
                    "credential": _credential_removed(revoked["diff"]["before"]),
                    "secret": SECRET if removed_secret else None,
                    "synced": synced["deleted"] if synced else None},
        "released": synced["released"] if synced else None,
        "service_account": revoked["service_account"],
        "cluster_role_binding": revoked["cluster_role_binding"],
        "summary": summary,
        "diff": {side: {"cluster": registered["diff"][side], "credential": revoked["diff"][side],
                        "secret": (secret or {}).get("diff", {}).get(side),
                        "synced": (synced or {}).get("diff", {}).get(side)} for side in ("before", "after")},
    }
    for key in ("revoked", "revocation_check"):
        if key in revoked:
            result[key] = revoked[key]
    return result

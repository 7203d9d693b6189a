# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replica's copy of its directory credential: Secret tectonic-system/directory-sync.

The Secret holds one key, ``kubeconfig``, in a canonical YAML form, so that
the same kubeconfig given as a dict or as text is the same content. What is
stored must be the one form kubeconfig.read_credential accepts (the agent and
every reader on the controller take nothing else); what is read back from a
replica is data, read by that reader and never by a kubeconfig loader. Content
is compared by hash; a write first proves the kubeconfig can list Clusters on
the directory, and then the ``directory-sync`` Deployment's pod template
annotation ``multicluster.coreos.com/credential-hash`` is set to the content
hash so that its pods restart with the new credential.

Validation, canonical form, views and plans are pure; ``ensure_*`` apply them
through a ClusterClient.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER, display
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    Credential, CredentialRefused, cluster_secret_where, credential_document, read_credential, secret_text)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import hash_secret_data

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    Settings, settled, validate_name, validate_subdomain)
from ansible_collections.coreos.multicluster.plugins.module_utils import names


def canonical(config):
    """The text stored in the Secret: YAML with sorted keys."""
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=True)


def content_hash(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate(params):
    """Refuse bad input before anything is read or written; returns the settings."""
    state = params.get("state") or "present"
    settings = Settings({
        "state": state,
        "name": validate_subdomain(params.get("name") or names.CREDENTIAL_SECRET, "name"),
        "namespace": validate_name(params.get("namespace") or names.SYSTEM_NAMESPACE, "namespace"),
        "deployment": params.get("deployment") if params.get("deployment") is not None else names.AGENT_DEPLOYMENT,
        "verify_credential": params.get("verify_credential", True) is not False,
    })
    if settings["deployment"]:
        validate_subdomain(settings["deployment"], "deployment")
    if state == "absent":
        return settings
    content = params.get("kubeconfig_content")
    if content is None or content == "":
        raise MulticlusterError("kubeconfig_content is required with state=present")
    config = credential_document(content, "kubeconfig_content")
    credential = read_credential(config, "kubeconfig_content")
    text = canonical(config)
    settings.update(config=config, text=text, hash=content_hash(text), server=credential.server)
    return settings


# --- the Secret and the Deployment ------------------------------------------------------------

def normalise_text(text):
    """Canonical form of a stored kubeconfig, so formatting alone is no change
    (parsed as data: yaml.safe_load, bounded; nothing in it is used)."""
    if text is None:
        return None
    try:
        return canonical(credential_document(text, "the stored kubeconfig"))
    except MulticlusterError:
        return text


def secret_view(secret):
    """Name and data of the Secret, the data as key -> 'sha256:...' only."""
    if secret is None:
        return None
    meta = secret.get("metadata") or {}
    data = {}
    for key, encoded in sorted((secret.get("data") or {}).items()):
        if key == names.CREDENTIAL_SECRET_KEY:
            data[key] = normalise_text(secret_text(secret))
        else:
            try:
                data[key] = base64.b64decode(encoded or "").decode("utf-8", "replace")
            except (ValueError, binascii.Error):
                data[key] = encoded or ""
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "type": secret.get("type"),
            "data": hash_secret_data(data)}


def desired_secret(settings):
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": settings["name"], "namespace": settings["namespace"],
                     "labels": {names.PART_OF_LABEL: names.PART_OF},
                     "annotations": {names.CREDENTIAL_HASH_ANNOTATION: settings["hash"]}},
        "data": {names.CREDENTIAL_SECRET_KEY: base64.b64encode(settings["text"].encode("utf-8")).decode("ascii")},
    }


def holds(existing, settings):
    """True when the Secret already holds this kubeconfig. The one field the module owns is compared as
    canonical kubeconfig text, so that the same kubeconfig written with other formatting (by kubectl, by hand)
    is no change; compare.plan would compare its base64 form."""
    return existing is not None and normalise_text(secret_text(existing)) == settings["text"]


def deployment_view(deployment):
    if deployment is None:
        return None
    meta = deployment.get("metadata") or {}
    template = ((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"),
            "credential_hash": (template.get("annotations") or {}).get(names.CREDENTIAL_HASH_ANNOTATION)}


def rolled_deployment(deployment, digest):
    """What the Deployment must hold so that its pods run on the credential of hash *digest* (the pod
    template's annotation: a new one restarts them), or None when it does already, or does not exist."""
    if deployment is None or deployment_view(deployment)["credential_hash"] == digest:
        return None
    meta = deployment["metadata"]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "spec": {"template": {"metadata": {"annotations": {names.CREDENTIAL_HASH_ANNOTATION: digest}}}}}


# --- proving the credential works ---------------------------------------------------------------

def verify_credential(config, server, request_timeout):
    """List Clusters on the directory with the credential (a kubeconfig in the
    accepted form, or a Credential): how many it sees; raise if it cannot. The
    client is built from the credential's values, never by the kubeconfig loader."""
    prefix = "the credential cannot list Clusters on directory '%s'" % server
    try:
        credential = read_credential(config, "the credential") if not isinstance(config, Credential) else config
        directory = ClusterClient({"kubeconfig": credential, "request_timeout": request_timeout})
    except MulticlusterError as exc:
        raise MulticlusterError("%s: %s" % (prefix, exc), cluster=server) from None
    try:
        return len(directory.list(CLUSTER)[0])  # list() follows continue tokens: one page, not one per Cluster
    except MulticlusterError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise MulticlusterError("%s: %s" % (prefix, reason), cluster=server, details=exc.details) from None
    finally:
        directory.close()


# --- applying it to a replica (a ClusterClient) ---------------------------------------------------

def _read_secret(client, settings):
    return client.get("Secret", settings["name"], settings["namespace"])


def _read_deployment(client, settings):
    if not settings["deployment"]:
        return None
    return client.get("Deployment", settings["deployment"], settings["namespace"])


def _summary(settings, secret, deployment, updated):
    return {
        "secret": {"name": settings["name"], "namespace": settings["namespace"], "present": secret is not None,
                   "data": (secret_view(secret) or {}).get("data")},
        "deployment": {"name": settings["deployment"] or None, "namespace": settings["namespace"],
                       "present": deployment is not None, "updated": updated},
    }


def read_sync_secret(replica, namespace=names.SYSTEM_NAMESPACE, name=names.CREDENTIAL_SECRET):
    """The directory kubeconfig (text, as data: nothing in it is used) a
    replica holds in its sync Secret, or None when it holds none (no Secret,
    or no such key). read_sync_credential reads the credential in it."""
    return secret_text(replica.get("Secret", name, namespace))


def sync_secret_where(replica, namespace=names.SYSTEM_NAMESPACE, name=names.CREDENTIAL_SECRET):
    """How messages name the kubeconfig in the sync Secret of *replica* (a ClusterClient)."""
    return cluster_secret_where(namespace, name, replica.label)


def read_sync_credential(replica, namespace=names.SYSTEM_NAMESPACE, name=names.CREDENTIAL_SECRET):
    """The Credential in a replica's sync Secret, or None when it holds none.
    Raises CredentialRefused, naming the Secret, the replica and the refused
    key, when the kubeconfig there is not the one accepted form: nothing in
    it is run or read, and no request is made with it."""
    text = read_sync_secret(replica, namespace, name)
    if text is None:
        return None
    return read_credential(text, sync_secret_where(replica, namespace, name), replica.label)


def credential_refusal(replica, namespace=names.SYSTEM_NAMESPACE, name=names.CREDENTIAL_SECRET):
    """Why the kubeconfig in a replica's sync Secret is refused (the message
    of read_sync_credential), or None when there is none or it is accepted.
    An error reading the Secret is raised."""
    try:
        read_sync_credential(replica, namespace, name)
    except CredentialRefused as exc:
        return str(exc)
    return None


def read_replica_credential(make_client, state, namespace=names.SYSTEM_NAMESPACE, name=names.CREDENTIAL_SECRET):
    """(kubeconfig text or None, warning or None): the credential a replica
    holds now, read from its sync Secret through make_client() (a
    ClusterClient factory, so that a bad connection fails here too). A
    kubeconfig that read_credential refuses is no credential (None), with a
    warning naming the refused key.

    With state=present a replica that cannot be read is an error (nothing has
    been written yet); with state=absent it is a warning, because a replica
    that is gone for good must still be de-registered."""
    label = None
    try:
        replica = make_client()
        label = replica.label
        text = read_sync_secret(replica, namespace, name)
        if text is not None:
            read_credential(text, sync_secret_where(replica, namespace, name), label)
        return text, None
    except CredentialRefused as exc:
        return None, "%s; it is not used, and its token is taken as unknown" % exc
    except MulticlusterError as exc:
        what = "read the current credential of the replica from its Secret %s" % display(namespace, name)
        if state == "present":
            raise MulticlusterError("%s: %s" % (what, exc), cluster=exc.cluster or label) from None
        return None, "could not %s (%s); the old token cannot be tested, the directory-side objects are " \
                     "deleted all the same" % (what, exc)


def ensure_present(client, params, verifier=verify_credential):
    """Store the kubeconfig in the replica's Secret (after proving it works)
    and roll the directory-sync Deployment onto it."""
    settings = settled(params, validate)
    verified = []  # the credential is proved once, before the first write, however often a 409 re-runs it

    def secret_wanted(existing):
        if holds(existing, settings):
            return apply.Leave()
        if settings["verify_credential"] and not verified:
            verified.append(verifier(settings["config"], settings["server"], client.timeout))
        wanted = desired_secret(settings)
        if existing is not None:  # its type is the creator's (and immutable): only what it holds is the module's
            del wanted["type"]
        return wanted

    stored = apply.converge(client, "Secret", settings["namespace"], settings["name"], secret_wanted,
                            action="store")
    deployment = _read_deployment(client, settings)
    rolled = None
    if deployment is not None:
        rolled = apply.converge(client, "Deployment", settings["namespace"], settings["deployment"],
                                lambda live: rolled_deployment(live, settings["hash"]) or apply.Leave(),
                                live=deployment, action="roll")
        deployment = rolled.after
    before = {"secret": secret_view(stored.before), "deployment": deployment_view(rolled.before if rolled else None)}
    after = {"secret": secret_view(stored.after), "deployment": deployment_view(deployment)}
    result = {"changed": before != after, "diff": {"before": before, "after": after},
              "credential_hash": settings["hash"], "directory_server": settings["server"],
              "clusters_visible": verified[0] if verified else None}
    result.update(_summary(settings, stored.after, deployment, bool(rolled and rolled.changed)))
    return result


def ensure_absent(client, params):
    """Remove the Secret (removing what is gone is no change); the Deployment is left alone."""
    settings = settled(params, validate)
    existing = _read_secret(client, settings)
    deployment = _read_deployment(client, settings)
    before = {"secret": secret_view(existing)}
    if existing is not None:
        client.delete("Secret", settings["name"], settings["namespace"])
    after = {"secret": None}
    result = {"changed": before != after, "diff": {"before": before, "after": after},
              "credential_hash": None, "directory_server": None}
    result.update(_summary(settings, None, deployment, False))
    return result

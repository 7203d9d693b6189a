# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replica's copy of its directory credential: Secret tectonic-system/directory-sync.

The Secret holds one key, ``kubeconfig``, in a canonical YAML form, so that
the same kubeconfig given as a dict or as text is the same content. Content
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
import re

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

try:
    from kubernetes import client as k8s_client
except ImportError:  # pragma: no cover - MulticlusterModule.requires_kubernetes() reports it
    k8s_client = None

from ansible_collections.coreos.multicluster.plugins.module_utils.core import hash_secret_data
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials import (
    PART_OF, PART_OF_LABEL, parse_kubeconfig, resolve_kubeconfig)
from ansible_collections.coreos.multicluster.plugins.module_utils.client import build_api_client
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import (
    MulticlusterError, api_reason, http_status, is_missing_type, retry)

NAMESPACE = "tectonic-system"
SECRET = "directory-sync"
DEPLOYMENT = "directory-sync"
KEY = "kubeconfig"
HASH_ANNOTATION = "multicluster.coreos.com/credential-hash"

GROUP, VERSION, PLURAL = "multicluster.coreos.com", "v1", "clusters"

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_name(value, what, pattern=_DNS1123_SUBDOMAIN, limit=253):
    if not isinstance(value, str) or len(value) > limit or not pattern.match(value):
        raise MulticlusterError("%s %r is not a valid Kubernetes name (DNS-1123: lower-case letters, digits, '-'%s, "
                                "at most %d characters)" % (what, value, "" if pattern is _DNS1123_LABEL else
                                                            " and '.'", limit))
    return value


def canonical(config):
    """The text stored in the Secret: YAML with sorted keys."""
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=True)


def content_hash(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate(params):
    """Refuse bad input before anything is read or written; returns the settings."""
    state = params.get("state") or "present"
    settings = {
        "state": state,
        "name": _check_name(params.get("name") or SECRET, "name"),
        "namespace": _check_name(params.get("namespace") or NAMESPACE, "namespace", _DNS1123_LABEL, 63),
        "deployment": params.get("deployment") if params.get("deployment") is not None else DEPLOYMENT,
        "verify_credential": params.get("verify_credential", True) is not False,
    }
    if settings["deployment"]:
        _check_name(settings["deployment"], "deployment")
    if state == "absent":
        return settings
    content = params.get("kubeconfig_content")
    if content is None or content == "":
        raise MulticlusterError("kubeconfig_content is required with state=present")
    config = parse_kubeconfig(content, "kubeconfig_content")
    text = canonical(config)
    settings.update(config=config, text=text, hash=content_hash(text),
                    server=resolve_kubeconfig(config, "kubeconfig_content")["server"])
    return settings


# --- the Secret and the Deployment ------------------------------------------------------------

def stored_text(secret):
    """The kubeconfig text a Secret holds (None if it has none)."""
    encoded = ((secret or {}).get("data") or {}).get(KEY)
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        return encoded  # not ours: compared as it is, so it differs


def normalise_text(text):
    """Canonical form of a stored kubeconfig, so formatting alone is no change."""
    if text is None:
        return None
    try:
        return canonical(parse_kubeconfig(text))
    except MulticlusterError:
        return text


def _hash_data(data):
    return hash_secret_data(data)


def secret_view(secret):
    """Name and data of the Secret, the data as key -> 'sha256:...' only."""
    if secret is None:
        return None
    meta = secret.get("metadata") or {}
    data = {}
    for key, encoded in sorted((secret.get("data") or {}).items()):
        if key == KEY:
            data[key] = normalise_text(stored_text(secret))
        else:
            try:
                data[key] = base64.b64decode(encoded or "").decode("utf-8", "replace")
            except (ValueError, binascii.Error):
                data[key] = encoded or ""
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "type": secret.get("type"),
            "data": _hash_data(data)}


def desired_secret(settings):
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": settings["name"], "namespace": settings["namespace"],
                     "labels": {PART_OF_LABEL: PART_OF},
                     "annotations": {HASH_ANNOTATION: settings["hash"]}},
        "data": {KEY: base64.b64encode(settings["text"].encode("utf-8")).decode("ascii")},
    }


def plan_secret(existing, settings):
    """None when the Secret already holds this kubeconfig; else ('create', body) or ('patch', patch)."""
    body = desired_secret(settings)
    if existing is None:
        return "create", body
    if normalise_text(stored_text(existing)) == settings["text"]:
        return None
    return "patch", {"metadata": {"annotations": body["metadata"]["annotations"]}, "data": body["data"]}


def deployment_view(deployment):
    if deployment is None:
        return None
    meta = deployment.get("metadata") or {}
    template = ((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"),
            "credential_hash": (template.get("annotations") or {}).get(HASH_ANNOTATION)}


def plan_deployment(deployment, digest):
    """The patch giving the Deployment's pods the content hash (so they restart), or None."""
    if deployment is None or deployment_view(deployment)["credential_hash"] == digest:
        return None
    return {"spec": {"template": {"metadata": {"annotations": {HASH_ANNOTATION: digest}}}}}


# --- proving the credential works ---------------------------------------------------------------

def verify_credential(config, server):
    """List Clusters on the directory with the kubeconfig; raise if it cannot."""
    prefix = "the credential cannot list Clusters on directory '%s'" % server
    try:
        api = build_api_client({"kubeconfig": config})
    except MulticlusterError as exc:
        raise MulticlusterError("%s: %s" % (prefix, exc), cluster=server) from None
    try:
        retry(lambda: k8s_client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, PLURAL, limit=1,
                                                                                  _request_timeout=15),
              attempts=3)
    except Exception as exc:  # pylint: disable=broad-except
        reason = api_reason(exc)
        if is_missing_type(exc):
            reason = "the Cluster API (%s/%s) is not installed there" % (GROUP, VERSION)
        raise MulticlusterError("%s: %s" % (prefix, reason), cluster=server, details={"status": http_status(exc)}) from None
    finally:
        api.close()


# --- applying it to a replica (a ClusterClient) ---------------------------------------------------

def _read_secret(client, settings):
    where = "%s/%s" % (settings["namespace"], settings["name"])
    found = client.read("Secret", where, client.core.read_namespaced_secret, settings["name"], settings["namespace"])
    return None if found is None else client.to_dict(found)


def _read_deployment(client, settings):
    if not settings["deployment"]:
        return None
    where = "%s/%s" % (settings["namespace"], settings["deployment"])
    found = client.read("Deployment", where, client.apps.read_namespaced_deployment, settings["deployment"],
                        settings["namespace"])
    return None if found is None else client.to_dict(found)


def _summary(settings, secret, deployment, updated):
    return {
        "secret": {"name": settings["name"], "namespace": settings["namespace"], "present": secret is not None,
                   "data": (secret_view(secret) or {}).get("data")},
        "deployment": {"name": settings["deployment"] or None, "namespace": settings["namespace"],
                       "present": deployment is not None, "updated": updated},
    }


def read_replica_credential(make_client, state, namespace=NAMESPACE, name=SECRET):
    """(kubeconfig text or None, warning or None): the credential a replica
    holds now, read from its sync Secret through make_client() (a
    ClusterClient factory, so that a bad connection fails here too).

    With state=present a replica that cannot be read is an error (nothing has
    been written yet); with state=absent it is a warning, because a replica
    that is gone for good must still be de-registered."""
    label = None
    try:
        replica = make_client()
        label = replica.label
        found = replica.read("Secret", "%s/%s" % (namespace, name), replica.core.read_namespaced_secret, name, namespace)
        return stored_text(replica.to_dict(found)) if found is not None else None, None
    except MulticlusterError as exc:
        what = "read the current credential of the replica from its Secret %s/%s" % (namespace, name)
        if state == "present":
            raise MulticlusterError("%s: %s" % (what, exc), cluster=exc.cluster or label) from None
        return None, "could not %s (%s); the old token cannot be tested, the directory-side objects are " \
                     "deleted all the same" % (what, exc)


def ensure_present(client, params, verifier=verify_credential):
    """Store the kubeconfig in the replica's Secret (after proving it works)
    and roll the directory-sync Deployment onto it."""
    settings = validate(params)
    where = "%s/%s" % (settings["namespace"], settings["name"])
    verified = []

    def store():
        """Read, compare, write: re-run as a whole on a 409 (a concurrent writer)."""
        existing = _read_secret(client, settings)
        plan = plan_secret(existing, settings)
        if plan is None:
            return existing, existing
        if settings["verify_credential"] and not verified:
            verifier(settings["config"], settings["server"])
            verified.append(True)
        action, body = plan
        if action == "create":
            written = client.call("create", "Secret", where, client.core.create_namespaced_secret,
                                  settings["namespace"], body, dry_run=client.dry_run)
        else:
            version = (existing.get("metadata") or {}).get("resourceVersion")
            if version:  # optimistic concurrency: a concurrent writer makes this a 409, and store() runs again
                body["metadata"]["resourceVersion"] = version
            written = client.call("update", "Secret", where, client.core.patch_namespaced_secret, settings["name"],
                                  settings["namespace"], body, dry_run=client.dry_run)
        return existing, client.to_dict(written)

    existing, secret = client.write("store", "Secret", where, store)
    deployment = _read_deployment(client, settings)
    before = {"secret": secret_view(existing), "deployment": deployment_view(deployment)}

    patch = plan_deployment(deployment, settings["hash"])
    if patch is not None:
        deployment = client.to_dict(client.call(
            "update", "Deployment", "%s/%s" % (settings["namespace"], settings["deployment"]),
            client.apps.patch_namespaced_deployment, settings["deployment"], settings["namespace"], patch,
            dry_run=client.dry_run))
    after = {"secret": secret_view(secret), "deployment": deployment_view(deployment)}
    result = {"changed": before != after, "diff": {"before": before, "after": after},
              "credential_hash": settings["hash"], "directory_server": settings["server"]}
    result.update(_summary(settings, secret, deployment, patch is not None))
    return result


def ensure_absent(client, params):
    """Remove the Secret (removing what is gone is no change); the Deployment is left alone."""
    settings = validate(params)
    where = "%s/%s" % (settings["namespace"], settings["name"])
    existing = _read_secret(client, settings)
    deployment = _read_deployment(client, settings)
    before = {"secret": secret_view(existing)}
    if existing is not None:
        client.delete("Secret", where, client.core.delete_namespaced_secret, settings["name"], settings["namespace"],
                      dry_run=client.dry_run)
    after = {"secret": None}
    result = {"changed": before != after, "diff": {"before": before, "after": after},
              "credential_hash": None, "directory_server": None}
    result.update(_summary(settings, None, deployment, False))
    return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster objects (multicluster.coreos.com/v1) on the directory.

Planning (validate, build the desired object, compare, build the patch) is
pure; applying it is separate and takes a ClusterClient. The object schema is
the original tooling's contract: spec.KubernetesAPIEndpoints.ServerEndpoints[].ServerAddress.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.coreos.multicluster.plugins.module_utils import resources
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

GROUP = "multicluster.coreos.com"
VERSION = "v1"
PLURAL = "clusters"
KIND = "Cluster"
API_VERSION = GROUP + "/" + VERSION

DIRECTORY_ANNOTATION = GROUP + "/directory"
CONSOLE_ANNOTATION = GROUP + "/console-url"
UID_ANNOTATION = GROUP + "/kube-system-uid"

CONFIG_NAMESPACE = "tectonic-system"
CONFIG_MAP = "tectonic-config"
CONFIG_KEY = "clusterName"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_URL = re.compile(r"^https?://[^\s/?#]+")


def validate_name(name, what="cluster name"):
    if not isinstance(name, str) or len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise MulticlusterError(
            "%s %r is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
            "with a letter or digit, at most 63 characters)" % (what, name))
    return name


def validate_url(url, what):
    if not isinstance(url, str) or not _URL.match(url):
        raise MulticlusterError("%s %r is not a URL with scheme http:// or https:// and a host" % (what, url))
    return url


def validate_labels(labels):
    for key, value in (labels or {}).items():
        prefix, _sep, name = str(key).rpartition("/")
        if not name or len(name) > 63 or not _LABEL_NAME.match(name) or (prefix and len(prefix) > 253):
            raise MulticlusterError("label key %r is not a valid Kubernetes label name" % (key,))
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            raise MulticlusterError("label %s has invalid value %r (at most 63 characters: letters, digits, "
                                    "'-', '_', '.', starting and ending alphanumeric)" % (key, value))
    return labels


def validate(params):
    """Refuse bad input before anything is written; returns the params."""
    validate_name(params["name"])
    if params.get("state", "present") == "absent":
        return params
    validate_labels(params.get("labels"))
    if params.get("console_url") not in (None, ""):
        validate_url(params["console_url"], "console_url")
    endpoints = params.get("endpoints")
    if endpoints is not None:
        if not endpoints:
            raise MulticlusterError("endpoints is empty: a Cluster needs at least one API server address")
        for address in endpoints:
            validate_url(address, "endpoint")
    return params


def normalise(obj):
    """The object without server-owned metadata, for comparison and diffs."""
    return resources.normalise(obj)


def plan(existing, params):
    """Compute the object the module wants.

    existing: the live object (dict) or None. params: name, labels,
    purge_labels, console_url, directory, endpoints, kube_system_uid.
    Returns (after, patch): after is the normalised desired object; patch is
    None when nothing changes, else the JSON merge patch (a full body for a
    create when existing is None)."""
    name = params["name"]
    before = normalise(existing)
    if before is None:
        if not params.get("endpoints"):
            raise MulticlusterError("Cluster %s does not exist yet: endpoints are needed to register it" % name)
        after = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": {}}
    else:
        after = copy.deepcopy(before)
    meta = after["metadata"]

    labels = dict(meta.get("labels") or {})
    wanted = dict(params.get("labels") or {})
    if params.get("purge_labels"):
        labels = {}
    for key, value in wanted.items():
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
    annotations = dict(meta.get("annotations") or {})
    if params.get("console_url") is not None:
        if params["console_url"] == "":
            annotations.pop(CONSOLE_ANNOTATION, None)
        else:
            annotations[CONSOLE_ANNOTATION] = params["console_url"]
    if params.get("directory") is True:
        annotations[DIRECTORY_ANNOTATION] = "true"
    elif params.get("directory") is False:
        annotations.pop(DIRECTORY_ANNOTATION, None)
    if params.get("kube_system_uid"):
        annotations[UID_ANNOTATION] = params["kube_system_uid"]
    _set_or_drop(meta, "labels", labels)
    _set_or_drop(meta, "annotations", annotations)

    if params.get("endpoints") is not None:
        spec = after.setdefault("spec", {})
        apis = spec.setdefault("KubernetesAPIEndpoints", {})
        apis["ServerEndpoints"] = _merge_endpoints(apis.get("ServerEndpoints") or [], params["endpoints"])

    if before == after:
        return after, None
    if before is None:
        return after, after
    return after, merge_patch(before, after)


def _set_or_drop(meta, key, value):
    if value:
        meta[key] = value
    else:
        meta.pop(key, None)


def _merge_endpoints(current, addresses):
    """ServerEndpoints for the given addresses, keeping other fields (e.g.
    ClientCIDR) of entries whose address stays."""
    by_address = {e.get("ServerAddress"): e for e in current if isinstance(e, dict)}
    result = []
    for address in addresses:
        entry = dict(by_address.get(address) or {})
        entry["ServerAddress"] = address
        result.append(entry)
    return result


def merge_patch(before, after):
    """RFC 7386 JSON merge patch turning before into after (dicts only)."""
    patch = {}
    for key in set(before) | set(after):
        if key not in after:
            patch[key] = None
        elif key not in before:
            patch[key] = copy.deepcopy(after[key])
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            sub = merge_patch(before[key], after[key])
            if sub:
                patch[key] = sub
        elif before[key] != after[key]:
            patch[key] = copy.deepcopy(after[key])
    return patch


def flat_view(obj):
    """An inventory-friendly summary of one Cluster object."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    endpoints = [e.get("ServerAddress") for e in
                 (((obj.get("spec") or {}).get("KubernetesAPIEndpoints") or {}).get("ServerEndpoints") or [])
                 if isinstance(e, dict) and e.get("ServerAddress")]
    return {
        "name": meta.get("name"),
        "labels": dict(meta.get("labels") or {}),
        "console_url": annotations.get(CONSOLE_ANNOTATION),
        "directory": annotations.get(DIRECTORY_ANNOTATION) == "true",
        "endpoints": endpoints,
        "server": endpoints[0] if endpoints else None,
        "kube_system_uid": annotations.get(UID_ANNOTATION),
    }


def other_directory(clusters, name):
    """The name of another Cluster that already carries the directory annotation, or None."""
    for obj in clusters:
        meta = obj.get("metadata") or {}
        if meta.get("name") != name and (meta.get("annotations") or {}).get(DIRECTORY_ANNOTATION) == "true":
            return meta.get("name")
    return None


def same_uid_elsewhere(clusters, name, uid):
    """The name of another Cluster recorded with the same kube-system UID, or None."""
    for obj in clusters:
        meta = obj.get("metadata") or {}
        if meta.get("name") != name and (meta.get("annotations") or {}).get(UID_ANNOTATION) == uid:
            return meta.get("name")
    return None


# --- applying it to a directory (a ClusterClient) ------------------------------

def read_cluster(client, name):
    return client.read(KIND, name, client.custom.get_cluster_custom_object, GROUP, VERSION, PLURAL, name)


def list_clusters(client, label_selector=None):
    result = client.call("list", KIND + "s", "(selector %r)" % (label_selector or ""),
                         client.custom.list_cluster_custom_object, GROUP, VERSION, PLURAL,
                         label_selector=label_selector or "")
    return sorted(result.get("items") or [], key=lambda obj: obj["metadata"]["name"])


def cluster_identity(target):
    """(clusterName from tectonic-config, kube-system namespace UID) of the
    cluster being registered, read through its own ClusterClient."""
    config_map = target.read("ConfigMap", CONFIG_NAMESPACE + "/" + CONFIG_MAP,
                             target.core.read_namespaced_config_map, CONFIG_MAP, CONFIG_NAMESPACE)
    if config_map is None:
        raise MulticlusterError("cluster '%s' has no ConfigMap %s/%s: the registry is not installed on it"
                                % (target.label, CONFIG_NAMESPACE, CONFIG_MAP))
    installed_as = (config_map.data or {}).get(CONFIG_KEY)
    namespace = target.call("read", "Namespace", "kube-system", target.core.read_namespace, "kube-system")
    return installed_as, namespace.metadata.uid


def _result(client, before, after):
    return {
        "changed": before != after,
        "before": before,
        "after": after,
        "diff": {"before": before or {}, "after": after or {}},
        "cluster": flat_view(after) if after else None,
    }


def ensure_present(client, params, target=None):
    """Create or update Cluster params['name'] on the directory *client*.

    target: the ClusterClient of the cluster being registered, to check its
    identity (tectonic-config clusterName) and record its kube-system UID."""
    validate(params)
    name = params["name"]
    params = dict(params)
    if target is not None:
        installed_as, uid = cluster_identity(target)
        if installed_as != name:
            raise MulticlusterError("cluster '%s' was installed as %r (%s/%s %s), not %r: refusing to register it "
                                    "under another name" % (target.label, installed_as, CONFIG_NAMESPACE,
                                                            CONFIG_MAP, CONFIG_KEY, name))
        params["kube_system_uid"] = uid

    def attempt():
        existing = read_cluster(client, name)
        if params.get("directory") or params.get("kube_system_uid"):
            clusters = list_clusters(client)
            other = other_directory(clusters, name) if params.get("directory") else None
            if other:
                raise MulticlusterError("cannot make Cluster %s the directory on cluster '%s': Cluster %s already "
                                        "has the %s annotation (a fleet has one directory)"
                                        % (name, client.label, other, DIRECTORY_ANNOTATION))
            twin = same_uid_elsewhere(clusters, name, params["kube_system_uid"]) if params.get("kube_system_uid") else None
            if twin:
                raise MulticlusterError("cannot register Cluster %s on cluster '%s': the same cluster (kube-system UID %s) "
                                        "is already registered as Cluster %s" % (name, client.label,
                                                                                 params["kube_system_uid"], twin))
        before = normalise(existing)
        after, patch = plan(existing, params)
        if patch is None:
            return _result(client, before, before)
        if existing is None:
            written = client.custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, patch, dry_run=client.dry_run)
        else:
            # optimistic concurrency: a concurrent writer makes this a 409, and the retry re-reads
            patch.setdefault("metadata", {})["resourceVersion"] = existing["metadata"]["resourceVersion"]
            written = client.custom.patch_cluster_custom_object(GROUP, VERSION, PLURAL, name, patch,
                                                                dry_run=client.dry_run)
        return _result(client, before, normalise(written))

    return client.write("register" if params.get("endpoints") else "update", KIND, name, attempt)


def ensure_absent(client, name):
    validate_name(name)
    existing = read_cluster(client, name)
    before = normalise(existing)
    if existing is None:
        return _result(client, None, None)
    client.delete(KIND, name, client.custom.delete_cluster_custom_object, GROUP, VERSION, PLURAL, name,
                  dry_run=client.dry_run)
    return _result(client, before, None)


def info(client, name=None, label_selector=None):
    if name:
        validate_name(name)
        found = read_cluster(client, name)
        objects = [found] if found else []
    else:
        objects = list_clusters(client, label_selector)
    objects = [normalise(obj) for obj in objects]
    return {"changed": False, "clusters": objects, "fleet": [flat_view(obj) for obj in objects]}

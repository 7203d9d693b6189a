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

import collections
import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER, REGISTRY_GROUP
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.apply import view
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    Settings, https_url_problem, is_https_url, settled, validate_https_url, validate_labels, validate_name)
from ansible_collections.coreos.multicluster.plugins.module_utils.registry import health
from ansible_collections.coreos.multicluster.plugins.module_utils import names

DIRECTORY_ANNOTATION = REGISTRY_GROUP + "/directory"
CONSOLE_ANNOTATION = REGISTRY_GROUP + "/console-url"
UID_ANNOTATION = REGISTRY_GROUP + "/kube-system-uid"


def validate(params):
    """Refuse bad input before anything is written; returns the params as Settings."""
    validate_name(params["name"])
    if params.get("state", "present") == "absent":
        return Settings(params)
    validate_labels(params.get("labels"))
    if params.get("console_url") not in (None, ""):
        validate_https_url(params["console_url"], "console_url of Cluster %s:" % params["name"])
    endpoints = params.get("endpoints")
    if endpoints is not None:
        if not endpoints:
            raise MulticlusterError("endpoints is empty: a Cluster needs at least one API server address")
        for address in endpoints:
            validate_https_url(address, "endpoint of Cluster %s:" % params["name"])
    return Settings(params)


def desired(existing, params):
    """The fields of Cluster params['name'] the module sets, for compare.plan:
    labels and annotations it sets (None for those it removes) and, when
    endpoints are given, the endpoint list. existing: the live object or None.

    params: name, labels, purge_labels, console_url, directory, endpoints,
    kube_system_uid."""
    name = params["name"]
    if existing is None and not params.get("endpoints"):
        raise MulticlusterError("Cluster %s does not exist yet: endpoints are needed to register it" % name)
    meta = (existing or {}).get("metadata") or {}
    labels = {}
    if params.get("purge_labels"):
        labels = dict.fromkeys(meta.get("labels") or {})
    labels.update(params.get("labels") or {})
    annotations = {}
    if params.get("console_url") is not None:
        annotations[CONSOLE_ANNOTATION] = params["console_url"] or None
    if params.get("directory") is not None:
        annotations[DIRECTORY_ANNOTATION] = "true" if params["directory"] else None
    if params.get("kube_system_uid"):
        annotations[UID_ANNOTATION] = params["kube_system_uid"]
    obj = {"apiVersion": CLUSTER.api_version, "kind": CLUSTER.kind, "metadata": {"name": name}}
    if labels:
        obj["metadata"]["labels"] = labels
    if annotations:
        obj["metadata"]["annotations"] = annotations
    if params.get("endpoints") is not None:
        current = (((existing or {}).get("spec") or {}).get("KubernetesAPIEndpoints") or {}).get("ServerEndpoints")
        obj["spec"] = {"KubernetesAPIEndpoints": {"ServerEndpoints": _merge_endpoints(current or [],
                                                                                      params["endpoints"])}}
    elif existing is None:
        obj["spec"] = {}
    return obj


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


def address_problems(view):
    """What is wrong with the addresses a Cluster object (its flat_view) gives:
    one phrase per API endpoint or console URL that is not an https:// URL
    (written before the CRD and the modules refused them, or on a directory
    whose CRD was not updated). Nothing may send a credential to such an
    address. Returns {"endpoints": [problem], "console_url": problem or None}."""
    name = view.get("name")
    console = view.get("console_url")
    return {
        "endpoints": ["Cluster %s: API endpoint %s" % (name, https_url_problem(address))
                      for address in view.get("endpoints") or [] if not is_https_url(address)],
        "console_url": None if console in (None, "") or is_https_url(console) else
        "Cluster %s: console URL %s" % (name, https_url_problem(console)),
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

def list_clusters(client, label_selector=None):
    return client.list(CLUSTER, label_selector=label_selector or None)[0]


def installed_name(client):
    """The name a cluster's registry was installed under (ConfigMap tectonic-config, key clusterName): an
    InstalledName (present: whether the ConfigMap is there; name: the name, or None)."""
    live = client.get("ConfigMap", names.CLUSTER_CONFIG_MAP, names.SYSTEM_NAMESPACE)
    return InstalledName(live is not None, ((live or {}).get("data") or {}).get(names.CLUSTER_NAME_KEY))


InstalledName = collections.namedtuple("InstalledName", "present name")


def cluster_identity(target):
    """(clusterName from tectonic-config, kube-system namespace UID) of the
    cluster being registered, read through its own ClusterClient."""
    installed = installed_name(target)
    installed_as = installed.name
    if not installed.present:
        raise MulticlusterError("cluster '%s' has no ConfigMap %s/%s: the registry is not installed on it"
                                % (target.label, names.SYSTEM_NAMESPACE, names.CLUSTER_CONFIG_MAP))
    namespace = target.get("Namespace", "kube-system")
    if namespace is None:
        raise MulticlusterError("cluster '%s' has no kube-system namespace" % target.label, cluster=target.label)
    return installed_as, namespace["metadata"]["uid"]


def _result(before, after):
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
    params = dict(settled(params, validate))
    name = params["name"]
    if target is not None:
        installed_as, uid = cluster_identity(target)
        if installed_as != name:
            raise MulticlusterError("cluster '%s' was installed as %r (%s/%s %s), not %r: refusing to register it "
                                    "under another name" % (target.label, installed_as, names.SYSTEM_NAMESPACE,
                                                            names.CLUSTER_CONFIG_MAP, names.CLUSTER_NAME_KEY, name))
        params["kube_system_uid"] = uid

    def desired_of(existing):
        """The Cluster this registration wants, after the checks against the rest of the fleet."""
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
        return desired(existing, params)

    done = apply.converge(client, CLUSTER, None, name, desired_of,
                          action="register" if params.get("endpoints") else "update")
    return _result(view(done.before), view(done.after))


def ensure_absent(client, name):
    validate_name(name)
    existing = client.get(CLUSTER, name)
    if existing is None:
        return _result(None, None)
    client.delete(CLUSTER, name)
    return _result(view(existing), None)


def list_heartbeats(client):
    """{name: Lease} of the replicas' heartbeats, in one list (errors are the client's)."""
    return dict(((item.get("metadata") or {}).get("name"), item)
                for item in client.list("Lease", names.HEARTBEAT_NAMESPACE)[0])


def heartbeats(client, name=None):
    """({name: Lease} of the replicas' heartbeats, in one list (or one read, for *name*), None) or (None, why
    they cannot be read)."""
    try:
        if name:
            found = client.get("Lease", name, names.HEARTBEAT_NAMESPACE)
            return ({name: found} if found else {}), None
        return list_heartbeats(client), None
    except MulticlusterError as exc:
        return None, str(exc)


def fleet_health(clusters, leases, now, grace_periods=health.DEFAULT_GRACE_PERIODS, unread_reason=None):
    """{name: health.cluster_health} of Cluster objects, given heartbeats()'s answer."""
    found = {}
    for obj in clusters:
        summary = flat_view(obj)
        lease = health.NOT_READ if leases is None else leases.get(summary["name"])
        found[summary["name"]] = health.cluster_health(obj, lease, now, grace_periods,
                                                       unread_reason=unread_reason, directory=summary["directory"])
    return found


def info(client, name=None, label_selector=None, now=None):
    """The Clusters (one, or those the selector matches), and each one's flat view with its health
    (health.cluster_health: its heartbeat Lease, read in one list, and its conditions)."""
    if name:
        validate_name(name)
        found = client.get(CLUSTER, name)
        objects = [found] if found else []
    else:
        objects = list_clusters(client, label_selector)
    leases, problem = heartbeats(client, name) if objects else ({}, None)
    states = fleet_health(objects, leases, time.time() if now is None else now, unread_reason=problem)
    fleet = [dict(flat_view(obj), **states[obj["metadata"]["name"]]) for obj in objects]
    return {"changed": False, "clusters": [view(obj) for obj in objects], "fleet": fleet}

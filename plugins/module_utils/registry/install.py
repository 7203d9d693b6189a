# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install, upgrade or remove the multi-cluster registry on one cluster: its
manifest (CRDs, namespaces, RBAC, the agent) and the tectonic-config ConfigMap
naming the cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply, wait
from ansible_collections.coreos.multicluster.plugins.module_utils.registry.cluster import installed_name, list_clusters
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import (
    MissingResourceTypeError, MulticlusterError)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER, REGISTRY_GROUP, crd_name, ref
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import validate_name
from ansible_collections.coreos.multicluster.plugins.module_utils import names

CRD_NAME = crd_name(CLUSTER)


def config_map(cluster_name=None):
    """ConfigMap tectonic-system/tectonic-config: the name the cluster was
    installed with (without data: the object to remove)."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": names.CLUSTER_CONFIG_MAP, "namespace": names.SYSTEM_NAMESPACE,
                        "labels": {"app.kubernetes.io/part-of": "tectonic-multi-cluster"}}}
    if cluster_name is not None:
        obj["data"] = {names.CLUSTER_NAME_KEY: cluster_name}
    return obj


def plan_objects(definitions, cluster_name):
    """The objects to ensure, in order: the definitions, then the ConfigMap."""
    validate_name(cluster_name, "cluster_name")
    objects = [apply.check_definition(obj) for obj in definitions or []]
    if not any(obj["kind"] == "CustomResourceDefinition" and obj["metadata"]["name"] == CRD_NAME for obj in objects):
        raise MulticlusterError("definitions lack CustomResourceDefinition %s" % CRD_NAME)
    return objects + [config_map(cluster_name)]


PART_OF = {"app.kubernetes.io/part-of": "tectonic-multi-cluster"}


def is_foreign_api(definition, live):
    """True when *definition* is a CustomResourceDefinition of an API outside the registry's own group (the
    ClusterProfile API) that exists on the cluster without the registry's label: another manager installed that API,
    and it is left alone - neither changed nor removed. The registry's own CRDs are always written."""
    if definition["kind"] != "CustomResourceDefinition" or live is None:
        return False
    if (definition.get("spec") or {}).get("group") == REGISTRY_GROUP:
        return False
    labels = (live.get("metadata") or {}).get("labels") or {}
    return not all(labels.get(key) == value for key, value in PART_OF.items())


def _left_alone(client, obj):
    """The result of an object left alone (is_foreign_api), or None when it is the registry's to write."""
    if obj["kind"] != "CustomResourceDefinition" or (obj.get("spec") or {}).get("group") == REGISTRY_GROUP:
        return None
    live = client.get(obj["kind"], obj["metadata"]["name"])
    if not is_foreign_api(obj, live):
        return None
    return {"changed": False, "before": apply.view(live), "after": apply.view(live), "ref": ref(obj),
            "left_alone": True}


def is_established(crd):
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def wait_established(client, name, timeout, sleep=time.sleep, clock=time.monotonic):
    def established():
        return is_established(client.get("CustomResourceDefinition", name)), True

    def not_established(_last):
        return MulticlusterError("CustomResourceDefinition %s on cluster '%s' is not Established after %ss"
                                 % (name, client.label, timeout))
    return wait.until(established, timeout, 0.5, not_established, sleep, clock)


def ensure_present(client, definitions, cluster_name, force=False, wait_timeout=60, sleep=time.sleep):
    objects = plan_objects(definitions, cluster_name)
    current = installed_name(client).name
    if current and current != cluster_name and not force:
        raise MulticlusterError("cluster '%s' is installed as %r (%s/%s); refusing to rename it to %r "
                                "(force: true renames)" % (client.label, current, names.SYSTEM_NAMESPACE,
                                                           names.CLUSTER_CONFIG_MAP, cluster_name))
    results = []
    dry_namespaces = set()  # created by a dry run only (check mode): what goes in them cannot exist yet
    for obj in objects:
        if obj["metadata"].get("namespace") in dry_namespaces:
            results.append({"changed": True, "before": None, "after": apply.view(obj), "ref": ref(obj)})
            continue
        result = _left_alone(client, obj) or apply.ensure(client, obj)
        results.append(result)
        if result.get("left_alone"):
            continue
        if client.check_mode and obj["kind"] == "Namespace" and result["before"] is None:
            dry_namespaces.add(obj["metadata"]["name"])
        if obj["kind"] == "CustomResourceDefinition" and not client.check_mode:
            wait_established(client, obj["metadata"]["name"], wait_timeout, sleep)
    return _summary(results)


def ensure_absent(client, definitions, force=False):
    objects = [apply.check_definition(obj) for obj in definitions or []]
    try:
        held = list_clusters(client)
    except MissingResourceTypeError:
        held = []  # no Cluster API: nothing it could hold (any other error stops the removal)
    if held and not force:
        held_names = [obj["metadata"]["name"] for obj in held]
        raise MulticlusterError("refusing to remove the registry from cluster '%s': its Cluster API still holds %d "
                                "Cluster(s) (%s); de-register them first or set force: true"
                                % (client.label, len(held_names), ", ".join(held_names[:10])))
    results = [apply.remove(client, config_map())]
    results.extend(_left_alone(client, obj) or apply.remove(client, obj) for obj in reversed(objects))
    return _summary(results)


def _summary(results):
    return {
        "changed": any(r["changed"] for r in results),
        "objects": [{"ref": r["ref"], "changed": r["changed"]} for r in results],
        "left_alone": [r["ref"] for r in results if r.get("left_alone")],
        "diff": {"before": {r["ref"]: r["before"] for r in results if r["changed"]},
                 "after": {r["ref"]: r["after"] for r in results if r["changed"]}},
    }

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install, upgrade or remove the multi-cluster registry on one cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.coreos.multicluster.plugins.module_utils import cluster as mc
from ansible_collections.coreos.multicluster.plugins.module_utils import resources
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import (
    MissingResourceTypeError, MulticlusterError)

CRD_NAME = mc.PLURAL + "." + mc.GROUP


def config_map(cluster_name):
    """ConfigMap tectonic-system/tectonic-config: the name the cluster was installed with."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": mc.CONFIG_MAP, "namespace": mc.CONFIG_NAMESPACE,
                         "labels": {"app.kubernetes.io/part-of": "tectonic-multi-cluster"}},
            "data": {mc.CONFIG_KEY: cluster_name}}


def plan_objects(definitions, cluster_name):
    """The objects to ensure, in order: the definitions, then the ConfigMap."""
    mc.validate_name(cluster_name, "cluster_name")
    objects = [resources.check_definition(obj) for obj in definitions or []]
    if not any(obj["kind"] == "CustomResourceDefinition" and obj["metadata"]["name"] == CRD_NAME for obj in objects):
        raise MulticlusterError("definitions lack CustomResourceDefinition %s" % CRD_NAME)
    return objects + [config_map(cluster_name)]


def installed_name(client):
    live = client.read("ConfigMap", mc.CONFIG_NAMESPACE + "/" + mc.CONFIG_MAP,
                       client.core.read_namespaced_config_map, mc.CONFIG_MAP, mc.CONFIG_NAMESPACE)
    return (live.data or {}).get(mc.CONFIG_KEY) if live is not None else None


def wait_established(client, timeout, sleep=time.sleep, clock=time.monotonic):
    deadline = clock() + timeout
    while True:
        crd = client.read("CustomResourceDefinition", CRD_NAME,
                          client.apiext.read_custom_resource_definition, CRD_NAME)
        conditions = (crd.status.conditions or []) if crd is not None and crd.status else []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return True
        if clock() >= deadline:
            raise MulticlusterError("CustomResourceDefinition %s on cluster '%s' is not Established after %ss"
                                    % (CRD_NAME, client.label, timeout))
        sleep(0.5)


def ensure_present(client, definitions, cluster_name, force=False, wait_timeout=60):
    objects = plan_objects(definitions, cluster_name)
    current = installed_name(client)
    if current and current != cluster_name and not force:
        raise MulticlusterError("cluster '%s' is installed as %r (%s/%s); refusing to rename it to %r "
                                "(force: true renames)" % (client.label, current, mc.CONFIG_NAMESPACE,
                                                           mc.CONFIG_MAP, cluster_name))
    results = []
    dry_namespaces = set()  # created by a dry run only (check mode): what goes in them cannot exist yet
    for obj in objects:
        if obj["metadata"].get("namespace") in dry_namespaces:
            results.append({"changed": True, "before": None, "after": resources.normalise(obj), "ref": resources.ref(obj)})
            continue
        result = resources.ensure(client, obj)
        results.append(result)
        if client.check_mode and obj["kind"] == "Namespace" and result["before"] is None:
            dry_namespaces.add(obj["metadata"]["name"])
        if obj["kind"] == "CustomResourceDefinition" and not client.check_mode:
            wait_established(client, wait_timeout)
    return _summary(results)


def ensure_absent(client, definitions, force=False):
    objects = [resources.check_definition(obj) for obj in definitions or []]
    try:
        held = mc.list_clusters(client)
    except MissingResourceTypeError:
        held = []  # no Cluster API: nothing it could hold (any other error stops the removal)
    if held and not force:
        names = [obj["metadata"]["name"] for obj in held]
        raise MulticlusterError("refusing to remove the registry from cluster '%s': its Cluster API still holds %d "
                                "Cluster(s) (%s); de-register them first or set force: true"
                                % (client.label, len(names), ", ".join(names[:10])))
    results = [resources.remove(client, config_map("x"))]
    results.extend(resources.remove(client, obj) for obj in reversed(objects))
    return _summary(results)


def _summary(results):
    return {
        "changed": any(r["changed"] for r in results),
        "objects": [{"ref": r["ref"], "changed": r["changed"]} for r in results],
        "diff": {"before": {r["ref"]: r["before"] for r in results if r["changed"]},
                 "after": {r["ref"]: r["after"] for r in results if r["changed"]}},
    }

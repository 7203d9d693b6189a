# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a namespace holds, of every type the server serves (API discovery): the one question the collection asks
of types it does not know, before it deletes a namespace it made (is anything of someone else's in it?)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import kinds as _kinds

# groups whose objects are derived from others (never what a namespace "holds")
SKIPPED_GROUPS = ("events.k8s.io", "metrics.k8s.io")


def namespace_contents(client, namespace, skip_groups=SKIPPED_GROUPS):
    """Every object in *namespace*, of every namespaced resource type the
    server lists (discovery), as dicts with apiVersion and kind; events and
    the groups in *skip_groups* (derived data) are left out. A type that
    cannot be listed raises MulticlusterError: the caller cannot tell
    that the namespace is empty."""
    found = []
    for api_version, resource, kind in _namespaced_resources(client, namespace, skip_groups):
        for obj in _list_resource(client, namespace, api_version, resource):
            obj = dict(obj, apiVersion=api_version, kind=kind)
            found.append(obj)
    return found


def _namespaced_resources(client, namespace, skip_groups):
    """[(apiVersion, plural, Kind)] of the listable namespaced resource types."""
    what = "%s (discovery)" % namespace
    versions = [("v1", client.get_path("inspect", what, "/api/v1"))]
    groups = client.get_path("inspect", what, "/apis")
    for group in groups.get("groups") or []:
        if group.get("name") in skip_groups:
            continue
        preferred = (group.get("preferredVersion") or {}).get("version")
        if preferred:
            api_version = "%s/%s" % (group["name"], preferred)
            versions.append((api_version, client.get_path("inspect", what, _kinds.api_prefix(api_version))))
    found = []
    for api_version, listing in versions:
        for res in listing.get("resources") or []:
            if (res.get("namespaced") and "/" not in res.get("name", "") and "list" in (res.get("verbs") or [])
                    and not (api_version == "v1" and res["name"] == "events")):
                found.append((api_version, res["name"], res.get("kind")))
    return found


def _list_resource(client, namespace, api_version, plural):
    what = "%s in namespace %s" % (plural, namespace)
    path = "%s/namespaces/%s/%s" % (_kinds.api_prefix(api_version), quote(namespace, safe=""), plural)
    items, token = [], None
    while True:
        query = {"limit": client.page_size}
        if token:
            query["_continue"] = token
        page = client.get_path("list", what, path, query)
        items.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part of a replica's credential that lets it report its health (registry/health.py): the heartbeat Lease
and the grants to renew it and to write its own Cluster's status (objects.desired_lease, desired_health_grants),
issued with the credential and revoked with it (replica_credential)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import key_of
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.objects import (
    as_new, desired_health_grants, desired_lease, grant_view, object_names, object_view)
from ansible_collections.coreos.multicluster.plugins.module_utils import names


def ensure(client, replica, before, after):
    """The Lease (created when missing, never written after: its agent renews it) and the grants (converged:
    rules and subjects owned whole). Fills before/after's heartbeat_lease and health_grants."""
    own = object_names(replica)
    lease = client.get("Lease", own["lease"], names.HEARTBEAT_NAMESPACE)
    before["heartbeat_lease"] = object_view(lease)
    if lease is None:
        lease, created = client.create_or_get(desired_lease(replica))
        lease = as_new(lease) if created and client.check_mode else lease
    after["heartbeat_lease"] = object_view(lease)
    before["health_grants"], after["health_grants"] = [], []
    for pair in desired_health_grants(replica):
        for body in pair:
            namespace, name = key_of(body)
            done = apply.converge(client, body["kind"], namespace or None, name, lambda live, body=body: body,
                                  exact=("rules", "subjects"), action="update")
            before["health_grants"].append(grant_view(done.before))
            after["health_grants"].append(grant_view(done.after))


def read(client, replica):
    """{"lease": live or None, "grants": [(definition, live or None)]}, for views() and remove()."""
    own = object_names(replica)
    grants = []
    for pair in desired_health_grants(replica):
        for body in pair:
            namespace, name = key_of(body)
            grants.append((body, client.get(body["kind"], name, namespace or None)))
    return {"lease": client.get("Lease", own["lease"], names.HEARTBEAT_NAMESPACE), "grants": grants}


def views(found):
    """The diff's view of what read() found."""
    return {"heartbeat_lease": object_view(found["lease"]),
            "health_grants": [grant_view(live) for _body, live in found["grants"] if live is not None] or None}


def remove(client, found, bindings):
    """Delete what read() found: the bindings (bindings=True: first, so that the access ends), or the roles and
    the Lease (bindings=False: after the account)."""
    for body, live in found["grants"]:
        if live is not None and body["kind"].endswith("Binding") == bindings:
            namespace, name = key_of(body)
            client.delete(body["kind"], name, namespace or None)
    if not bindings and found["lease"] is not None:
        client.delete("Lease", found["lease"]["metadata"]["name"], names.HEARTBEAT_NAMESPACE)

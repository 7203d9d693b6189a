# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part of a replica's credential that lets it report its health (registry/health.py): the heartbeat Lease
and the grants to renew it and to write its own Cluster's status (objects.desired_lease, desired_health_grants),
issued with the credential and revoked with it (replica_credential)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import display, key_of
from ansible_collections.coreos.multicluster.plugins.module_utils.credentials.objects import (
    as_new, desired_health_grants, desired_lease, grant_view, object_names, object_view, replica_labels)
from ansible_collections.coreos.multicluster.plugins.module_utils import names


def _is_ours(live, replica):
    """True when *live* carries the labels the collection puts on what it makes for *replica*."""
    labels = (live.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in replica_labels(replica).items())


def _refuse_foreign(live, body, replica, cluster):
    """Raise when an object of a name the collection needs for *replica* exists and is not its own: it is never
    taken over (its rules or subjects replaced) nor, later, deleted."""
    if live is not None and not _is_ours(live, replica):
        namespace, name = key_of(body)
        raise MulticlusterError(
            "%s %s exists on cluster '%s' but was not made for replica %s (no %s=%s label): it is left alone. "
            "Rename or remove it, then onboard the replica again." % (
                body["kind"], display(namespace, name), cluster, replica, names.REPLICA_LABEL, replica),
            cluster=cluster)


def check(client, found, replica):
    """Refuse (MulticlusterError) an object of one of the names the health part needs (read()'s *found*) that was
    not made for *replica*: called before the credential writes anything."""
    _refuse_foreign(found["lease"], desired_lease(replica), replica, client.label)
    for body, live in found["grants"]:
        _refuse_foreign(live, body, replica, client.label)


def ensure(client, replica, found, before, after):
    """The Lease (created when missing, never written after: its agent renews it) and the grants (converged:
    rules and subjects owned whole), from read()'s *found* (check()ed). Fills before/after's heartbeat_lease
    and health_grants."""
    own = object_names(replica)
    lease = found["lease"]
    before["heartbeat_lease"] = object_view(lease)
    if lease is None:
        lease, created = client.create_or_get(desired_lease(replica))
        lease = as_new(lease) if created and client.check_mode else lease
    after["heartbeat_lease"] = object_view(lease)
    before["health_grants"], after["health_grants"] = [], []
    for body, live in found["grants"]:
        namespace, name = key_of(body)
        done = apply.converge(client, body["kind"], namespace or None, name, lambda current, body=body: body,
                              exact=("rules", "subjects"), live=live, action="update")
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


def views(found, replica):
    """The diff's view of what read() found and was made for *replica* (what remove() deletes)."""
    lease = found["lease"] if found["lease"] is not None and _is_ours(found["lease"], replica) else None
    return {"heartbeat_lease": object_view(lease),
            "health_grants": [grant_view(live) for _body, live in found["grants"]
                              if live is not None and _is_ours(live, replica)] or None}


def remove(client, found, bindings, replica):
    """Delete what read() found and was made for *replica*: the bindings (bindings=True: first, so that the
    access ends), or the roles and the Lease (bindings=False: after the account). An object of those names that
    was not made for it is left alone."""
    for body, live in found["grants"]:
        if live is not None and _is_ours(live, replica) and body["kind"].endswith("Binding") == bindings:
            namespace, name = key_of(body)
            client.delete(body["kind"], name, namespace or None)
    if not bindings and found["lease"] is not None and _is_ours(found["lease"], replica):
        client.delete("Lease", found["lease"]["metadata"]["name"], names.HEARTBEAT_NAMESPACE)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The outcome of a sync, recorded on the replica in ConfigMap ``tectonic-system/directory-sync-status``
(directory, lastAttempt, lastSuccess, result, message, counts, policies): written only when its content other
than the timestamps changes or when lastAttempt is at least ``status_interval`` seconds old, so that a
converged run writes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import apply
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.sync.plan import (
    DEFAULT_STATUS_INTERVAL, RESULT_FAILED, desired_status_map, plan_status, status_content, status_content_changed)
from ansible_collections.coreos.multicluster.plugins.module_utils import names


def _status_map(replica):
    return replica.get("ConfigMap", names.STATUS_CONFIG_MAP, names.SYSTEM_NAMESPACE)


def recorded_data(replica):
    found = _status_map(replica)
    return None if found is None else dict(found.get("data") or {})


def write_status(replica, content, now, interval=DEFAULT_STATUS_INTERVAL, dry=False):
    """Record an outcome. Returns {data, written, changed}: *changed* when the
    content other than the timestamps changed; nothing is written with dry=True
    (check mode) or when plan_status says there is no need."""
    found = _status_map(replica)
    existing = None if found is None else dict(found.get("data") or {})
    data = plan_status(existing, content, now, interval)
    changed = status_content_changed(existing, content)
    if data is None:
        return {"data": existing, "written": False, "changed": False}
    if not dry:
        apply.converge(replica, "ConfigMap", names.SYSTEM_NAMESPACE, names.STATUS_CONFIG_MAP,
                       lambda live: desired_status_map(data), live=found, action="record status in")
    return {"data": data, "written": not dry, "changed": changed}


def record_failure(replica, directory_server, reason, now, interval, dry):
    """Record a failed sync; best effort (the replica may be what fails). True when recorded."""
    if dry:
        return False
    try:
        existing = recorded_data(replica) or {}
        counts = json.loads(existing.get("counts") or "{}")
        policy_status = json.loads(existing["policies"]) if existing.get("policies") else None
        write_status(replica, status_content(directory_server, RESULT_FAILED, reason, counts, policy_status), now,
                     interval)
    except (MulticlusterError, ValueError):
        return False
    return True


class Holdings(object):
    """What the replica holds after a sync, per source: the keys of the objects the syncer holds and of the
    conflicts (for the counts and the message of later syncs of single changes, sync/changes.py); the replica's
    own Cluster when the policies were applied (its labels select them), and the policy status."""

    def __init__(self, held, conflicts, own=None, policy_status=None):
        self.held = held            # {source name: set of keys}
        self.conflicts = conflicts  # {source name: set of keys}
        self.own = own
        self.policy_status = policy_status

    @classmethod
    def of(cls, sources, done, own=None, policy_status=None):
        return cls(dict((s.name, set(done[s.name]["created"] + done[s.name]["updated"] + done[s.name]["unchanged"]))
                        for s in sources),
                   dict((s.name, set(done[s.name]["conflicts"])) for s in sources), own, policy_status)

    def done(self):
        """The holdings in the shape apply_plans returns (for counts_of and success_message)."""
        return dict((name, {"created": [], "updated": [], "unchanged": sorted(keys), "conflicts":
                            sorted(self.conflicts.get(name) or ())}) for name, keys in self.held.items())

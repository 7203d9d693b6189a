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

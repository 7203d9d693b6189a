# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proving that a revoked token is refused: real requests to the directory
made with the old token alone, until it answers 401 (the API server caches
token authentications for about 10 seconds)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import wait
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kinds import CLUSTER

PROBE_TIMEOUT = 10


def token_probe(client, token):
    """A function returning (HTTP status, error text) of one real request to
    the directory made with *token* alone: list one Cluster, which the
    replica's view-only credential may."""
    probe = client.with_token(token, min(client.timeout, PROBE_TIMEOUT))

    def attempt():
        try:
            next(probe.pages(CLUSTER, page_size=1))  # one request, whatever the directory holds
            return 200, None
        except MulticlusterError as exc:
            status = exc.details.get("status")
            return status, None if status else str(exc)

    return attempt


def wait_refused(client, replica, token, timeout, sleep=time.sleep, clock=time.monotonic, probe=None):
    """Poll with the old token of *replica* until the directory answers 401,
    for at most *timeout* seconds. True, or raises."""
    probe = probe or token_probe(client, token)

    def refused():
        status, error = probe()
        return status == 401, (status, error)

    def still_accepted(last):
        status, error = last
        return MulticlusterError(
            "verify revocation of the credential of replica %s on cluster '%s': the old token is still %s after "
            "%ds" % (replica, client.label, "accepted (HTTP %s)" % status if status else
                     "not refused (%s)" % error, timeout))
    wait.until(refused, timeout, 1, still_accepted, sleep, clock)
    return True

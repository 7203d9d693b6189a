# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters behind policy_status.yml: the fleet's Cluster Policies, cluster by policy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.plugin_utils import policy_status


def policy_status_matrix(rows):
    return policy_status.matrix(rows)


def policy_status_table(rows):
    return policy_status.table(rows)


class FilterModule(object):
    def filters(self):
        return {"policy_status_matrix": policy_status_matrix, "policy_status_table": policy_status_table}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mc_cluster_profiles in the worker process when that is the same as a module process, else as a module (plugin_utils/in_process.py)."""

from __future__ import annotations

from ansible_collections.coreos.multicluster.plugins.plugin_utils.in_process import InProcessAction

ActionModule = InProcessAction.of("mc_cluster_profiles")

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m ansible_collections.coreos.multicluster.agent: the directory-sync agent (agent/cli.py), or with a first
argument export-profiles, the ClusterProfile exporter on the directory (agent/exporter.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

if sys.argv[1:2] == ["export-profiles"]:
    from ansible_collections.coreos.multicluster.agent.exporter import main as export_main

    raise SystemExit(export_main(sys.argv[2:]))

from ansible_collections.coreos.multicluster.agent.cli import main  # noqa: E402  pylint: disable=wrong-import-position

raise SystemExit(main())

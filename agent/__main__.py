# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m ansible_collections.coreos.multicluster.agent: the directory-sync agent (agent/cli.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.agent.cli import main

raise SystemExit(main())

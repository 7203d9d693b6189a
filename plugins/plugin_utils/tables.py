# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the collection's reports lay out a table (fleet_status.yml, policy_status.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line


def aligned(rows):
    """Lines of *rows* (lists of cells, the first one the header) in columns two spaces apart; every cell made
    one line first (plain_text.one_line), so that no cell can break the table or write to the terminal."""
    cells = [[one_line(cell) or "" for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]

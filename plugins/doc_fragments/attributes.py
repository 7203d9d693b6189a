# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The attributes every module of the collection shares, after
    # ansible.builtin.action_common_attributes (their descriptions); each
    # module states its own check_mode and diff_mode support.

    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/coreos.multicluster.mc) in C(module_defaults) to set options for all modules of the collection.
    support: full
    membership:
      - coreos.multicluster.mc
  platform:
    support: N/A
    platforms: posix
"""

    # The check and diff mode of a module that only reads (coreos.multicluster.attributes.read_only).
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
"""

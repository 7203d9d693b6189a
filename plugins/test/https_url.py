# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test plugin https_url: the roles' preflights check an address with the modules' own rule (module_utils/k8s/validation.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import is_https_url


class TestModule(object):
    def tests(self):
        return {"https_url": is_https_url}

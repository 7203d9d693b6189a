# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The problems found in a ClusterPolicy, each named by its field path as Kubernetes writes it (``.name``,
``[i]``, ``[key]``), and the small checks every level of spec.py uses. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import (
    label_key_problem, label_value_problem, type_name)
from ansible_collections.coreos.multicluster.plugins.module_utils.policies import quantities

_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def key_path(path, key):
    """path.key for a plain word, path[key] for anything else."""
    key = str(key)
    return "%s.%s" % (path, key) if _WORD.match(key) else "%s[%s]" % (path, key)


def item_path(path, index):
    return "%s[%d]" % (path, index)


class Problems(list):
    """The problems found so far, and the checks that add to it."""

    def add(self, path, problem):
        self.append("%s: %s" % (path, problem))

    def mapping(self, value, path, known=None, item=False):
        """True for a dict (unknown keys reported when *known* is given). Null
        counts as absent, except for a list *item*."""
        if value is None and not item:
            return False
        if not isinstance(value, dict):
            self.add(path, "must be a mapping, not %s" % type_name(value))
            return False
        if known is not None:
            for key in value:
                if key not in known:
                    self.add(key_path(path, key), "unknown key %r (known keys: %s)" % (key, ", ".join(known)))
        return True

    def sequence(self, value, path):
        """True for a list; null counts as absent."""
        if value is None:
            return False
        if not isinstance(value, list):
            self.add(path, "must be a list, not %s" % type_name(value))
            return False
        return True

    def text(self, value, path):
        """True for a non-empty string."""
        found = text_problem(value)
        self.problem(path, found)
        return not found

    def required(self, mapping, key, path):
        if mapping.get(key) is None:
            self.add(key_path(path, key), "is required")
            return False
        return True

    def once(self, first, value, index, path, list_path, message):
        """Report *value* when an earlier item of the list at *list_path* has it
        (first: value -> index, filled here); message names that item as {first}."""
        if value in first:
            self.add(path, message.replace("{first}", item_path(list_path, first[value])))
        else:
            first[value] = index

    def problem(self, path, found):
        if found:
            self.add(path, found)

    def labels(self, value, path):
        """A map of label keys to label values."""
        if self.mapping(value, path):
            for key, label in value.items():
                self.problem(key_path(path, key), label_key_problem(key))
                self.problem(key_path(path, key), label_value_problem(label))

    def quantities(self, value, path):
        """A map of resource names to quantities, none negative; returns
        {name: Fraction} of the good ones."""
        parsed = {}
        if not self.mapping(value, path):
            return parsed
        for name, quantity in value.items():
            here = key_path(path, name)
            self.problem(here, label_key_problem(name, "resource name"))
            try:
                amount = quantities.parse_quantity(quantity)
            except quantities.QuantityError as exc:
                self.add(here, str(exc))
                continue
            if amount < 0:
                self.add(here, "%r is negative: a quantity here must be at least 0" % (quantity,))
                continue
            parsed[name] = amount
        return parsed


def text_problem(value):
    if not isinstance(value, str) or not value:
        return "must be a non-empty string, not %s" % (repr(value) if isinstance(value, str) else type_name(value))
    return None

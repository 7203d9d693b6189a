# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes resource quantities in Cluster Policies: which fields hold them (a ResourceQuota's ``hard``, a
LimitRange limit's ``default``, ``defaultRequest``, ``max``, ``min`` and ``maxLimitRequestRatio``), their
grammar read into an exact Fraction (parse_quantity: "500m", "1.5Gi", "2e3"), the text a number is stored
as, and a desired object spelt as the server holds the same amounts. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from decimal import InvalidOperation
from fractions import Fraction

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import type_name

# the fields of a policy's resourceQuota and limitRange.limits[] that hold quantities (maps: resource -> quantity)
QUOTA_FIELD = "hard"
LIMIT_FIELDS = ("default", "defaultRequest", "max", "min", "maxLimitRequestRatio")

# a quantity: sign, number, then a binary suffix, a decimal exponent or a decimal suffix
_QUANTITY = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|n|u|m|k|M|G|T|P|E|)$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_MAX_QUANTITY = 2 ** 63 - 1


class QuantityError(ValueError):
    """Not a Kubernetes quantity (its text says why)."""


def parse_quantity(text):
    """The exact value of a Kubernetes quantity, as a Fraction.

    Grammar (k8s.io/apimachinery resource.Quantity): an optional sign, digits
    with an optional fraction ("1", "1.5", "1.", ".5"), then one suffix: binary
    Ki Mi Gi Ti Pi Ei, a decimal exponent e<n>/E<n>, or decimal n u m "" k M G
    T P E. An int is read as its digits. At most 2^63-1 in magnitude; a value
    other than 0 below 1n (which Kubernetes would round up) is refused."""
    if isinstance(text, float):
        raise QuantityError("%r is a floating-point number: write the quantity as a string (%r)" % (text, str(text)))
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise QuantityError("%r is %s, not a Kubernetes quantity" % (text, type_name(text)))
    match = _QUANTITY.match(str(text))
    if not match:
        raise QuantityError("%r is not a Kubernetes quantity (a number with an optional suffix: m, k, M, G, T, P, E, "
                            "Ki, Mi, Gi, Ti, Pi, Ei or an exponent e<n>, for example 500m, 1.5Gi, 2e3, 20)" % (text,))
    sign, number, suffix = match.groups()
    whole, _dot, fraction = number.partition(".")
    digits = (whole + fraction).lstrip("0")
    if suffix in _BINARY:
        base, exponent = 1024, _BINARY[suffix]
    else:
        base = 10
        exponent = int(suffix[1:]) if suffix[:1] in ("e", "E") and len(suffix) > 1 else _DECIMAL[suffix]
    if not digits:
        return Fraction(0)
    if base == 10:  # bounded before it is computed: 1e999999999 must not be built
        magnitude = len(digits) - len(fraction) + exponent  # 10^(magnitude-1) <= value < 10^magnitude
        if magnitude > 19:
            raise QuantityError("%r is too large for a Kubernetes quantity (at most 2^63-1)" % (text,))
        if magnitude < -8:
            raise QuantityError("%r is below 1n, the smallest Kubernetes quantity" % (text,))
    value = Fraction(int(whole + fraction), 10 ** len(fraction)) * Fraction(base) ** exponent
    if base == 10 and value < Fraction(1, 10 ** 9):
        raise QuantityError("%r is below 1n, the smallest Kubernetes quantity" % (text,))
    if value > _MAX_QUANTITY:
        raise QuantityError("%r is too large for a Kubernetes quantity (at most 2^63-1)" % (text,))
    return -value if sign == "-" else value


def as_text(mapping):
    """Every quantity of *mapping* given as a number (YAML ``pods: 20``) as the string Kubernetes stores."""
    if isinstance(mapping, dict):
        for key, value in mapping.items():
            if isinstance(value, int) and not isinstance(value, bool):
                mapping[key] = str(value)


# where the objects a policy makes hold them
_PATHS = {"ResourceQuota": (("spec", QUOTA_FIELD),),
          "LimitRange": tuple(("spec", "limits", "[]", field) for field in LIMIT_FIELDS)}


def _same_quantity(a, b):
    try:
        return parse_quantity(a) == parse_quantity(b)
    except (ValueError, TypeError, InvalidOperation):
        return False


def _align(want, live, path):
    if not path:
        if isinstance(want, dict) and isinstance(live, dict):
            for key, value in want.items():
                have = live.get(key)
                if isinstance(value, str) and isinstance(have, str) and value != have and _same_quantity(value, have):
                    want[key] = have
        return
    step, rest = path[0], path[1:]
    if step == "[]":
        if isinstance(want, list) and isinstance(live, list):
            for w, l in zip(want, live):
                _align(w, l, rest)
    elif isinstance(want, dict) and isinstance(live, dict):
        _align(want.get(step), live.get(step), rest)


def align_quantities(want, live):
    """*want* with every quantity the server holds in another spelling of the
    same amount ("1000m" stored as "1", "0.5Gi" as "512Mi") spelt as the
    server holds it, so that a canonical spelling is no difference."""
    paths = _PATHS.get(want.get("kind"))
    if not paths or live is None:
        return want
    want = copy.deepcopy(want)
    for path in paths:
        _align(want, live, path)
    return want

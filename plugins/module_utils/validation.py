# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by every module: Kubernetes names (DNS-1123 labels
and subdomains), label keys and values, and URLs. Each failure names the
option and its value (never a credential).

The *_problem functions return what is wrong with a value (a phrase, without
the value's name) or None, for callers that collect every problem
(policy_spec.py); the validate_* functions raise on the first one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_URL = re.compile(r"^https?://[^\s/?#]+")


def is_url(value):
    """True for a URL with scheme http:// or https:// and a host."""
    return isinstance(value, str) and bool(_URL.match(value))


_LABEL_RULE = ("a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or "
               "digit, at most 63 characters)")
_SUBDOMAIN_RULE = "DNS-1123: lower-case letters, digits, '-' and '.', at most 253 characters"
_LABEL_NAME_RULE = ("at most 63 characters: letters, digits, '-', '_', '.', starting and ending alphanumeric, "
                    "after an optional DNS-1123 subdomain prefix and '/'")
_LABEL_VALUE_RULE = "at most 63 characters: letters, digits, '-', '_', '.', starting and ending alphanumeric"


def is_dns1123_label(name):
    return isinstance(name, str) and len(name) <= 63 and bool(_DNS1123_LABEL.match(name))


def is_dns1123_subdomain(name):
    return isinstance(name, str) and len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.match(name))


def label_problem(name):
    """Why *name* is not a DNS-1123 label, or None."""
    return None if is_dns1123_label(name) else "%r is not %s" % (name, _LABEL_RULE)


def subdomain_problem(name):
    """Why *name* is not a DNS-1123 subdomain (a Kubernetes object name), or None."""
    return None if is_dns1123_subdomain(name) else "%r is not a valid Kubernetes name (%s)" % (name, _SUBDOMAIN_RULE)


def label_key_problem(key, what="label name"):
    """Why *key* is not a Kubernetes label key (a qualified name: an optional
    DNS-1123 subdomain prefix and '/', then a name of at most 63 characters),
    or None. Resource names (requests.cpu, count/pods) follow the same rule."""
    if not isinstance(key, str):
        return "%s %r is a %s, not a string" % (what, key, type(key).__name__)
    prefix, sep, name = key.rpartition("/")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name) or (sep and not is_dns1123_subdomain(prefix)):
        return "%r is not a valid Kubernetes %s (%s)" % (key, what, _LABEL_NAME_RULE)
    return None


def label_value_problem(value):
    """Why *value* is not a Kubernetes label value ('' is one), or None."""
    if not isinstance(value, str):
        return "label value %r is a %s, not a string" % (value, type(value).__name__)
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return "label value %r is not valid (%s)" % (value, _LABEL_VALUE_RULE)
    return None


def validate_name(name, what="cluster name"):
    """A DNS-1123 label (cluster, replica and namespace names)."""
    if not is_dns1123_label(name):
        raise MulticlusterError("%s %s" % (what, label_problem(name)))
    return name


def validate_subdomain(name, what):
    """A DNS-1123 subdomain (names of Secrets, Deployments, ...)."""
    if not is_dns1123_subdomain(name):
        raise MulticlusterError("%s %s" % (what, subdomain_problem(name)))
    return name


def validate_url(url, what):
    if not is_url(url):
        raise MulticlusterError("%s %r is not a URL with scheme http:// or https:// and a host" % (what, url))
    return url


def validate_labels(labels):
    """Label keys and values; a value None (a label to remove) passes."""
    for key, value in (labels or {}).items():
        if label_key_problem(str(key)):
            raise MulticlusterError("label key %r is not a valid Kubernetes label name (%s)" % (key, _LABEL_NAME_RULE))
        if value is not None and label_value_problem(value):
            raise MulticlusterError("label %s has invalid value %r (%s)" % (key, value, _LABEL_VALUE_RULE))
    return labels

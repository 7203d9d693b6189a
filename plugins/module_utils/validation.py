# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by every module: Kubernetes names (DNS-1123 labels
and subdomains), label keys and values, and URLs. Each failure names the
option and its value (never a credential)."""

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


def validate_name(name, what="cluster name"):
    """A DNS-1123 label (cluster, replica and namespace names)."""
    if not isinstance(name, str) or len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise MulticlusterError(
            "%s %r is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
            "with a letter or digit, at most 63 characters)" % (what, name))
    return name


def validate_subdomain(name, what):
    """A DNS-1123 subdomain (names of Secrets, Deployments, ...)."""
    if not isinstance(name, str) or len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        raise MulticlusterError("%s %r is not a valid Kubernetes name (DNS-1123: lower-case letters, digits, '-' "
                                "and '.', at most 253 characters)" % (what, name))
    return name


def validate_url(url, what):
    if not is_url(url):
        raise MulticlusterError("%s %r is not a URL with scheme http:// or https:// and a host" % (what, url))
    return url


def validate_labels(labels):
    for key, value in (labels or {}).items():
        prefix, _sep, name = str(key).rpartition("/")
        if not name or len(name) > 63 or not _LABEL_NAME.match(name) or (prefix and len(prefix) > 253):
            raise MulticlusterError("label key %r is not a valid Kubernetes label name" % (key,))
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            raise MulticlusterError("label %s has invalid value %r (at most 63 characters: letters, digits, "
                                    "'-', '_', '.', starting and ending alphanumeric)" % (key, value))
    return labels

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by every module: Kubernetes names (DNS-1123 labels
and subdomains), label keys and values, and URLs. Each failure names the
option and its value (never a credential).

Every address the collection records or sends a credential to (a Cluster's
API endpoints, its console, the directory's address written into a replica's
credential) is an https:// URL: is_https_url, the one rule, the same as the
Cluster CRD's pattern (roles/registry/files/registry.yml) and the roles'
preflights (test plugin coreos.multicluster.https_url). is_url, which also
takes http://, is only for the server of the operator's own kubeconfigs.

The *_problem functions return what is wrong with a value (a phrase, without
the value's name) or None, for callers that collect every problem
(policies/spec.py); the validate_* functions raise on the first one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.plain_text import one_line

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_URL = re.compile(r"^https?://[^\s/?#]+")
# The same text as the Cluster CRD's ServerAddress pattern: https://, a host (no user info, which would make
# "https://trusted.example.com@elsewhere" go elsewhere), then an optional path; no white space or control
# character anywhere. Matched against the whole value (a trailing newline does not pass).
HTTPS_URL_PATTERN = r"^https://[^\s\x00-\x1f\x7f/?#@]+([/?#][^\s\x00-\x1f\x7f]*)?$"
_HTTPS_URL = re.compile(HTTPS_URL_PATTERN)
HTTPS_URL_RULE = "an https:// URL with a host (no user info, no white space or control characters)"


def is_url(value):
    """True for a URL with scheme http:// or https:// and a host. Lenient on
    purpose, for the server of the operator's own kubeconfigs only: anything a
    credential is sent to, or that is recorded for others to use, is checked
    with is_https_url."""
    return isinstance(value, str) and bool(_URL.match(value))


def is_https_url(value):
    """True for an https:// URL with a host (HTTPS_URL_PATTERN)."""
    return isinstance(value, str) and bool(_HTTPS_URL.fullmatch(value))


def https_url_problem(value):
    """Why *value* is not an https:// URL with a host, or None. The value is
    quoted as its repr (control characters escaped), cut to a bounded length:
    it may come from a Cluster object."""
    if is_https_url(value):
        return None
    quoted = one_line(repr(value))
    if isinstance(value, str) and value.lower().startswith("http://"):
        return "%s is plain http://, not %s: a credential sent there would cross the network in clear text" \
               % (quoted, HTTPS_URL_RULE)
    return "%s is not %s" % (quoted, HTTPS_URL_RULE)


_LABEL_RULE = ("a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or "
               "digit, at most 63 characters)")
_SUBDOMAIN_RULE = "DNS-1123: lower-case letters, digits, '-' and '.', at most 253 characters"
_LABEL_NAME_RULE = ("at most 63 characters: letters, digits, '-', '_', '.', starting and ending alphanumeric, "
                    "after an optional DNS-1123 subdomain prefix and '/'")
_LABEL_VALUE_RULE = "at most 63 characters: letters, digits, '-', '_', '.', starting and ending alphanumeric"


def is_dns1123_label(name):
    return isinstance(name, str) and len(name) <= 63 and bool(_DNS1123_LABEL.fullmatch(name))


def is_dns1123_subdomain(name):
    return isinstance(name, str) and len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.fullmatch(name))


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
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name) or (sep and not is_dns1123_subdomain(prefix)):
        return "%r is not a valid Kubernetes %s (%s)" % (key, what, _LABEL_NAME_RULE)
    return None


def label_value_problem(value):
    """Why *value* is not a Kubernetes label value ('' is one), or None."""
    if not isinstance(value, str):
        return "label value %r is a %s, not a string" % (value, type(value).__name__)
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
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


def same_server(one, other):
    """Whether two API server URLs name the same server: equal but for the
    case of scheme and host and a trailing slash."""
    def parts(url):
        scheme, dummy, rest = str(url).partition("://")
        host, slash, path = rest.partition("/")
        return scheme.lower(), host.lower(), (slash + path).rstrip("/")
    return parts(one) == parts(other)


def validate_https_url(url, what):
    """An https:// URL with a host (API endpoints, console URLs, the directory's address)."""
    problem = https_url_problem(url)
    if problem:
        raise MulticlusterError("%s %s" % (what, problem))
    return url


def validate_labels(labels):
    """Label keys and values; a value None (a label to remove) passes."""
    for key, value in (labels or {}).items():
        if label_key_problem(str(key)):
            raise MulticlusterError("label key %r is not a valid Kubernetes label name (%s)" % (key, _LABEL_NAME_RULE))
        if value is not None and label_value_problem(value):
            raise MulticlusterError("label %s has invalid value %r (%s)" % (key, value, _LABEL_VALUE_RULE))
    return labels


def type_name(value):
    """'a mapping', 'a list', ..., 'null': what a value is, for messages."""
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), "a " + type(value).__name__)


class Settings(dict):
    """Inputs validated once, at the module boundary: what a validate() function returns, and what the core
    functions take. A core function given Settings does not check them again (settled)."""


def settled(params, validate):
    """*params* when they are Settings already, else validate(params): the one check of a flow's inputs."""
    return params if isinstance(params, Settings) else validate(params)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig documents: parse (dict, YAML or JSON text, or a file), resolve
the current context, build a one-context kubeconfig, read the one a Secret
holds, and name the strings in it that are credentials. Pure, and no message
ever quotes kubeconfig content."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import os

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.redaction import kubeconfig_user_leaves
from ansible_collections.coreos.multicluster.plugins.module_utils.validation import is_url

SECRET_KEY = "kubeconfig"


def parse_kubeconfig(value, what="kubeconfig"):
    """A kubeconfig given as a dict or as YAML/JSON text -> dict.

    Raises MulticlusterError naming *what*; the message never quotes the
    content (it holds a credential)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise MulticlusterError("%s is not UTF-8 text" % what)
    if isinstance(value, str):
        if not value.strip():
            raise MulticlusterError("%s is empty" % what)
        if yaml is None:  # pragma: no cover
            raise MulticlusterError("PyYAML is needed to read %s" % what)
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = " (line %d)" % (mark.line + 1) if mark is not None else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise MulticlusterError("%s is not valid YAML%s: %s" % (what, where, problem)) from None
    if not isinstance(value, dict):
        raise MulticlusterError("%s is not a kubeconfig: expected a mapping with clusters, users and contexts, "
                                "got %s" % (what, type(value).__name__))
    resolve_kubeconfig(value, what)
    return value


def _named(entries, name, section, what):
    if not isinstance(entries, list):
        raise MulticlusterError("%s is not a kubeconfig: '%s' is not a list" % (what, section))
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(section[:-1])
            if not isinstance(body, dict):
                raise MulticlusterError("%s: %s entry %r has no '%s' mapping" % (what, section, name, section[:-1]))
            return body
    raise MulticlusterError("%s: %s has no entry named %r" % (what, section, name))


def resolve_kubeconfig(config, what="kubeconfig"):
    """The current context of a kubeconfig: {context, server, cluster, user}."""
    contexts = config.get("contexts")
    name = config.get("current-context")
    if not name:
        if isinstance(contexts, list) and len(contexts) == 1 and isinstance(contexts[0], dict):
            name = contexts[0].get("name")
        if not name:
            raise MulticlusterError("%s has no current-context (and not exactly one context)" % what)
    context = _named(contexts, name, "contexts", what)
    cluster = _named(config.get("clusters"), context.get("cluster"), "clusters", what)
    user = _named(config.get("users"), context.get("user"), "users", what)
    server = cluster.get("server")
    if not is_url(server):
        raise MulticlusterError("%s: cluster %r has no server URL" % (what, context.get("cluster")))
    return {"context": name, "server": server, "cluster": cluster, "user": user}


def build_kubeconfig(server, token, ca_pem=None, name="directory"):
    """A kubeconfig with one cluster, user and context, all called *name*."""
    cluster = {"server": server}
    if ca_pem:
        if isinstance(ca_pem, str):
            ca_pem = ca_pem.encode("utf-8")
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def current_token(value):
    """(token, None) from the kubeconfig a replica holds, or (None, why not).

    Lenient on purpose: a replica whose Secret is missing or damaged simply
    gets a new credential."""
    if value is None or value == "" or value == {}:
        return None, "no current kubeconfig was given"
    try:
        resolved = resolve_kubeconfig(parse_kubeconfig(value, "current_kubeconfig"), "current_kubeconfig")
    except MulticlusterError as exc:
        return None, str(exc)
    token = resolved["user"].get("token")
    if not isinstance(token, str) or not token:
        return None, "current_kubeconfig has no user token"
    return token, None


def load_kubeconfig_option(value, what):
    """A kubeconfig option given as a dict, as text or as the path of a file -> dict."""
    if isinstance(value, str) and "\n" not in value and os.path.isfile(value):
        try:
            with open(value) as handle:
                value = handle.read()
        except (IOError, OSError) as exc:
            raise MulticlusterError("cannot read %s %s: %s" % (what, value, exc.strerror)) from None
    return parse_kubeconfig(value, what)


def secret_text(secret, key=SECRET_KEY):
    """The text under *key* of a Secret (a dict as the API gives it): None when
    the key is missing, the raw value when it is not base64 UTF-8 text (so it
    differs from any kubeconfig)."""
    encoded = ((secret or {}).get("data") or {}).get(key)
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        return encoded


def user_leaves(value):
    """The credential strings of a kubeconfig given as a dict or as text
    (everything under users[].user); none when it cannot be read."""
    try:
        config = parse_kubeconfig(value) if not isinstance(value, dict) else value
    except MulticlusterError:
        return set()
    return kubeconfig_user_leaves(config)

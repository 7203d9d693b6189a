# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig documents: parse (dict, YAML or JSON text, or a file), resolve
the current context, build a one-context kubeconfig, read the one a Secret
holds, and name the strings in it that are credentials. Pure, and no message
ever quotes kubeconfig content.

Two kinds of kubeconfig, two readers. The operator's own (module option
kubeconfig, K8S_AUTH_KUBECONFIG, directory_kubeconfig) is trusted input from
the controller: parse_kubeconfig, and the kubernetes client's loader.
A kubeconfig read from a cluster (the directory-sync Secret of a replica, the
file the agent mounts from it) is data: read_credential accepts exactly one
form - one cluster with an https:// server, its CA and TLS server name, one
user with a token, one context - and gives a Credential, the few values a
client is built from (connection.credential_api_client); anything else is
refused before any request, by the key path, never its value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import os
import re
from urllib.parse import urlsplit

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import kubeconfig_user_leaves
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.validation import is_url
from ansible_collections.coreos.multicluster.plugins.module_utils import names


def _yaml_line(exc):
    """' (line N)' of a YAML error, or nothing: where, never what."""
    mark = getattr(exc, "problem_mark", None)
    return " (line %d)" % (mark.line + 1) if mark is not None else ""


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
            problem = getattr(exc, "problem", None) or "syntax error"
            raise MulticlusterError("%s is not valid YAML%s: %s" % (what, _yaml_line(exc), problem)) from None
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


def current_token(value, what="current_kubeconfig"):
    """(token, None) from the kubeconfig a replica holds (text, a dict or a
    Credential), or (None, why not).

    Lenient on purpose: a replica whose Secret is missing, damaged or refused
    by read_credential simply gets a new credential; the refused one is never
    used."""
    if value is None or value == "" or value == {}:
        return None, "no current kubeconfig was given"
    if isinstance(value, Credential):
        return value.token, None
    try:
        return read_credential(value, what).token, None
    except MulticlusterError as exc:
        return None, str(exc)


def load_kubeconfig_option(value, what):
    """A kubeconfig option given as a dict, as text or as the path of a file -> dict."""
    if isinstance(value, str) and "\n" not in value and os.path.isfile(value):
        try:
            with open(value) as handle:
                value = handle.read()
        except (IOError, OSError) as exc:
            raise MulticlusterError("cannot read %s %s: %s" % (what, value, exc.strerror)) from None
    return parse_kubeconfig(value, what)


def secret_text(secret, key=names.CREDENTIAL_SECRET_KEY):
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
    (everything under users[].user), or the token of a Credential; none when
    it cannot be read."""
    if isinstance(value, Credential):
        return {value.token}
    try:
        config = parse_kubeconfig(value) if not isinstance(value, dict) else value
    except MulticlusterError:
        return set()
    return kubeconfig_user_leaves(config)


# --- a credential read from a cluster: data, never configuration -------------------------------------

MAX_CREDENTIAL_BYTES = 64 * 1024
ACCEPTED_FORM = ("a kubeconfig read from a cluster may hold only one cluster (an https:// server, "
                 "certificate-authority-data, tls-server-name), one user with a token, and one context")
# kubeconfig keys a message may name; any other key is 'an unknown key' (a key is text from the cluster)
_KNOWN_KEYS = frozenset((
    "apiVersion", "kind", "clusters", "users", "contexts", "current-context", "preferences", "extensions",
    "name", "cluster", "user", "context", "server", "certificate-authority-data", "tls-server-name",
    "certificate-authority", "insecure-skip-tls-verify", "proxy-url", "disable-compression", "token", "tokenFile",
    "exec", "auth-provider", "client-certificate", "client-certificate-data", "client-key", "client-key-data",
    "username", "password", "as", "as-uid", "as-groups", "as-user-extra", "impersonate", "impersonate-uid",
    "impersonate-groups", "impersonate-user-extra", "namespace", "colors", "LocationOfOrigin"))
_TOP_KEYS = ("apiVersion", "kind", "clusters", "users", "contexts", "current-context", "preferences")
_CLUSTER_KEYS = ("server", "certificate-authority-data", "tls-server-name")
_NAME = re.compile(r"^[\x21-\x7e]{1,253}$")                  # printable ASCII, no space: names, shown in messages
_TOKEN = re.compile(r"^[\x21-\x7e]{1,16384}$")               # one HTTP header value, nothing to split it
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$")  # a DNS name or an IP address


class CredentialRefused(MulticlusterError):
    """A kubeconfig read from a cluster that is not the one accepted form:
    refused before any request is made with it."""


class Credential(object):
    """A directory credential read from a cluster, as data: the server, the CA
    to trust (PEM bytes, or None for the system's trust store), the TLS server
    name, the bearer token, and the context's name (how messages call the
    cluster). Nothing in it can run a command or name a file; its repr never
    shows the token."""

    __slots__ = ("server", "ca_pem", "tls_server_name", "token", "name")

    def __init__(self, server, token, ca_pem=None, tls_server_name=None, name=None):
        self.server = server
        self.token = token
        self.ca_pem = ca_pem
        self.tls_server_name = tls_server_name
        self.name = name or server

    def __repr__(self):
        return "Credential(server=%r, name=%r, token=<not shown>)" % (self.server, self.name)

    def __eq__(self, other):
        return isinstance(other, Credential) and all(
            getattr(self, slot) == getattr(other, slot) for slot in self.__slots__)

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def _key(key):
    """How a message names a key read from a cluster: its name when it is a kubeconfig key, else not at all."""
    return key if isinstance(key, str) and key in _KNOWN_KEYS else None


def _refuse(where, cluster, path, problem="is not allowed"):
    """Raise CredentialRefused: '<where> is refused: <path> <problem> (<the accepted form>)'."""
    raise CredentialRefused("%s is refused: %s %s (%s)" % (where, path, problem, ACCEPTED_FORM), cluster=cluster)


def _only(mapping, allowed, path, where, cluster):
    """Refuse the first key of *mapping* that is not in *allowed* (in the order the text has them)."""
    for key in mapping:
        if key not in allowed:
            name = _key(key)
            if name is None:
                _refuse(where, cluster, path or "the top level", "has an unknown key")
            _refuse(where, cluster, "%s%s" % (path + "." if path else "", name))


def _mapping(value, path, where, cluster):
    if not isinstance(value, dict):
        _refuse(where, cluster, path, "is not a mapping")
    return value


def _one_entry(config, section, body, allowed, where, cluster):
    """(name, body mapping) of the one entry of a clusters/users/contexts list."""
    entries = config.get(section)
    if not isinstance(entries, list) or not entries:
        _refuse(where, cluster, section, "is missing: one entry is needed")
    if len(entries) > 1:
        _refuse(where, cluster, "%s[1]" % section, "is not allowed: one entry only")
    path = "%s[0]" % section
    entry = _mapping(entries[0], path, where, cluster)
    _only(entry, ("name", body), path, where, cluster)
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        _refuse(where, cluster, path + ".name", "is not a name (1 to 253 printable characters, no space)")
    inner = _mapping(entry.get(body), "%s.%s" % (path, body), where, cluster)
    _only(inner, allowed, "%s.%s" % (path, body), where, cluster)
    return name, inner


def _https_server(value):
    """True for an https:// URL with a host, and no user, query or fragment."""
    if not isinstance(value, str) or len(value) > 2048 or not value.startswith("https://"):
        return False
    if any(ord(char) < 0x21 or ord(char) > 0x7e for char in value):
        return False
    try:
        parts = urlsplit(value)
        if parts.port is not None and not 0 < parts.port < 65536:  # .port raises ValueError on a bad one
            return False
    except ValueError:
        return False
    return bool(parts.hostname) and "@" not in parts.netloc and "?" not in value and "#" not in value


def _ca_pem(value, path, where, cluster):
    if not isinstance(value, str):
        _refuse(where, cluster, path, "is not base64 text")
    try:
        pem = base64.b64decode("".join(value.split()), validate=True)
    except (ValueError, binascii.Error):
        _refuse(where, cluster, path, "is not base64 text")
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        _refuse(where, cluster, path, "holds no PEM certificate")
    return pem


def credential_document(value, where, cluster=None):
    """The mapping of a kubeconfig read from a cluster (text or bytes of at
    most MAX_CREDENTIAL_BYTES, parsed with yaml.safe_load only; or a dict).
    Raises CredentialRefused naming *where* (on *cluster*), never quoting the
    content."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes):
        if len(value) > MAX_CREDENTIAL_BYTES:
            raise CredentialRefused("%s is refused: it is larger than %d bytes" % (where, MAX_CREDENTIAL_BYTES),
                                    cluster=cluster)
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialRefused("%s is refused: it is not UTF-8 text" % where, cluster=cluster) from None
        if not text.strip():
            raise CredentialRefused("%s is refused: it is empty" % where, cluster=cluster)
        if yaml is None:  # pragma: no cover
            raise MulticlusterError("PyYAML is needed to read %s" % where)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CredentialRefused("%s is refused: it is not valid YAML%s" % (where, _yaml_line(exc)),
                                    cluster=cluster) from None
        except RecursionError:
            raise CredentialRefused("%s is refused: it is nested too deeply" % where, cluster=cluster) from None
    if not isinstance(value, dict):
        raise CredentialRefused("%s is refused: it is not a kubeconfig (a mapping with clusters, users and "
                                "contexts)" % where, cluster=cluster)
    return value


def read_credential(value, where, cluster=None):
    """The Credential of a kubeconfig read from a cluster (text, bytes or a
    dict), which must be exactly: one cluster with an https:// server,
    certificate-authority-data (else the system's trust store is used) and
    optionally tls-server-name; one user with a token; one context naming
    them (current-context names it or is absent); apiVersion v1, kind Config
    and empty preferences may be there. Anything else - exec, auth-provider,
    tokenFile, file paths, client certificates, insecure-skip-tls-verify,
    proxy-url, username/password, a second entry, an unknown key - raises
    CredentialRefused naming *where*, *cluster* and the key path, never a
    value. Nothing is run and no file is read."""
    config = credential_document(value, where, cluster)
    _only(config, _TOP_KEYS, "", where, cluster)
    if config.get("apiVersion") not in (None, "v1"):
        _refuse(where, cluster, "apiVersion", "is not v1")
    if config.get("kind") not in (None, "Config"):
        _refuse(where, cluster, "kind", "is not Config")
    preferences = config.get("preferences")
    if preferences not in (None, {}):
        _only(_mapping(preferences, "preferences", where, cluster), (), "preferences", where, cluster)
    cluster_name, body = _one_entry(config, "clusters", "cluster", _CLUSTER_KEYS, where, cluster)
    if not _https_server(body.get("server")):
        _refuse(where, cluster, "clusters[0].cluster.server",
                "is not an https:// URL with a host (and no user, query or fragment)")
    ca_pem = None
    if body.get("certificate-authority-data") is not None:
        ca_pem = _ca_pem(body["certificate-authority-data"], "clusters[0].cluster.certificate-authority-data",
                         where, cluster)
    server_name = body.get("tls-server-name")
    if server_name is not None and not (isinstance(server_name, str) and _HOST_NAME.match(server_name)):
        _refuse(where, cluster, "clusters[0].cluster.tls-server-name", "is not a host name")
    user_name, user = _one_entry(config, "users", "user", ("token",), where, cluster)
    token = user.get("token")
    if token in (None, ""):
        _refuse(where, cluster, "users[0].user.token", "is missing")
    if not isinstance(token, str) or not _TOKEN.match(token):
        _refuse(where, cluster, "users[0].user.token", "is not a token (printable characters, no space)")
    context_name, context = _one_entry(config, "contexts", "context", ("cluster", "user"), where, cluster)
    if context.get("cluster") != cluster_name:
        _refuse(where, cluster, "contexts[0].context.cluster", "does not name clusters[0]")
    if context.get("user") != user_name:
        _refuse(where, cluster, "contexts[0].context.user", "does not name users[0]")
    if config.get("current-context") not in (None, "", context_name):
        _refuse(where, cluster, "current-context", "does not name contexts[0]")
    return Credential(body["server"], token, ca_pem, server_name, context_name)


def cluster_secret_where(namespace, name, cluster):
    """How messages name the kubeconfig a Secret on a cluster holds."""
    return "the kubeconfig in Secret %s/%s on cluster '%s'" % (namespace, name, cluster)


def strings_to_hide(value):
    """The strings of a kubeconfig read from a cluster (text, dict or
    Credential) to keep out of every output: its text, and its token when
    read_credential accepts it. Of a refused one, every string of 8
    characters or more under users[].user: an exec plugin's arguments may
    carry a token, while shorter ones are flags such as -c, and hiding those
    would garble every message that contains them."""
    found = set()
    if isinstance(value, str) and value:
        found.add(value)
    try:
        found.add(read_credential(value, "the kubeconfig").token)
        return found
    except MulticlusterError:
        pass
    return found | set(leaf for leaf in user_leaves(value) if len(leaf) >= 8)

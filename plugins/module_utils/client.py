# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kubernetes client per cluster, built from the connection options.

Resolution follows kubernetes.core: a kubeconfig (dict or path), else the
default kubeconfig when no host is given, else the in-cluster service
account; then explicit options override. Every client gets its own fresh
Configuration: the kubernetes client's global default is never touched, and
nothing is cached at module level.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time
import traceback

try:
    import yaml
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - MulticlusterModule.requires_kubernetes() reports it
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coreos.multicluster.plugins.module_utils.args_common import connection_params
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import (
    MissingResourceTypeError,
    MulticlusterError,
    format_error,
    http_status,
    is_missing_type,
    is_not_found,
    is_transient,
    retry,
)

DEFAULT_KUBECONFIG = "~/.kube/config"
NO_CLUSTER = "no cluster given: set kubeconfig, host or K8S_AUTH_* variables"


# --- where the settings come from ---------------------------------------------------

def _default_kubeconfig():
    """The KUBECONFIG value (or ~/.kube/config) when one of its files exists."""
    value = os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    paths = [os.path.expanduser(path) for path in value.split(os.pathsep) if path]
    if not any(os.path.exists(path) for path in paths):
        return None
    return paths[0] if len(paths) == 1 else value  # the client merges a list itself


def _source(conn):
    """(kind, value, description) of where the settings come from: kind is
    'dict', 'file', 'incluster' or 'host'."""
    kubeconfig = conn.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        return "dict", kubeconfig, "the kubeconfig dict"
    if kubeconfig not in (None, ""):
        if not isinstance(kubeconfig, str):
            raise MulticlusterError("kubeconfig must be a path or a dict, not a %s" % type(kubeconfig).__name__)
        if "\n" in kubeconfig:
            raise MulticlusterError("kubeconfig must be a path or a dict: the string given looks like kubeconfig "
                                    "content (pass it as a dict, e.g. with from_yaml)")
        path = os.path.expanduser(kubeconfig)
        return "file", path, "kubeconfig %s" % path
    if conn.get("host"):
        return "host", None, "host %s" % conn["host"]
    default = _default_kubeconfig()
    if default:
        return "file", default, "kubeconfig %s" % default
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "incluster", None, "the in-cluster service account"
    raise MulticlusterError(NO_CLUSTER)


def _config_reason(exc):
    """What is wrong with a kubeconfig, from a ConfigException, without its
    text: the client names list items by their whole content, credentials
    included."""
    text = str(exc)
    match = re.search(r"Expected object with name (.*?) in (.*) list", text)
    if match:
        section = match.group(2).rstrip().rsplit("/", 1)[-1]
        what = {"contexts": "context", "clusters": "cluster", "users": "user"}.get(section, "entry")
        return "%s '%s' not found" % (what, match.group(1))
    match = re.search(r"Expected key (\S+) in", text)
    if match:
        if match.group(1) == "current-context":
            return "it has no current-context; set the context option"
        return "missing key '%s'" % match.group(1)
    match = re.search(r"Expected (.+) to be a list", text)
    if match:
        section = match.group(1).rsplit("/", 1)[-1]
        return "'%s' is not a list" % section if re.match(r"^[\w-]+$", section) else "a section is not a list"
    if "does not exist" in text and text.startswith("File"):
        return "file does not exist"
    if text.startswith("exec:"):
        return "the exec credential plugin failed"
    if "empty" in text or "No configuration found" in text:
        return "it is empty"
    return "not a valid kubeconfig"


def _load(kind, value, where, context, configuration):
    prefix = "cannot load %s%s" % (where, " (context '%s')" % context if context else "")
    try:
        if kind == "dict":
            k8s_config.load_kube_config_from_dict(value, context=context, client_configuration=configuration,
                                                  persist_config=False)
        elif kind == "file":
            if os.pathsep not in value and not os.path.exists(value):
                raise MulticlusterError("%s: file does not exist" % prefix)
            k8s_config.load_kube_config(config_file=value, context=context, client_configuration=configuration,
                                        persist_config=False)
        if kind in ("dict", "file") and configuration.host == k8s_client.Configuration().host:
            raise MulticlusterError("%s: the cluster of the context has no server" % prefix)
        elif kind == "incluster":
            k8s_config.load_incluster_config(client_configuration=configuration)
    except MulticlusterError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = " (line %d)" % (mark.line + 1) if mark is not None else ""
        raise MulticlusterError("%s: not valid YAML%s" % (prefix, line)) from None
    except ConfigException as exc:
        if kind == "incluster":
            raise MulticlusterError("%s: %s" % (prefix, str(exc).splitlines()[0] if str(exc) else "failed")) from None
        raise MulticlusterError("%s: %s" % (prefix, _config_reason(exc))) from None
    except (IOError, OSError) as exc:
        raise MulticlusterError("%s: %s" % (prefix, exc.strerror or type(exc).__name__)) from None
    except Exception as exc:  # pylint: disable=broad-except
        # malformed structures surface as TypeError/AttributeError/ValueError with content in the text
        raise MulticlusterError("%s: not a valid kubeconfig (%s)" % (prefix, type(exc).__name__)) from None


def _override(conn, configuration):
    if conn.get("host"):
        configuration.host = conn["host"]
    api_key = conn.get("api_key")
    if api_key:
        value = api_key if api_key.lower().startswith("bearer ") else "Bearer %s" % api_key
        # both keys: 'BearerToken' for current clients, 'authorization' for older ones
        configuration.api_key = {"BearerToken": value, "authorization": value}
        configuration.api_key_prefix = {}
        configuration.refresh_api_key_hook = None  # a kubeconfig token refresher would overwrite it
    if conn.get("ca_cert"):
        configuration.ssl_ca_cert = conn["ca_cert"]
        if hasattr(configuration, "ca_cert_data"):
            configuration.ca_cert_data = None
    if conn.get("client_cert"):
        configuration.cert_file = conn["client_cert"]
    if conn.get("client_key"):
        configuration.key_file = conn["client_key"]
    if conn.get("validate_certs") is not None:
        configuration.verify_ssl = bool(conn["validate_certs"])
    if conn.get("proxy"):
        configuration.proxy = conn["proxy"]


def build_api_client(conn):
    """A kubernetes.client.ApiClient for the connection options in conn."""
    if not HAS_KUBERNETES:
        raise MulticlusterError("the kubernetes Python library is not installed")
    conn = connection_params(conn)
    kind, value, where = _source(conn)
    configuration = k8s_client.Configuration()
    _load(kind, value, where, conn.get("context"), configuration)
    _override(conn, configuration)
    return k8s_client.ApiClient(configuration)


def cluster_label(conn, configuration):
    """The cluster's name in messages: the context if given, else the
    kubeconfig's current-context, else the server URL."""
    conn = connection_params(conn)
    if conn.get("context"):
        return conn["context"]
    current = None
    try:
        kind, value, dummy = _source(conn)
        if kind == "dict":
            current = value.get("current-context")
        elif kind == "file":
            current = (k8s_config.list_kube_config_contexts(value)[1] or {}).get("name")
    except Exception:  # pylint: disable=broad-except
        current = None  # the label is cosmetic: fall back to the server
    if current and isinstance(current, str):
        return current
    return getattr(configuration, "host", None) or "unknown"


# --- the client ----------------------------------------------------------------------

def _group_of(fn, args, kwargs):
    """The API group of a CustomObjectsApi call (its first argument)."""
    if "custom_object" not in getattr(fn, "__name__", ""):
        return None
    group = kwargs.get("group", args[0] if args else None)
    return group if isinstance(group, str) else None


def _not_conflict(exc):
    """Transient, but not 409: a one-shot call does not re-read what it writes."""
    return is_transient(exc) and http_status(exc) != 409


def _write_transient(exc):
    """For read-modify-write functions: retry conflicts, including ones
    already turned into MulticlusterError by a call() inside."""
    if isinstance(exc, MulticlusterError):
        return exc.details.get("status") == 409 or http_status(exc.__cause__) == 409
    return is_transient(exc)


class ClusterClient(object):
    """One cluster: typed APIs, check mode, and calls whose errors read
    "<action> <kind> <name> on cluster '<label>': <reason>"."""

    _API_CLASSES = {
        "core": "CoreV1Api",
        "rbac": "RbacAuthorizationV1Api",
        "apps": "AppsV1Api",
        "custom": "CustomObjectsApi",
        "apiext": "ApiextensionsV1Api",
        "authn": "AuthenticationV1Api",
        "authz": "AuthorizationV1Api",
    }

    def __init__(self, conn, check_mode=False, sleep=time.sleep):
        conn = connection_params(conn)
        self.api_client = build_api_client(conn)
        self.configuration = self.api_client.configuration
        self.label = cluster_label(conn, self.configuration)
        self.server = self.configuration.host
        self.check_mode = bool(check_mode)
        self.dry_run = "All" if self.check_mode else None
        self._sleep = sleep
        self._apis = {}

    def _api(self, name):
        if name not in self._apis:
            self._apis[name] = getattr(k8s_client, self._API_CLASSES[name])(self.api_client)
        return self._apis[name]

    @property
    def core(self):
        return self._api("core")

    @property
    def rbac(self):
        return self._api("rbac")

    @property
    def apps(self):
        return self._api("apps")

    @property
    def custom(self):
        return self._api("custom")

    @property
    def apiext(self):
        return self._api("apiext")

    @property
    def authn(self):
        return self._api("authn")

    @property
    def authz(self):
        return self._api("authz")

    def ca_data(self):
        """PEM bytes of the CA this client trusts, or None (system trust store)."""
        data = getattr(self.configuration, "ca_cert_data", None)
        if data:
            return data.encode("ascii") if isinstance(data, str) else data
        path = self.configuration.ssl_ca_cert
        if not path:
            return None
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise MulticlusterError("cannot read the CA certificate %s of cluster '%s': %s"
                                    % (path, self.label, exc.strerror or type(exc).__name__),
                                    cluster=self.label) from None

    def to_dict(self, model):
        return self.api_client.sanitize_for_serialization(model)

    def error(self, action, kind, name, exc, group=None):
        """The MulticlusterError (or MissingResourceTypeError) for exc."""
        message = format_error(action, kind, name, self.label, exc, group)
        details = {}
        if http_status(exc):
            details["status"] = http_status(exc)
        if group:
            details["group"] = group
        if is_missing_type(exc):
            return MissingResourceTypeError(message, cluster=self.label, details=details, group=group)
        return MulticlusterError(message, cluster=self.label, details=details)

    def _run(self, action, kind, name, attempt, group, transient):
        try:
            return retry(attempt, sleep=self._sleep, transient=transient)
        except MulticlusterError as exc:
            if exc.cluster is None:
                exc.cluster = self.label
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise self.error(action, kind, name, exc, group) from exc

    def call(self, action, kind, name, fn, *args, **kwargs):
        """fn(*args, **kwargs), retried on transient errors other than 409."""
        return self._run(action, kind, name, lambda: fn(*args, **kwargs), _group_of(fn, args, kwargs),
                         _not_conflict)

    def write(self, action, kind, name, fn, *args, **kwargs):
        """fn(*args, **kwargs) that re-reads what it writes (read-modify-write),
        so a 409 Conflict is retried too."""
        return self._run(action, kind, name, lambda: fn(*args, **kwargs), _group_of(fn, args, kwargs),
                         _write_transient)

    def read(self, kind, name, fn, *args, **kwargs):
        """The object, or None when it does not exist. A missing resource
        type raises MissingResourceTypeError."""
        def attempt():
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                if is_not_found(exc):
                    return None
                raise
        return self._run("read", kind, name, attempt, _group_of(fn, args, kwargs), _not_conflict)

    def delete(self, kind, name, fn, *args, **kwargs):
        """True when deleted (or would be, in check mode), False when already gone.
        NotFound on a retry counts as deleted: the attempt that failed in
        transit (5xx, connection lost) may well have deleted it."""
        tries = []

        def attempt():
            tries.append(1)
            try:
                fn(*args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-except
                if is_not_found(exc):
                    return len(tries) > 1
                raise
            return True
        return self._run("delete", kind, name, attempt, _group_of(fn, args, kwargs), _not_conflict)

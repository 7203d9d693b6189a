# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From connection options to a configured kubernetes ApiClient, and the name
a cluster goes by in messages.

Resolution follows kubernetes.core: a kubeconfig (dict or path), else the
default kubeconfig when no host is given, else the in-cluster service
account; then explicit options override. Every client gets its own fresh
Configuration: the kubernetes client's global default is never touched, and
nothing is cached at module level.

Those are the operator's own settings, trusted: the kubernetes client's
kubeconfig loader reads them (and may run their exec plugins). A credential
read from a cluster (kubeconfig.Credential, given as the kubeconfig option)
never reaches that loader: credential_api_client builds the client from its
server, CA, TLS server name and token alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile
import traceback
import weakref

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
    k8s_client = k8s_config = None

    class ConfigException(Exception):
        """Stands in for the client's exception type when the client is not installed."""

    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import connection_params
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import Credential

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
    if isinstance(kubeconfig, Credential):
        return "credential", kubeconfig, "the credential for %s" % kubeconfig.server
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
    if kind == "credential":
        others = sorted(key for key, setting in conn.items()
                        if setting not in (None, "") and key not in ("kubeconfig", "request_timeout"))
        if others:  # a credential read from a cluster is all there is to its connection
            raise MulticlusterError("%s cannot be combined with %s" % (where, ", ".join(others)))
        return credential_api_client(value)
    configuration = k8s_client.Configuration()
    _load(kind, value, where, conn.get("context"), configuration)
    _override(conn, configuration)
    # no retries inside urllib3: ClusterClient retries within its own deadline,
    # and a hidden retry would multiply every timeout by four
    configuration.retries = 0
    return k8s_client.ApiClient(configuration)


def api_request(api_client, method, path, query=(), body=None, content_type=None, timeout=None):
    """One request through *api_client* (auth, TLS and proxy as configured):
    the raw response, its body not read yet; a status other than 2xx raises
    ApiException. This is the generic path kubernetes.dynamic takes too, so no
    generated API class (and none of its models) is imported: with the
    pydantic-based clients that alone costs most of a second per process.

    query: (name, value) pairs in the API's spelling (labelSelector, ...)."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = content_type or "application/json"
    query = list(query)
    if hasattr(api_client, "param_serialize"):  # kubernetes >= 35 (openapi-generator 7)
        request = api_client.param_serialize(method, path, query_params=query, header_params=headers, body=body,
                                             auth_settings=["BearerToken"])
        response = api_client.call_api(*request, _request_timeout=timeout)
        if not 200 <= response.status <= 299:
            response.read()
            raise k8s_client.ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response
    return api_client.call_api(path, method, query_params=query, header_params=headers, body=body,
                               auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                               _request_timeout=timeout)


def cluster_label(conn, configuration):
    """The cluster's name in messages: the context if given, else the
    kubeconfig's current-context, else the server URL."""
    conn = connection_params(conn)
    if conn.get("context"):
        return conn["context"]
    current = None
    try:
        kind, value, dummy = _source(conn)
        if kind == "credential":
            current = value.name
        elif kind == "dict":
            current = value.get("current-context")
        elif kind == "file":
            current = (k8s_config.list_kube_config_contexts(value)[1] or {}).get("name")
    except Exception:  # pylint: disable=broad-except
        current = None  # the label is cosmetic: fall back to the server
    if current and isinstance(current, str):
        return current
    return getattr(configuration, "host", None) or "unknown"


def _bearer(config, token):
    """Authenticate with *token* alone, and no retries inside urllib3."""
    value = "Bearer " + token
    # both keys: 'BearerToken' for current clients, 'authorization' for older ones
    config.api_key = {"BearerToken": value, "authorization": value}
    config.api_key_prefix = {}
    config.refresh_api_key_hook = None
    config.retries = 0


def token_api_client(configuration, token):
    """An ApiClient for the server of *configuration*, with the same TLS trust,
    that authenticates with *token* alone (no client certificate)."""
    config = k8s_client.Configuration()
    config.host = configuration.host
    config.verify_ssl = configuration.verify_ssl
    config.ssl_ca_cert = configuration.ssl_ca_cert
    if getattr(configuration, "ca_cert_data", None) is not None:
        config.ca_cert_data = configuration.ca_cert_data
    config.assert_hostname = getattr(configuration, "assert_hostname", None)
    if getattr(configuration, "tls_server_name", None):
        config.tls_server_name = configuration.tls_server_name
    config.proxy = configuration.proxy
    _bearer(config, token)
    return k8s_client.ApiClient(config)


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_on_close(api_client, path):
    """Remove the file *path* when *api_client* is closed or collected, or at exit."""
    cleanup = weakref.finalize(api_client, _remove, path)
    close = api_client.close

    def close_and_remove():
        try:
            close()
        finally:
            cleanup()
    api_client.close = close_and_remove


def _takes_ca_data(config):
    """Whether this kubernetes client takes the CA as data (Configuration.ca_cert_data)."""
    return hasattr(config, "ca_cert_data")


def credential_api_client(credential):
    """An ApiClient for a credential read from a cluster (kubeconfig.Credential),
    built from its values alone - never through the kubernetes client's
    kubeconfig loader, which runs exec plugins and reads files: the server,
    the CA it holds (else the system's trust store), its TLS server name, its
    bearer token; TLS is always verified and urllib3 never retries."""
    if not HAS_KUBERNETES:
        raise MulticlusterError("the kubernetes Python library is not installed")
    if not isinstance(credential, Credential):
        raise MulticlusterError("a credential read from a cluster must be a Credential (kubeconfig.read_credential)")
    config = k8s_client.Configuration()
    config.host = credential.server
    config.verify_ssl = True
    if credential.tls_server_name:
        if not hasattr(config, "tls_server_name"):
            raise MulticlusterError("the credential for %s sets tls-server-name, which this kubernetes Python "
                                    "library cannot use: upgrade it" % credential.server)
        config.tls_server_name = credential.tls_server_name
    _bearer(config, credential.token)
    pem = credential.ca_pem
    in_file = pem and not _takes_ca_data(config)
    if pem and not in_file:
        config.ca_cert_data = pem.decode("ascii", "replace")
    if not in_file:
        return k8s_client.ApiClient(config)
    # the file must exist before the ApiClient (its pool loads the CA when it is made)
    fd, path = tempfile.mkstemp(prefix="mc-ca-", suffix=".crt")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        config.ssl_ca_cert = path
        api_client = k8s_client.ApiClient(config)
    except BaseException:
        _remove(path)
        raise
    _remove_on_close(api_client, path)
    return api_client

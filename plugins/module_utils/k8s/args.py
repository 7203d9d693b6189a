# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module (documented by the
coreos.multicluster.connection doc fragment).

Names, types and aliases are those of kubernetes.core, and so are the
K8S_AUTH_* environment variables, so an AWX "OpenShift or Kubernetes API
Bearer Token" credential (K8S_AUTH_HOST, K8S_AUTH_API_KEY,
K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT) works unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

CONNECTION_ARG_SPEC = {
    "kubeconfig": {"type": "raw", "fallback": (env_fallback, ["K8S_AUTH_KUBECONFIG"])},
    "context": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_CONTEXT"])},
    "host": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_HOST"])},
    "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["K8S_AUTH_API_KEY"])},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"],
                       "fallback": (env_fallback, ["K8S_AUTH_VERIFY_SSL", "K8S_AUTH_VALIDATE_CERTS"])},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"],
                "fallback": (env_fallback, ["K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_CA_CERT"])},
    "client_cert": {"type": "path", "aliases": ["cert_file"],
                    "fallback": (env_fallback, ["K8S_AUTH_CERT_FILE", "K8S_AUTH_CLIENT_CERT"])},
    "client_key": {"type": "path", "aliases": ["key_file"],
                   "fallback": (env_fallback, ["K8S_AUTH_KEY_FILE", "K8S_AUTH_CLIENT_KEY"])},
    "proxy": {"type": "str", "fallback": (env_fallback, ["K8S_AUTH_PROXY"])},
    "request_timeout": {"type": "int", "fallback": (env_fallback, ["K8S_AUTH_REQUEST_TIMEOUT"])},
}


def module_spec(**options):
    """A module's argument spec: the connection options plus its own."""
    spec = copy.deepcopy(CONNECTION_ARG_SPEC)
    spec.update(options)
    return spec


# state, as every module that makes or removes something takes it
STATE_SPEC = {"type": "str", "choices": ["present", "absent"], "default": "present"}

# the options of the *_info modules that read one object or those a label selector matches
SELECTION_SPEC = {"name": {"type": "str"}, "label_selectors": {"type": "list", "elements": "str", "default": []}}
SELECTION_EXCLUSIVE = [("name", "label_selectors")]


def selection(params):
    """(name, label selector) of an *_info module's options: its selectors joined as the API takes them."""
    return params["name"], ",".join(params["label_selectors"])


def connection_suboption_spec():
    """The connection options for a dict option naming a second cluster:
    same keys, types and aliases, but no environment fallbacks, so the
    first cluster's K8S_AUTH_* variables never leak into the second."""
    spec = copy.deepcopy(CONNECTION_ARG_SPEC)
    for option in spec.values():
        option.pop("fallback", None)
    return spec


def connection_params(params):
    """Just the connection options of a params dict (module params or a
    sub-dict), canonical names only; an alias is used when the canonical key
    is missing or None."""
    params = params or {}
    result = {}
    for name, option in CONNECTION_ARG_SPEC.items():
        value = params.get(name)
        if value is None:
            for alias in option.get("aliases", ()):
                if params.get(alias) is not None:
                    value = params[alias]
                    break
        result[name] = value
    return result

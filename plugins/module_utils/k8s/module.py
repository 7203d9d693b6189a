# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MulticlusterModule, the AnsibleModule every coreos.multicluster module is:
a ClusterClient per cluster, one way to fail, and the one mechanism that
keeps credentials out of the output (no_log values)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.args import (
    SELECTION_EXCLUSIVE, SELECTION_SPEC, connection_params, module_spec, selection)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.client import ClusterClient
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.connection import (
    HAS_KUBERNETES,
    HAS_YAML,
    KUBERNETES_IMPORT_ERROR,
    YAML_IMPORT_ERROR,
)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import MulticlusterError
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.kubeconfig import (
    Credential, strings_to_hide, user_leaves)
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import secret_leaves

NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# How a kubeconfig-valued no_log option is hidden (credential_options):
HIDE_USERS = "users"        # its users' credentials (and its text): server and context names stay readable
HIDE_TEXT = "text"          # only its text as given: the module returns its token on purpose


def _frames(exc):
    """File, line and code of each frame: no messages, no locals."""
    return "".join(traceback.format_tb(exc.__traceback__)) if exc.__traceback__ is not None else ""


class MulticlusterModule(AnsibleModule):
    """AnsibleModule plus a client per cluster, one way to fail, and credentials hidden.

    credential_options: {option: HIDE_USERS or HIDE_TEXT} for the options
    holding a kubeconfig (no_log in the spec). Ansible would hide every
    string of such a dict ('v1', 'Config', the server URL) wherever it
    appears; instead only its credentials are hidden, the invocation shows
    the usual placeholder, and the value itself is in self.credentials."""

    def __init__(self, *args, **kwargs):
        credential_options = kwargs.pop("credential_options", None) or {}
        super(MulticlusterModule, self).__init__(*args, **kwargs)
        self.credentials = {}
        for option, how in credential_options.items():
            self.credentials[option] = self._narrow(option, how)
        connections = [self.params] + [value for value in self.params.values()
                                       if isinstance(value, dict) and "kubeconfig" in value]
        for conn in connections:
            if isinstance(conn.get("kubeconfig"), dict):
                self.hide_kubeconfig(conn["kubeconfig"])

    def hide_kubeconfig(self, value):
        """Hide the credentials of a kubeconfig (dict or text) the module read
        or was given, or the token of a Credential, wherever they would show
        (results, warnings, logs)."""
        self.no_log_values.update(user_leaves(value))
        if isinstance(value, str) and value:
            self.no_log_values.add(value)

    def hide_credential(self, value):
        """Hide what a kubeconfig read from a cluster (text, dict or
        Credential) holds: its token, or of one the strict reader refuses, its
        text and its longer user strings (kubeconfig.strings_to_hide)."""
        self.no_log_values.update(strings_to_hide(value))

    def _narrow(self, option, how):
        value = self.params.get(option)
        if value is None or value == "":
            return value
        others = set()
        for name, spec in self.argument_spec.items():
            if name != option and spec.get("no_log") and self.params.get(name):
                others.update(secret_leaves(self.params[name]))
        keep = set(user_leaves(value)) if how == HIDE_USERS else set()
        if isinstance(value, str):
            keep.add(value)
        for leaf in set(secret_leaves(value)) - others - keep:
            self.no_log_values.discard(leaf)
        self.no_log_values.update(leaf for leaf in keep if leaf)
        self.params[option] = NO_LOG_PLACEHOLDER
        return value

    def requires_kubernetes(self):
        """Fail with missing_required_lib when kubernetes or PyYAML is missing."""
        if not HAS_KUBERNETES:
            self.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
        if not HAS_YAML:
            self.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)

    def client(self, conn_params=None):
        """A ClusterClient for this module's connection options, or for a
        sub-dict of them (a second cluster, which inherits request_timeout),
        or for a credential read from a cluster (a kubeconfig.Credential,
        never handed to the kubeconfig loader), in this module's check mode."""
        self.requires_kubernetes()
        if isinstance(conn_params, Credential):
            conn_params = {"kubeconfig": conn_params}
        conn = connection_params(self.params if conn_params is None else conn_params)
        if conn.get("request_timeout") is None:
            conn["request_timeout"] = self.params.get("request_timeout")
        return ClusterClient(conn, check_mode=self.check_mode)

    def fail_from_exception(self, exc):
        """fail_json for exc: its own text for a MulticlusterError (plus the
        cluster), the exception type and text for anything else. The traceback
        given has frames only: no locals, no chained messages."""
        if isinstance(exc, MulticlusterError):
            result = {}
            if exc.cluster is not None:
                result["cluster"] = exc.cluster
            if exc.details:
                result["details"] = exc.details
            self.fail_json(msg=str(exc), exception=_frames(exc), **result)
        text = redact(str(exc).strip())
        msg = "unexpected error: %s%s" % (type(exc).__name__, ": %s" % text if text else "")
        self.fail_json(msg=msg, exception=_frames(exc))

    def run(self, fn):
        """exit_json(**fn()) - the diff only in diff mode - or fail_from_exception."""
        try:
            result = dict(fn() or {})
        except Exception as exc:  # pylint: disable=broad-except
            self.fail_from_exception(exc)
        result.setdefault("changed", False)
        if not self._diff:
            result.pop("diff", None)
        self.exit_json(**result)


def run_info(info):
    """main() of an _info module: the connection options and a selection (name, or label_selectors: SELECTION_SPEC),
    check mode supported, and info(client, name, label_selectors) as the result."""
    module = MulticlusterModule(argument_spec=module_spec(**SELECTION_SPEC), supports_check_mode=True,
                                mutually_exclusive=SELECTION_EXCLUSIVE)
    module.run(lambda: info(module.client(), *selection(module.params)))

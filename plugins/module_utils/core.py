# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module wrapper every coreos.multicluster module uses, and the one way
Secret content may appear in results (hash_secret_data)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coreos.multicluster.plugins.module_utils.args_common import connection_params
from ansible_collections.coreos.multicluster.plugins.module_utils.client import (
    HAS_KUBERNETES,
    HAS_YAML,
    KUBERNETES_IMPORT_ERROR,
    YAML_IMPORT_ERROR,
    ClusterClient,
)
from ansible_collections.coreos.multicluster.plugins.module_utils.errors import MulticlusterError, redact


def hash_secret_data(data):
    """{key: 'sha256:<first 16 hex>'} for a Secret's data or stringData: the
    only form Secret content may take in diffs and results. Values are hashed
    as given (base64 text for data, plain text for stringData)."""
    hashed = {}
    for key, value in (data or {}).items():
        if value is None:
            raw = b""
        elif isinstance(value, bytes):
            raw = value
        else:
            raw = str(value).encode("utf-8")
        hashed[key] = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
    return hashed


def secret_leaves(value):
    """The strings of a structured value, as Ansible lists no_log values."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_leaves(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from secret_leaves(item)
    elif value is None or isinstance(value, bool):
        return
    elif isinstance(value, (int, float)):
        yield str(value)


def kubeconfig_user_leaves(config):
    """The credential strings of a kubeconfig dict: everything under users[].user."""
    leaves = set()
    for entry in (config.get("users") if isinstance(config, dict) else None) or []:
        if isinstance(entry, dict):
            leaves.update(secret_leaves(entry.get("user")))
    return leaves


def _frames(exc):
    """File, line and code of each frame: no messages, no locals."""
    return "".join(traceback.format_tb(exc.__traceback__)) if exc.__traceback__ is not None else ""


class MulticlusterModule(AnsibleModule):
    """AnsibleModule plus a client per cluster and one way to fail."""

    def __init__(self, *args, **kwargs):
        super(MulticlusterModule, self).__init__(*args, **kwargs)
        self._hide_kubeconfig_credentials()

    def _hide_kubeconfig_credentials(self):
        """A kubeconfig given as a dict (the connection option, or that of a
        second cluster's sub-options) is not a no_log option, since its
        server and context names are worth seeing; its users' credentials
        are hidden wherever they would show (invocation, results, logs)."""
        connections = [self.params] + [value for value in self.params.values()
                                       if isinstance(value, dict) and "kubeconfig" in value]
        for conn in connections:
            if isinstance(conn.get("kubeconfig"), dict):
                self.no_log_values.update(kubeconfig_user_leaves(conn["kubeconfig"]))

    def requires_kubernetes(self):
        """Fail with missing_required_lib when kubernetes or PyYAML is missing."""
        if not HAS_KUBERNETES:
            self.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
        if not HAS_YAML:
            self.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)

    def client(self, conn_params=None):
        """A ClusterClient for this module's connection options, or for a
        sub-dict of them (a second cluster), in this module's check mode."""
        self.requires_kubernetes()
        conn = connection_params(self.params if conn_params is None else conn_params)
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

    def exit_result(self, result):
        """exit_json(**result); the diff only in diff mode."""
        result = dict(result or {})
        result.setdefault("changed", False)
        if not self._diff:
            result.pop("diff", None)
        self.exit_json(**result)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a credential may look like in output: Secret data and tokens only as
sha256 prefixes, the strings of a kubeconfig that must be hidden (its users'
credentials), and credentials blanked out of free text (redact: an error's
text, a log line). Pure; the module wrapper (k8s/module.py), the error
wording (errors.py) and the agent's logs apply it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s'\",;}]+")
_AUTH_HEADER = re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+")
_TOKEN_FIELD = re.compile(r"(?i)((?:token|password|client-key-data)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+")


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


def hash_token(token):
    """'sha256:<16 hex>' of a token, the only form it takes in diffs and results."""
    return hash_secret_data({"token": token})["token"]


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


def redact(text):
    """Blank out bearer/basic credentials, Authorization headers and token
    fields that may sit in free text."""
    text = _BEARER.sub(lambda m: m.group(1) + " <redacted>", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + "<redacted>", text)
    return _TOKEN_FIELD.sub(lambda m: m.group(1) + "<redacted>", text)

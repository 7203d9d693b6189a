# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent's logs: one JSON object per line on stderr, never a credential."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import logging
import sys

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.redaction import redact

LOG = logging.getLogger("directory-sync")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, msg and the record's 'fields'.
    Text goes through redact() as a last guard against credentials."""

    def format(self, record):
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        entry = {"time": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (stamp.microsecond // 1000),
                 "level": record.levelname.lower(), "msg": redact(record.getMessage())}
        for key, value in (getattr(record, "fields", None) or {}).items():
            entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return json.dumps(entry, sort_keys=False, default=str)


def configure_logging(stream=None, level=logging.INFO):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    LOG.handlers[:] = [handler]
    LOG.setLevel(level)
    LOG.propagate = False
    return LOG


def log(level, msg, **fields):
    LOG.log(level, msg, extra={"fields": fields})

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 3339 UTC timestamps (2026-12-01T09:30:00Z), written and read in one place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def iso_time(epoch):
    """The UTC time of epoch seconds, or None for None."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(_FORMAT)


def parse_time(text):
    """Epoch seconds of a time written by iso_time, or None."""
    try:
        moment = datetime.datetime.strptime(text, _FORMAT)
    except (TypeError, ValueError):
        return None
    return (moment.replace(tzinfo=datetime.timezone.utc) - _EPOCH).total_seconds()

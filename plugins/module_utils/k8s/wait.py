# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one poll-until-deadline: ask again until the answer is the one wanted, for at most a given time.

Used for what another party finishes on its own time (a CRD becoming Established, the token controller
filling a Secret, the API server refusing a revoked token). One request's own deadline and retries are
ClusterClient's (retries.py); this is the loop around whole requests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


def until(check, timeout, interval, timed_out, sleep=time.sleep, clock=time.monotonic):
    """Call check() until it says it is done, at most *timeout* seconds, *interval* seconds apart.

    check() returns (done, value). Returns the value of the try that was done. When the time is up
    without it, raises timed_out(last value): the caller's exception, naming what it waited for.
    The first try is at once, and one try always runs after the deadline's last sleep."""
    deadline = clock() + timeout
    while True:
        done, value = check()
        if done:
            return value
        if clock() >= deadline:
            raise timed_out(value)
        sleep(max(0.0, min(interval, deadline - clock())))

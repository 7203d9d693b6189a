# -*- coding: utf-8 -*-
# Copyright: (c) 2026, coreos.multicluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jittered exponential backoff and retrying within a deadline: the one backoff
formula, used by every API call (client.py) and by the agent's loop."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time


def backoff_delay(failures, base=0.2, cap=5.0, rand=random.random):
    """Seconds to wait after the *failures*-th failure in a row (1, 2, ...):
    between half and all of min(cap, base * 2**(failures-1))."""
    ceiling = min(cap, base * (2 ** (max(1, failures) - 1)))
    return ceiling / 2 + rand() * ceiling / 2


class Backoff(object):
    """backoff_delay() with its own failure count (the agent's loop and watch)."""

    def __init__(self, base=1.0, cap=60.0, rand=random.random):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rand = rand

    def next(self):
        self.failures += 1
        return backoff_delay(self.failures, self.base, self.cap, self._rand)

    def reset(self):
        self.failures = 0


def _retry_after(exc, cap):
    """The Retry-After header of an API error in seconds (capped), or None."""
    headers = getattr(exc, "headers", None)
    if not headers:
        return None
    try:
        items = headers.items()
    except AttributeError:
        return None
    for key, value in items:
        if str(key).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None  # an HTTP date: fall back to backoff
            return min(max(seconds, 0.0), cap)
    return None


class DeadlineExceeded(Exception):
    """retry() gave up because the deadline came; .last is the last error."""

    def __init__(self, last, waited):
        super(DeadlineExceeded, self).__init__(str(last))
        self.last = last
        self.waited = waited


def retry(fn, transient, deadline, attempts=6, base_delay=0.2, max_delay=5.0, sleep=time.sleep,
          clock=time.monotonic):
    """fn(remaining seconds) until it returns, retrying the errors *transient*
    accepts with jittered backoff (or the server's Retry-After), as long as
    the next try can start before *deadline* (a clock() value) and fewer
    than *attempts* were made.

    A non-transient error is raised at once, as it is. When the deadline or
    the attempts run out after a transient error, that error is raised; when
    the deadline has passed, it is wrapped in DeadlineExceeded, so the caller
    can say how long it waited."""
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(max(0.0, deadline - clock()))
        except Exception as exc:  # pylint: disable=broad-except
            if not transient(exc):
                raise
            now = clock()
            delay = _retry_after(exc, max_delay)
            if delay is None:
                delay = backoff_delay(attempt, base_delay, max_delay)
            if now + delay >= deadline:
                raise DeadlineExceeded(exc, now - started) from exc
            if attempt >= attempts:
                raise
            sleep(delay)

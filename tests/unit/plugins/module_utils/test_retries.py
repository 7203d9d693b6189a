"""Backoff and retrying within a deadline (a fake clock: no real waiting)."""

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.errors import is_transient
from tests.unit.utils.clock import Clock
from ansible_collections.coreos.multicluster.plugins.module_utils.k8s.retries import (
    Backoff, DeadlineExceeded, backoff_delay, retry)


def api_error(status, headers=None):
    exc = ApiException(status=status, reason="x")
    exc.headers = headers
    return exc


class Flaky:
    """Raises the given exceptions in turn (each costing *cost* seconds, at most
    the time left, as a request bounded by its timeout), then returns 'done'."""

    def __init__(self, clock, *failures, cost=0.0):
        self.clock = clock
        self.failures = list(failures)
        self.remaining = []
        self.cost = cost

    def __call__(self, remaining):
        self.remaining.append(remaining)
        self.clock.now += min(self.cost, remaining)
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def run(fn, clock, deadline=30.0, **kw):
    return retry(fn, is_transient, clock() + deadline, sleep=clock.sleep, clock=clock, **kw)


def test_returns_once_it_works_and_hands_each_try_the_time_left():
    clock = Clock(100.0)
    fn = Flaky(clock, api_error(503), api_error(429), cost=1.0)
    assert run(fn, clock) == "done"
    assert len(clock.sleeps) == 2
    assert fn.remaining[0] == 30.0 and fn.remaining[1] == pytest.approx(30.0 - 1.0 - clock.sleeps[0])


def test_a_non_transient_error_is_raised_at_once():
    clock = Clock(100.0)
    fn = Flaky(clock, api_error(404), api_error(503))
    with pytest.raises(ApiException) as raised:
        run(fn, clock)
    assert raised.value.status == 404 and clock.sleeps == []


def test_attempts_run_out_and_the_last_error_is_raised():
    clock = Clock(100.0)
    errors = [api_error(503) for dummy in range(5)]
    fn = Flaky(clock, *errors)
    with pytest.raises(ApiException) as raised:
        run(fn, clock, attempts=3)
    assert raised.value is errors[2] and len(clock.sleeps) == 2


def test_the_deadline_ends_the_retries_and_says_how_long_it_waited():
    clock = Clock(100.0)
    fn = Flaky(clock, *[api_error(503) for dummy in range(20)], cost=4.0)
    with pytest.raises(DeadlineExceeded) as raised:
        run(fn, clock, deadline=10.0, attempts=20)
    assert raised.value.last.status == 503
    assert raised.value.waited <= 10.0 and clock.now - 100.0 <= 10.0


def test_retry_after_is_honoured_and_capped():
    clock = Clock(100.0)
    fn = Flaky(clock, api_error(429, {"Retry-After": "2"}), api_error(429, {"retry-after": "120"}))
    run(fn, clock, deadline=60.0, max_delay=5.0)
    assert clock.sleeps == [2.0, 5.0]


@pytest.mark.parametrize("failures, ceiling", [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (9, 1.0)])
def test_backoff_is_jittered_exponential_and_capped(failures, ceiling):
    assert backoff_delay(failures, 0.2, 1.0, rand=lambda: 0.0) == ceiling / 2
    assert backoff_delay(failures, 0.2, 1.0, rand=lambda: 1.0) == ceiling


def test_the_backoff_object_counts_failures_and_resets():
    backoff = Backoff(1.0, 8.0, rand=lambda: 1.0)
    assert [backoff.next() for dummy in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next() == 1.0 and backoff.failures == 1

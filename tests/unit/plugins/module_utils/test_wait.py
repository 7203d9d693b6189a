"""The one poll-until-deadline (k8s/wait.py)."""

import pytest

from ansible_collections.coreos.multicluster.plugins.module_utils.k8s import wait
from tests.unit.utils.clock import Clock


class Late(Exception):
    pass


def test_returns_the_value_of_the_try_that_was_done():
    clock = Clock(100.0)
    answers = iter([(False, 1), (False, 2), (True, 3)])
    assert wait.until(lambda: next(answers), 10, 0.5, Late, clock.sleep, clock) == 3
    assert clock.sleeps == [0.5, 0.5]


def test_done_at_once_never_sleeps():
    clock = Clock(100.0)
    assert wait.until(lambda: (True, "x"), 10, 1, Late, clock.sleep, clock) == "x"
    assert clock.sleeps == []


def test_gives_up_at_the_deadline_with_the_callers_error_and_the_last_value():
    clock = Clock(100.0)
    tries = []

    def never():
        tries.append(clock.now)
        return False, len(tries)
    with pytest.raises(Late) as raised:
        wait.until(never, 2, 0.75, Late, clock.sleep, clock)
    assert raised.value.args == (len(tries),)
    # at once, then every 0.75 s; the last sleep is cut to the deadline and one more try follows it
    assert tries == [100.0, 100.75, 101.5, 102.0]
    assert sum(clock.sleeps) == pytest.approx(2.0)

"""The circuit breaker through every transition, on a fake clock."""

from __future__ import annotations

import pytest

from serpgate.settings import BreakerSettings
from serpgate.upstream.breaker import HALF_OPEN_RETRY_AFTER, BreakerState, CircuitBreaker
from tests.fake_clock import FakeClock

SETTINGS = BreakerSettings(window=10, min_calls=4, failure_rate=0.5, open_for=30, half_open_calls=2)


def calls(breaker: CircuitBreaker, *failures: bool) -> BreakerState:
    """Make one call per outcome (True: failed); the state they leave the breaker in."""
    for failed in failures:
        permit = breaker.acquire()
        assert permit is not None
        (breaker.on_failure if failed else breaker.on_success)(permit)
    return breaker.state


def opened(clock: FakeClock) -> CircuitBreaker:
    breaker = CircuitBreaker(SETTINGS, clock)
    calls(breaker, True, True, True, True)
    assert breaker.state is BreakerState.OPEN
    return breaker


def test_stays_closed_below_the_minimum_number_of_calls() -> None:
    breaker = CircuitBreaker(SETTINGS, FakeClock())
    calls(breaker, True, True, True)
    assert breaker.state is BreakerState.CLOSED


def test_opens_at_the_failure_rate_once_enough_calls_are_in() -> None:
    breaker = CircuitBreaker(SETTINGS, FakeClock())
    calls(breaker, False, False, True)
    calls(breaker, True)  # 2 of 4 failed: 50% reaches the threshold
    assert breaker.state is BreakerState.OPEN
    assert breaker.times_opened == 1


def test_stays_closed_under_the_failure_rate() -> None:
    breaker = CircuitBreaker(SETTINGS, FakeClock())
    calls(breaker, False, False, False, True, False, False, True, False, False, False)
    assert breaker.state is BreakerState.CLOSED


def test_old_outcomes_slide_out_of_the_window() -> None:
    settings = BreakerSettings(window=4, min_calls=4, failure_rate=0.75, open_for=30)
    breaker = CircuitBreaker(settings, FakeClock())
    calls(breaker, True, True, False, False)
    calls(breaker, False, False)  # the two failures have slid out
    assert calls(breaker, True, True) is BreakerState.CLOSED  # 2 of the last 4
    assert calls(breaker, True) is BreakerState.OPEN  # 3 of the last 4


def test_open_refuses_calls_and_says_how_long() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    assert breaker.acquire() is None
    assert breaker.retry_after() == pytest.approx(30)
    clock.advance(12)
    assert breaker.acquire() is None
    assert breaker.retry_after() == pytest.approx(18)
    assert breaker.rejected == 2


def test_half_open_after_the_wait_lets_only_the_probes_through() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    assert breaker.state is BreakerState.HALF_OPEN
    first, second = breaker.acquire(), breaker.acquire()
    assert first is not None
    assert second is not None
    assert breaker.acquire() is None
    assert breaker.retry_after() == HALF_OPEN_RETRY_AFTER


def test_successful_probes_close_it_with_a_fresh_window() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    calls(breaker, False, False)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot()["calls_in_window"] == 0
    calls(breaker, True, True, True)
    assert breaker.state is BreakerState.CLOSED  # the window starts over: 3 calls are too few


def test_failing_probes_open_it_again_for_the_full_wait() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    calls(breaker, True, False)  # 50% of the probes failed
    assert breaker.state is BreakerState.OPEN
    assert breaker.times_opened == 2
    assert breaker.retry_after() == pytest.approx(30)


def test_an_ignored_probe_gives_its_slot_back() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    first, second = breaker.acquire(), breaker.acquire()
    assert first is not None
    assert second is not None
    breaker.on_ignored(first)
    third = breaker.acquire()
    assert third is not None
    breaker.on_success(second)
    breaker.on_success(third)
    assert breaker.state is BreakerState.CLOSED


def test_a_call_from_before_the_opening_cannot_decide_the_probes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(SETTINGS, clock)
    straggler = breaker.acquire()
    assert straggler is not None
    calls(breaker, True, True, True, True)
    clock.advance(30)
    probe = breaker.acquire()
    assert probe is not None
    breaker.on_failure(straggler)  # it started while closed: not a probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() is not None  # the second probe slot is still free


def test_outcomes_reported_while_open_are_not_counted() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(SETTINGS, clock)
    late = breaker.acquire()
    assert late is not None
    calls(breaker, True, True, True, True)
    breaker.on_success(late)
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot()["state"] == "open"

"""``CircuitBreaker``: stop calling an engine that is failing, and find out when it is back.

Counted as resilience4j counts. CLOSED: the outcomes of the last ``window`` calls are kept; once
at least ``min_calls`` are in, a failure rate at or over ``failure_rate`` opens the breaker. OPEN:
every call is refused for ``open_for`` seconds, which the API answers as 503 with ``Retry-After``
instead of queueing clients behind a dead engine. HALF_OPEN: ``half_open_calls`` probes go through;
when all have answered, their failure rate decides between CLOSED (a fresh window) and OPEN again.

Failures are counted by who asked (``source``: the tenant). One tenant's searches failing, say
on queries the engine chokes on, are that tenant's trouble: the breaker opens only when the
failing calls in its window come from at least ``min_sources`` distinct sources, or from every
source in the window when fewer have asked (a single-tenant service still has a breaker). The
fetcher keeps a small breaker per tenant too, so a tenant whose own searches keep failing is
slowed alone.

Each permit carries the generation of the state that issued it, so a slow call that started
before the breaker opened cannot, when it finally fails, count as one of the half-open probes.
Calls that say nothing about the engine's health (a CAPTCHA for one proxy, a dead proxy, a
cancelled client) are ``ignored``: they give back a half-open probe slot and are not counted.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict

from serpgate.settings import BreakerSettings

# How long a client is told to wait when every half-open probe is already out: probes end
# within one attempt, so the verdict is near.
HALF_OPEN_RETRY_AFTER = 1.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerSnapshot(TypedDict):
    state: str
    calls_in_window: int
    failure_rate: float
    retry_after: float
    times_opened: int
    rejected: int


@dataclass(frozen=True, slots=True)
class Permit:
    generation: int


class CircuitBreaker:
    def __init__(
        self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._generation = 0
        # (failed, source) per call; the deque's maxlen makes it the count-based sliding window.
        self._window: deque[tuple[bool, str]] = deque(maxlen=settings.window)
        self._opened_at = 0.0
        self._probes_out = 0
        self._probe_results: list[bool] = []
        self.times_opened = 0
        self.rejected = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() >= self._reopens_at:
            self._enter(BreakerState.HALF_OPEN)
        return self._state

    @property
    def _reopens_at(self) -> float:
        return self._opened_at + self._settings.open_for

    def acquire(self) -> Permit | None:
        """A permit for one call, or None while the breaker refuses calls."""
        state = self.state
        if state is BreakerState.OPEN or (
            state is BreakerState.HALF_OPEN and self._probes_out >= self._settings.half_open_calls
        ):
            self.rejected += 1
            return None
        if state is BreakerState.HALF_OPEN:
            self._probes_out += 1
        return Permit(self._generation)

    def retry_after(self) -> float:
        """Seconds until the breaker may let a call through again."""
        state = self.state
        if state is BreakerState.OPEN:
            return max(0.0, self._reopens_at - self._clock())
        if state is BreakerState.HALF_OPEN:
            return HALF_OPEN_RETRY_AFTER
        return 0.0

    def on_success(self, permit: Permit, source: str = "") -> None:
        self._record(permit, source, failed=False)

    def on_failure(self, permit: Permit, source: str = "") -> None:
        self._record(permit, source, failed=True)

    def on_ignored(self, permit: Permit) -> None:
        if permit.generation == self._generation and self._state is BreakerState.HALF_OPEN:
            self._probes_out -= 1

    def _record(self, permit: Permit, source: str, *, failed: bool) -> None:
        if permit.generation != self._generation:
            return
        if self._state is BreakerState.CLOSED:
            self._window.append((failed, source))
            outcomes = [f for f, _ in self._window]
            enough = len(outcomes) >= min(self._settings.min_calls, self._settings.window)
            failing = enough and self._failure_rate(outcomes) >= self._settings.failure_rate
            if failing and self._broad():
                self._enter(BreakerState.OPEN)
        elif self._state is BreakerState.HALF_OPEN:
            self._probes_out -= 1
            self._probe_results.append(failed)
            if len(self._probe_results) >= self._settings.half_open_calls:
                rate = self._failure_rate(self._probe_results)
                failing = rate >= self._settings.failure_rate
                self._enter(BreakerState.OPEN if failing else BreakerState.CLOSED)

    def _broad(self) -> bool:
        """Whether the failures in the window come from enough of those asking."""
        failing = {source for failed, source in self._window if failed}
        asking = {source for _, source in self._window}
        return len(failing) >= min(self._settings.min_sources, len(asking))

    @staticmethod
    def _failure_rate(outcomes: list[bool]) -> float:
        return sum(outcomes) / len(outcomes)

    def _enter(self, state: BreakerState) -> None:
        self._state = state
        self._generation += 1
        self._window.clear()
        self._probes_out = 0
        self._probe_results = []
        if state is BreakerState.OPEN:
            self._opened_at = self._clock()
            self.times_opened += 1

    def snapshot(self) -> BreakerSnapshot:
        state = self.state
        return BreakerSnapshot(
            state=state.value,
            calls_in_window=len(self._window),
            failure_rate=self._failure_rate([f for f, _ in self._window]) if self._window else 0.0,
            retry_after=round(self.retry_after(), 3),
            times_opened=self.times_opened,
            rejected=self.rejected,
        )

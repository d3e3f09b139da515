"""Sliding-window rate limits: how many searches an API key may start per minute and per hour.

The counter is Cloudflare's sliding window counter. Time is cut into aligned windows of length W;
each limit keeps two integers, the count of the current window and of the one before, and takes
``previous × (W − elapsed)/W + current`` as its estimate of the last W: it assumes the previous
window's requests were spread evenly. A request of ``cost`` is admitted when the estimate plus
``cost`` stays within the limit N. The comparison is multiplied out and done in integer
milliseconds, so the memory form and the Lua form decide identically.

What that guarantees, precisely (``tests/traffic/test_ratelimit.py`` checks each against arbitrary
arrival patterns with hypothesis):

1. Each decision is exactly the rule above, applied to the admitted history.
2. Every aligned window ``[kW, (k+1)W)`` holds at most N admitted.
3. A span of length W that starts ``a`` into window k holds at most ``N + P_k·a/W`` admitted,
   where ``P_k`` is what window k admitted: always under 2N, and N whenever the previous window
   was quiet. It is *not* true that every span of W holds at most N. A burst at the very end of
   one window is weighed as if spread over it, so the next window can admit early again; that is
   the price of O(1) state, and why the hour limit stands behind the minute one.

All of a request's limits are judged together, in one round trip, and counting is all or nothing:
a refused request counts against none of them. A client hammering a spent minute limit therefore
does not also burn its hour, and the figures it is shown stay true. ``hit`` may carry a store
write to make only if the request is admitted (``then_store``: a cache hit's archived answer), in
the same round trip, with the shared value it refers to (``StoreWrite.needs``: the answer's tail,
stored once) set or kept alive; ``RateDecision.stored`` says whether it was made, and where it
was not (the memory limiter, Redis out of reach, a shared value found missing and not sent) the
caller makes it itself.

On Redis, one hash per limit whose keys share the API key as hash tag (one Cluster slot, so one
script can touch them all), Redis ``TIME`` as the clock. The script goes by EVALSHA over the
store's ``AutoPipeline`` (every hit makes this call, and there redis-py's cost per call was the
largest part of a cache hit's); when Redis answers NOSCRIPT (after a restart or ``SCRIPT FLUSH``)
it is sent once more whole, by EVAL, which also loads it again.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib.resources import files
from typing import Literal, Protocol

from serpgate.errors import RateLimited, ServiceUnavailable
from serpgate.settings import Plan
from serpgate.store.autopipeline import Script
from serpgate.store.base import StoreUnavailable, StoreWrite
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import OnStoreError, StoreHealth

Source = Literal["memory", "redis", "fallback", "open"]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``limit`` cost units per ``window`` seconds; ``name`` is what a 429 calls it."""

    name: str
    limit: int
    window: float
    # The window in the milliseconds Redis counts in: read several times per search, made once.
    window_ms: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "window_ms", round(self.window * 1000))


def plan_limits(plan: Plan) -> tuple[Limit, ...]:
    """The rate limits a plan sets (the monthly quota is ``QuotaMeter``'s business)."""
    return _limits(plan.per_minute, plan.per_hour)


# Made once per plan's figures: every search asks, and plans are few.
@functools.lru_cache(maxsize=256)
def _limits(per_minute: int | None, per_hour: int | None) -> tuple[Limit, ...]:
    candidates = (("minute", per_minute, 60.0), ("hour", per_hour, 3600.0))
    return tuple(Limit(name, n, window) for name, n, window in candidates if n is not None)


@dataclass(frozen=True, slots=True)
class LimitState:
    """One limit's verdict and figures after a request."""

    limit: Limit
    allowed: bool
    remaining: int
    # Seconds until the full allowance is back if nothing more arrives (up to 2W: a request
    # weighs on the estimate until the end of the window after its own).
    reset: float
    # Seconds until this limit would admit the same request; 0 when it does now.
    retry_after: float


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer for all of a request's limits, and what the API layer makes of it."""

    allowed: bool
    states: tuple[LimitState, ...]
    source: Source
    # True when the ``then_store`` write of ``hit`` was made with the decision.
    stored: bool = False

    @property
    def binding(self) -> LimitState | None:
        """The limit to show: the refusing one with the longest wait, else the nearest to spent."""
        refusing = [s for s in self.states if not s.allowed]
        if refusing:
            return max(refusing, key=lambda s: s.retry_after)
        if not self.states:
            return None
        return min(self.states, key=lambda s: (s.remaining, -s.limit.window))

    @property
    def retry_after(self) -> float:
        return max((s.retry_after for s in self.states if not s.allowed), default=0.0)

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` headers (IETF draft) for every response, refused or not."""
        shown = self.binding
        if shown is None:
            return {}
        policy = ", ".join(f"{s.limit.limit};w={math.ceil(s.limit.window)}" for s in self.states)
        return {
            "RateLimit-Limit": str(shown.limit.limit),
            "RateLimit-Remaining": str(shown.remaining),
            "RateLimit-Reset": str(math.ceil(shown.reset)),
            "RateLimit-Policy": policy,
        }

    def error(self) -> RateLimited:
        shown = self.binding
        if shown is None or self.allowed:
            raise ValueError("an admitted request has no rate-limit error")
        window = _describe(shown.limit.window)
        wait = math.ceil(self.retry_after)
        return RateLimited(
            f"Rate limit exceeded: {shown.limit.limit} searches per {window} "
            f"({shown.limit.name} limit); retry in {wait}s",
            retry_after=self.retry_after,
        )

    def raise_if_refused(self) -> None:
        if not self.allowed:
            raise self.error()


class RateLimiter(Protocol):
    async def hit(
        self,
        subject: str,
        limits: Sequence[Limit],
        cost: int = 1,
        *,
        then_store: StoreWrite | None = None,
    ) -> RateDecision:
        """Judge a request of ``cost`` against all ``limits`` of ``subject``; count it if all admit.

        ``cost=0`` reads the live figures without counting anything (for ``/account``). A
        limiter that can (``RedisRateLimiter``) makes ``then_store`` if, and only if, the request
        is admitted, in the same round trip; the decision's ``stored`` says whether it did.
        """


def _describe(window: float) -> str:
    names = {60.0: "minute", 3600.0: "hour", 86400.0: "day"}
    return names.get(window, f"{window:g} seconds")


def _check(limits: Sequence[Limit], cost: int) -> None:
    if cost < 0:
        raise ValueError("cost cannot be negative")
    for limit in limits:
        if cost > limit.limit:
            raise ValueError(f"cost {cost} can never fit the {limit.name} limit of {limit.limit}")


def _admits(limit: Limit, previous: int, current: int, now_ms: int, cost: int) -> bool:
    window = limit.window_ms
    elapsed = now_ms % window
    return previous * (window - elapsed) + (current + cost) * window <= limit.limit * window


def _wait_ms(limit: Limit, previous: int, current: int, now_ms: int, cost: int) -> int:
    """Milliseconds until a refused request of ``cost`` would fit, if nothing else arrives."""
    window, n = limit.window_ms, limit.limit
    elapsed = now_ms % window
    if current + cost <= n:
        # Only the previous window's weight is in the way (so previous > 0); wait for it to fall.
        return window - (n - current - cost) * window // previous - elapsed
    # The current window must become the previous one and decay (current > n - cost >= 0).
    next_offset = window - (n - cost) * window // current
    return window - elapsed + max(0, next_offset)


def _decide(
    limits: Sequence[Limit],
    counts: Sequence[tuple[int, int]],
    now_ms: int,
    cost: int,
    source: Source,
    stored: bool = False,
) -> RateDecision:
    """The decision from the counts as they stood before the request (both forms share this)."""
    fits = [_admits(lim, p, c, now_ms, cost) for lim, (p, c) in zip(limits, counts, strict=True)]
    allowed = all(fits)
    states = []
    for limit, (previous, current), admits in zip(limits, counts, fits, strict=True):
        window = limit.window_ms
        elapsed = now_ms % window
        after = current + cost if allowed else current
        scaled = previous * (window - elapsed) + after * window
        remaining = max(0, (limit.limit * window - scaled) // window)
        if after:
            reset_ms = 2 * window - elapsed
        elif previous:
            reset_ms = window - elapsed
        else:
            reset_ms = 0
        wait = 0 if admits else _wait_ms(limit, previous, current, now_ms, cost)
        states.append(LimitState(limit, admits, remaining, reset_ms / 1000, wait / 1000))
    return RateDecision(allowed, tuple(states), source, stored)


class MemoryRateLimiter:
    """The limiter inside one process: the embedded default, and the fallback while Redis is out."""

    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        # (subject, limit name, window ms) -> (window index, current count, previous count)
        self._counts: dict[tuple[str, str, int], tuple[int, int, int]] = {}

    async def hit(
        self,
        subject: str,
        limits: Sequence[Limit],
        cost: int = 1,
        *,
        then_store: StoreWrite | None = None,
    ) -> RateDecision:
        # No store here: ``then_store`` is left to the caller (``stored`` stays False).
        _check(limits, cost)
        now_ms = round(self._clock() * 1000)
        keys = [(subject, limit.name, limit.window_ms) for limit in limits]
        counts = [self._roll(key, now_ms // key[2]) for key in keys]
        decision = _decide(limits, counts, now_ms, cost, "memory")
        if decision.allowed and cost > 0:
            for key, (previous, current) in zip(keys, counts, strict=True):
                self._counts[key] = (now_ms // key[2], current + cost, previous)
            if len(self._counts) > self._max_keys:
                self._sweep(now_ms)
        return decision

    def _roll(self, key: tuple[str, str, int], index: int) -> tuple[int, int]:
        """(previous, current) as of window ``index``."""
        at, current, previous = self._counts.get(key, (index, 0, 0))
        if at == index:
            return previous, current
        if at == index - 1:
            return current, 0
        return 0, 0

    def _sweep(self, now_ms: int) -> None:
        # Counts older than the previous window no longer weigh on anything.
        dead = [key for key, (at, _, _) in self._counts.items() if at < now_ms // key[2] - 1]
        for key in dead:
            del self._counts[key]


_SCRIPT = Script.of(files("serpgate.traffic").joinpath("ratelimit.lua").read_text(encoding="utf-8"))


class RedisRateLimiter:
    """The limiter every replica shares; one script call per request, whatever the limits.

    While Redis cannot answer, ``on_error`` decides: ``local`` judges with ``fallback`` (this
    process's own counts), ``open`` admits without limits, ``closed`` refuses with 503.
    ``clock`` replaces Redis ``TIME`` (tests drive time with it); production leaves it None.
    """

    def __init__(
        self,
        store: RedisStore,
        health: StoreHealth,
        on_error: OnStoreError = "local",
        fallback: MemoryRateLimiter | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self._health = health
        self._on_error = on_error
        self._fallback = fallback or MemoryRateLimiter()
        self._clock = clock

    def _key(self, subject: str, limit: Limit) -> str:
        # The hash tag {subject} puts all of one key's limits in one Cluster slot.
        return self._store.key(f"rl:{{{subject}}}:{limit.name}:{limit.window_ms}")

    async def hit(
        self,
        subject: str,
        limits: Sequence[Limit],
        cost: int = 1,
        *,
        then_store: StoreWrite | None = None,
    ) -> RateDecision:
        _check(limits, cost)
        if not limits and then_store is None:
            return RateDecision(True, (), "redis")
        keys = [self._key(subject, limit) for limit in limits]
        now = "" if self._clock is None else str(round(self._clock() * 1000))
        args: list[str | int | bytes] = [now, cost, len(limits)]
        for limit in limits:
            args += [limit.limit, limit.window_ms]
        if then_store is not None:
            keys.append(self._store.key(then_store.key))
            args += [then_store.value, max(1, math.ceil(then_store.ttl * 1000))]
            needs = then_store.needs
            if needs is not None:
                keys.append(self._store.key(needs.key))
                args.append(max(1, math.ceil(max(needs.ttl, then_store.ttl) * 1000)))
                if needs.value is not None:
                    args.append(needs.value)
        pipelined, budget = self._store.pipelined, self._health.budget
        try:
            # Within the health budget: the pipeline's deadline watchdog enforces it.
            reply: list[int] = await self._health.call_bounded(
                lambda: pipelined.run(_SCRIPT, keys, args, budget=budget)
            )
        except StoreUnavailable:
            return await self._degraded(subject, limits, cost)
        now_ms = int(reply[0])
        counts = [(int(reply[i]), int(reply[i + 1])) for i in range(2, len(reply), 2)]
        return _decide(limits, counts, now_ms, cost, "redis", stored=reply[1] == 1)

    async def _degraded(self, subject: str, limits: Sequence[Limit], cost: int) -> RateDecision:
        if self._on_error == "open":
            return RateDecision(True, (), "open")
        if self._on_error == "closed":
            raise ServiceUnavailable(
                "Rate limits cannot be checked right now; try again shortly",
                retry_after=self._health.retry_after,
            )
        return replace(await self._fallback.hit(subject, limits, cost), source="fallback")

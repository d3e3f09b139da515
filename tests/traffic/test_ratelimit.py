"""The sliding-window limiter, in memory and on the real Redis, held to its stated guarantees."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serpgate.errors import RateLimited, ServiceUnavailable
from serpgate.settings import DEFAULT_PLANS
from serpgate.store.base import SharedValue, StoreWrite
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import OnStoreError, StoreHealth
from serpgate.traffic.ratelimit import (
    Limit,
    MemoryRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
    plan_limits,
)
from tests.fake_clock import FakeClock
from tests.redis_server import free_port, throwaway_redis, unique_prefix

# A unix time on an hour boundary, so minute and hour windows start together.
HOUR_START = 472_222 * 3600.0

MakeLimiter = Callable[[FakeClock], RateLimiter]


@pytest.fixture
def make_limiter(backend: str, request: pytest.FixtureRequest, health: StoreHealth) -> MakeLimiter:
    if backend == "redis":
        store: RedisStore = request.getfixturevalue("redis_store")
        return lambda clock: RedisRateLimiter(store, health, clock=clock)
    return MemoryRateLimiter


async def hits(limiter: RateLimiter, limits: Sequence[Limit], n: int) -> list[RateDecision]:
    return [await limiter.hit("tenant", limits) for _ in range(n)]


def test_a_plan_sets_a_minute_and_an_hour_limit() -> None:
    minute, hour = plan_limits(DEFAULT_PLANS["developer"])
    assert (minute.name, minute.limit, minute.window) == ("minute", 100, 60.0)
    assert (hour.name, hour.limit, hour.window) == ("hour", 2000, 3600.0)
    assert plan_limits(DEFAULT_PLANS["unlimited"]) == ()


async def test_admits_up_to_the_limit_then_refuses_naming_the_limit(
    make_limiter: MakeLimiter,
) -> None:
    clock = FakeClock(HOUR_START)
    limiter = make_limiter(clock)
    minute = Limit("minute", 5, 60)
    admitted = await hits(limiter, [minute], 5)
    assert all(d.allowed for d in admitted)
    assert [d.states[0].remaining for d in admitted] == [4, 3, 2, 1, 0]

    clock.advance(10)
    refused = await limiter.hit("tenant", [minute])
    assert not refused.allowed
    # The full window must become the previous one and decay to 4/5 weight: 50s + 12s.
    assert refused.retry_after == pytest.approx(62.0)
    assert refused.headers() == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "110",
        "RateLimit-Policy": "5;w=60",
    }
    error = refused.error()
    assert isinstance(error, RateLimited)
    assert error.status_code == 429
    assert error.retry_after == pytest.approx(62.0)
    assert "minute" in error.message
    assert "5 searches per minute" in error.message
    with pytest.raises(RateLimited):
        refused.raise_if_refused()


async def test_retry_after_is_exactly_when_the_request_fits(make_limiter: MakeLimiter) -> None:
    clock = FakeClock(HOUR_START + 40)
    limiter = make_limiter(clock)
    limit = Limit("minute", 4, 60)
    await hits(limiter, [limit], 4)
    clock.advance(30)  # 10s into the next window: previous 4 weigh 4 × 50/60
    refused = await limiter.hit("tenant", [limit])
    assert not refused.allowed
    wait = refused.retry_after
    assert wait > 0
    clock.advance(wait - 0.001)
    assert not (await limiter.hit("tenant", [limit])).allowed
    clock.advance(0.001)
    assert (await limiter.hit("tenant", [limit])).allowed


async def test_the_previous_window_weighs_on_the_current_one(make_limiter: MakeLimiter) -> None:
    clock = FakeClock(HOUR_START + 59)
    limiter = make_limiter(clock)
    limit = Limit("minute", 10, 60)
    assert all(d.allowed for d in await hits(limiter, [limit], 10))
    clock.advance(31)  # 30s into the next window: the previous 10 weigh 5
    later = await hits(limiter, [limit], 6)
    assert [d.allowed for d in later] == [True] * 5 + [False]


async def test_a_refused_request_counts_against_no_limit(make_limiter: MakeLimiter) -> None:
    clock = FakeClock(HOUR_START)
    limiter = make_limiter(clock)
    limits = [Limit("minute", 2, 60), Limit("hour", 100, 3600)]
    assert all(d.allowed for d in await hits(limiter, limits, 2))
    refused = await limiter.hit("tenant", limits)
    assert not refused.allowed
    assert refused.binding is not None
    assert refused.binding.limit.name == "minute"
    assert [s.allowed for s in refused.states] == [False, True]
    figures = await limiter.hit("tenant", limits, cost=0)
    assert figures.states[1].remaining == 98  # two counted, not three
    assert figures.headers()["RateLimit-Policy"] == "2;w=60, 100;w=3600"


async def test_the_headers_show_the_limit_nearest_to_spent(make_limiter: MakeLimiter) -> None:
    clock = FakeClock(HOUR_START)
    limiter = make_limiter(clock)
    limits = [Limit("minute", 10, 60), Limit("hour", 3, 3600)]
    decision = await limiter.hit("tenant", limits)
    assert decision.headers()["RateLimit-Limit"] == "3"
    assert decision.headers()["RateLimit-Remaining"] == "2"


async def test_subjects_do_not_share_limits(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(FakeClock(HOUR_START))
    limit = Limit("minute", 1, 60)
    assert (await limiter.hit("a", [limit])).allowed
    assert (await limiter.hit("b", [limit])).allowed
    assert not (await limiter.hit("a", [limit])).allowed


async def test_a_cost_that_can_never_fit_is_a_programming_error(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(FakeClock(HOUR_START))
    with pytest.raises(ValueError, match="never fit"):
        await limiter.hit("tenant", [Limit("minute", 2, 60)], cost=3)


async def test_a_span_of_one_window_can_hold_more_than_n(make_limiter: MakeLimiter) -> None:
    """The documented limit of the guarantee: a burst at a window's end is weighed as spread out."""
    clock = FakeClock(HOUR_START + 59.9)
    limiter = make_limiter(clock)
    limit = Limit("minute", 10, 60)
    assert sum(d.allowed for d in await hits(limiter, [limit], 10)) == 10
    clock.advance(30.1)  # 30s into the next window, inside the 60s that began with the burst
    assert sum(d.allowed for d in await hits(limiter, [limit], 10)) == 5
    # 15 in one span of 60s, within the stated bound N + P·a/W = 10 + 10 × 59.9/60.


async def test_500_concurrent_requests_get_exactly_n(backend: str, redis_url: str) -> None:
    n, calls = 37, 500
    limit = Limit("minute", n, 60)
    if backend == "memory":
        limiter = MemoryRateLimiter()
        decisions = await asyncio.gather(*(limiter.hit("t", [limit]) for _ in range(calls)))
    else:
        # Five clients, each with its own connection pool, as five replicas would have.
        prefix = unique_prefix()
        stores = [RedisStore.from_url(redis_url, prefix) for _ in range(5)]
        health = StoreHealth(timeout=10.0)
        limiters = [RedisRateLimiter(s, health) for s in stores]
        try:
            decisions = await asyncio.gather(
                *(limiters[i % 5].hit("t", [limit]) for i in range(calls))
            )
        finally:
            await stores[0].client.delete(
                *[k async for k in stores[0].client.scan_iter(f"{prefix}:*")]
            )
            for s in stores:
                await s.close()
        assert {d.source for d in decisions} == {"redis"}
    assert sum(d.allowed for d in decisions) == n


# ---- the guarantee, on arbitrary arrival patterns --------------------------------------------


def model_admits(history: list[tuple[int, int]], limit: Limit, t: int, cost: int) -> bool:
    """The rule, straight from the admitted history (not from any rolling counters)."""
    w = limit.window_ms
    index, elapsed = divmod(t, w)
    previous = sum(c for at, c in history if at // w == index - 1)
    current = sum(c for at, c in history if at // w == index)
    return previous * (w - elapsed) + (current + cost) * w <= limit.limit * w


def check_guarantees(limits: list[Limit], results: list[tuple[int, int, RateDecision]]) -> None:
    history: list[tuple[int, int]] = []
    for t, cost, decision in results:
        # 1. Each decision is the rule, for every limit at once, counted all or nothing.
        fits = [model_admits(history, limit, t, cost) for limit in limits]
        assert [s.allowed for s in decision.states] == fits
        assert decision.allowed == all(fits)
        for limit, state in zip(limits, decision.states, strict=True):
            assert state.remaining >= 0
            if not state.allowed:
                # retry_after is exact: the request fits then and not a millisecond before.
                wait = round(state.retry_after * 1000)
                assert wait > 0
                assert model_admits(history, limit, t + wait, cost)
                assert not model_admits(history, limit, t + wait - 1, cost)
        if decision.allowed:
            history.append((t, cost))
    for limit in limits:
        w, n = limit.window_ms, limit.limit
        per_window: dict[int, int] = {}
        for at, cost in history:
            per_window[at // w] = per_window.get(at // w, 0) + cost
        # 2. Every aligned window holds at most N.
        assert max(per_window.values(), default=0) <= n
        # 3. A span of W starting a into window k holds at most N + P_k·a/W (< 2N).
        for start, _ in history:
            k, a = divmod(start, w)
            in_span = sum(c for at, c in history if start <= at < start + w)
            assert in_span * w <= n * w + per_window.get(k, 0) * a
            assert in_span < 2 * n


limit_specs = st.lists(
    st.tuples(st.integers(1, 12), st.sampled_from([1000, 3000])),
    min_size=1,
    max_size=2,
    unique_by=lambda spec: spec[1],
)
# Gaps in ms: bursts, dense traffic and pauses of more than a window, mixed.
gaps = st.one_of(st.just(0), st.integers(0, 60), st.integers(0, 1500))
arrival_patterns = st.lists(st.tuples(gaps, st.integers(1, 2)), min_size=10, max_size=80)


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_every_arrival_pattern_keeps_the_stated_guarantees(
    kind: str, request: pytest.FixtureRequest, key_prefix: str
) -> None:
    clock = FakeClock(0.0)
    with asyncio.Runner() as runner:
        store: RedisStore | None = None
        limiter: RateLimiter
        if kind == "redis":
            store = RedisStore.from_url(request.getfixturevalue("redis_url"), key_prefix)
            limiter = RedisRateLimiter(store, StoreHealth(timeout=10.0), clock=clock)
        else:
            limiter = MemoryRateLimiter(clock)

        async def drive(
            limits: list[Limit], start: int, arrivals: list[tuple[int, int]]
        ) -> list[tuple[int, int, RateDecision]]:
            subject, t, results = uuid.uuid4().hex, start, []
            for gap, cost in arrivals:
                t += gap
                clock.now = t / 1000
                cost = min(cost, *(limit.limit for limit in limits))
                results.append((t, cost, await limiter.hit(subject, limits, cost)))
            return results

        @settings(
            max_examples=150 if kind == "memory" else 40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(specs=limit_specs, start=st.integers(0, 10**9), arrivals=arrival_patterns)
        def run(specs: list[tuple[int, int]], start: int, arrivals: list[tuple[int, int]]) -> None:
            limits = [Limit(f"w{w}", n, w / 1000) for n, w in specs]
            results = runner.run(drive(limits, start, arrivals))
            assert {decision.source for _, _, decision in results} <= {kind}
            check_guarantees(limits, results)

        try:
            run()
        finally:
            if store is not None:
                runner.run(_drop(store, key_prefix))


async def _drop(store: RedisStore, prefix: str) -> None:
    keys = [k async for k in store.client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await store.client.delete(*keys)
    await store.close()


# ---- a write admitted with the request ------------------------------------------------------


async def test_redis_makes_the_write_with_the_admission_and_never_for_a_refusal(
    redis_store: RedisStore, health: StoreHealth
) -> None:
    limiter = RedisRateLimiter(redis_store, health, clock=FakeClock(HOUR_START))
    limit = Limit("minute", 2, 60)
    writes = [StoreWrite(f"search:{{t}}:{i}", b'{"n": %d}' % i, 30.0) for i in range(3)]
    decisions = [await limiter.hit("t", [limit], then_store=w) for w in writes]
    assert [(d.allowed, d.stored) for d in decisions] == [
        (True, True),
        (True, True),
        (False, False),
    ]
    assert [await redis_store.get(w.key) for w in writes] == [b'{"n": 0}', b'{"n": 1}', None]
    ttl_ms = await redis_store.client.pttl(redis_store.key(writes[0].key))
    assert 25_000 < ttl_ms <= 30_000
    # The figures are those of a hit without a write: the write is not counted as a request.
    assert decisions[1].states[0].remaining == 0


async def test_redis_makes_the_write_for_a_plan_without_limits(
    redis_store: RedisStore, health: StoreHealth
) -> None:
    limiter = RedisRateLimiter(redis_store, health)
    decision = await limiter.hit("t", [], then_store=StoreWrite("w", b"x", 5.0))
    assert (decision.allowed, decision.stored) == (True, True)
    assert await redis_store.get("w") == b"x"


async def test_a_write_needing_a_missing_shared_value_not_sent_is_not_made(
    redis_store: RedisStore, health: StoreHealth
) -> None:
    limiter = RedisRateLimiter(redis_store, health, clock=FakeClock(HOUR_START))
    limit = Limit("minute", 5, 60)
    needs = SharedValue("tail:{t}:d", None, 60.0)
    missing = await limiter.hit("t", [limit], then_store=StoreWrite("r1", b"@d\nh", 30.0, needs))
    # Admitted and counted, but nothing written: a record never points at a missing value.
    assert (missing.allowed, missing.stored, missing.states[0].remaining) == (True, False, 4)
    assert await redis_store.get("r1") is None
    assert await redis_store.get("tail:{t}:d") is None
    sent = SharedValue("tail:{t}:d", b"tail", 60.0)
    made = await limiter.hit("t", [limit], then_store=StoreWrite("r2", b"@d\nh", 30.0, sent))
    assert made.stored
    assert (await redis_store.get("r2"), await redis_store.get("tail:{t}:d")) == (b"@d\nh", b"tail")
    ttl_ms = await redis_store.client.pttl(redis_store.key("tail:{t}:d"))
    assert 55_000 < ttl_ms <= 60_000
    # Now present, the key alone is enough.
    again = await limiter.hit("t", [limit], then_store=StoreWrite("r3", b"@d\nh", 30.0, needs))
    assert again.stored
    assert await redis_store.get("r3") == b"@d\nh"


async def test_a_shared_values_expiry_is_raised_to_outlive_the_write_never_lowered(
    redis_store: RedisStore, health: StoreHealth
) -> None:
    limiter = RedisRateLimiter(redis_store, health, clock=FakeClock(HOUR_START))
    shared = redis_store.key("tail:{t}:d")
    await redis_store.set("tail:{t}:d", b"tail", ttl=2.0)
    # A shared ttl shorter than the write's own still keeps it past the write.
    needs = SharedValue("tail:{t}:d", None, 10.0)
    await limiter.hit("t", [], then_store=StoreWrite("r1", b"x", 40.0, needs))
    assert 35_000 < await redis_store.client.pttl(shared) <= 40_000
    await redis_store.client.pexpire(shared, 500_000)
    sent = SharedValue("tail:{t}:d", b"other", 60.0)
    await limiter.hit("t", [], then_store=StoreWrite("r2", b"x", 40.0, sent))
    assert await redis_store.client.pttl(shared) > 400_000
    # A present value is not overwritten by one sent again.
    assert await redis_store.get("tail:{t}:d") == b"tail"


async def test_without_redis_the_write_is_left_to_the_caller(dead_redis: RedisStore) -> None:
    write = StoreWrite("w", b"x", 5.0)
    memory = await MemoryRateLimiter().hit("t", [Limit("minute", 2, 60)], then_store=write)
    assert (memory.allowed, memory.stored) == (True, False)
    fallback = RedisRateLimiter(dead_redis, StoreHealth(timeout=1.0))
    degraded = await fallback.hit("t", [Limit("minute", 2, 60)], then_store=write)
    assert (degraded.allowed, degraded.stored, degraded.source) == (True, False, "fallback")


# ---- Redis trouble -----------------------------------------------------------------------------


async def test_the_script_survives_script_flush_and_a_restart() -> None:
    port = free_port()
    limit = Limit("minute", 100, 60)
    with throwaway_redis(port) as url:
        store = RedisStore.from_url(url, "t")
        limiter = RedisRateLimiter(store, StoreHealth(timeout=5.0, cooldown=0.05))
        assert (await limiter.hit("k", [limit])).source == "redis"
        await store.client.script_flush()  # the next EVALSHA answers NOSCRIPT
        after_flush = await limiter.hit("k", [limit])
        assert after_flush.source == "redis"
        assert after_flush.states[0].remaining == 98
    with throwaway_redis(port):
        # A new server knows no scripts and the pooled connections are dead; both heal.
        for _ in range(100):
            decision = await limiter.hit("k", [limit])
            if decision.source == "redis":
                break
            await asyncio.sleep(0.05)
        assert decision.source == "redis"
        assert decision.states[0].remaining == 99  # a fresh server: only this request
    await store.close()


@pytest.mark.parametrize(
    ("mode", "allowed"), [("local", [True, True, False]), ("open", [True] * 3)]
)
async def test_with_redis_down_limits_fall_back_as_configured(
    dead_redis: RedisStore, mode: OnStoreError, allowed: list[bool]
) -> None:
    health = StoreHealth(timeout=1.0)
    limiter = RedisRateLimiter(dead_redis, health, on_error=mode)
    decisions = await hits(limiter, [Limit("minute", 2, 60)], 3)
    assert [d.allowed for d in decisions] == allowed
    assert {d.source for d in decisions} == {"fallback" if mode == "local" else "open"}
    assert not health.up
    if mode == "open":
        assert decisions[0].headers() == {}


async def test_with_redis_down_limits_can_fail_closed(dead_redis: RedisStore) -> None:
    limiter = RedisRateLimiter(dead_redis, StoreHealth(timeout=1.0), on_error="closed")
    with pytest.raises(ServiceUnavailable) as refused:
        await limiter.hit("tenant", [Limit("minute", 2, 60)])
    assert refused.value.status_code == 503
    assert refused.value.retry_after > 0

"""The per-key cap on searches in flight, in memory and on the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from serpgate.errors import RateLimited, ServiceUnavailable
from serpgate.store.redis import RedisStore
from serpgate.traffic.concurrency import (
    ConcurrencyLimiter,
    MemoryConcurrencyLimiter,
    RedisConcurrencyLimiter,
)
from serpgate.traffic.health import OnStoreError, StoreHealth
from tests.fake_clock import FakeClock
from tests.redis_server import unique_prefix

MakeCap = Callable[[FakeClock, float], ConcurrencyLimiter]


@pytest.fixture
def make_cap(backend: str, request: pytest.FixtureRequest, health: StoreHealth) -> MakeCap:
    if backend == "redis":
        store: RedisStore = request.getfixturevalue("redis_store")
        return lambda clock, ttl: RedisConcurrencyLimiter(store, health, ttl, clock=clock)
    return lambda clock, ttl: MemoryConcurrencyLimiter(ttl, clock)


async def test_a_key_holds_at_most_its_limit_of_slots(make_cap: MakeCap, clock: FakeClock) -> None:
    cap = make_cap(clock, 60.0)
    first, second = cap.slot("t", 2), cap.slot("t", 2)
    await first.__aenter__()
    await second.__aenter__()
    with pytest.raises(RateLimited) as refused:
        async with cap.slot("t", 2):
            pass
    assert refused.value.status_code == 429
    assert "at most 2 at once" in refused.value.message
    assert await cap.in_flight("t") == 2
    async with cap.slot("other", 2):
        assert await cap.in_flight("other") == 1
    await first.__aexit__(None, None, None)
    async with cap.slot("t", 2):
        assert await cap.in_flight("t") == 2
    await second.__aexit__(None, None, None)
    assert await cap.in_flight("t") == 0


async def test_the_slot_comes_back_on_errors_and_cancellation(
    make_cap: MakeCap, clock: FakeClock
) -> None:
    cap = make_cap(clock, 60.0)
    with pytest.raises(KeyError):
        async with cap.slot("t", 1):
            raise KeyError("boom")
    assert await cap.in_flight("t") == 0

    entered = asyncio.Event()

    async def slow_search() -> None:
        async with cap.slot("t", 1):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(slow_search())
    await entered.wait()
    assert await cap.in_flight("t") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.01)  # the shielded release
    assert await cap.in_flight("t") == 0


async def test_a_crashed_replicas_slots_expire_after_ttl(
    make_cap: MakeCap, clock: FakeClock
) -> None:
    cap = make_cap(clock, 30.0)
    crashed = cap.slot("t", 1)
    await crashed.__aenter__()  # and never leaves
    with pytest.raises(RateLimited):
        await cap.slot("t", 1).__aenter__()
    clock.advance(30.001)
    async with cap.slot("t", 1):
        assert await cap.in_flight("t") == 1


async def test_no_limit_means_no_cap(make_cap: MakeCap, clock: FakeClock) -> None:
    cap = make_cap(clock, 60.0)
    async with cap.slot("t", None), cap.slot("t", None):
        assert await cap.in_flight("t") == 0


async def test_replicas_share_the_cap(redis_url: str) -> None:
    limit, searches = 5, 60
    prefix = unique_prefix()
    stores = [RedisStore.from_url(redis_url, prefix) for _ in range(3)]
    health = StoreHealth(timeout=10.0)
    caps = [RedisConcurrencyLimiter(s, health) for s in stores]
    running, peak, admitted, tried = 0, 0, 0, 0
    everyone_tried = asyncio.Event()

    def one_more_tried() -> None:
        nonlocal tried
        tried += 1
        if tried == searches:
            everyone_tried.set()

    async def search(i: int) -> None:
        nonlocal running, peak, admitted
        try:
            async with caps[i % 3].slot("t", limit):
                running += 1
                admitted += 1
                peak = max(peak, running)
                one_more_tried()
                # Slots are held until every search has tried for one.
                await everyone_tried.wait()
                running -= 1
        except RateLimited:
            one_more_tried()

    try:
        await asyncio.gather(*(search(i) for i in range(searches)))
    finally:
        for s in stores:
            await s.close()
    assert peak == limit
    assert admitted == limit  # the 55 others were turned away


@pytest.mark.parametrize("mode", ["local", "open"])
async def test_with_redis_down_the_cap_falls_back(
    dead_redis: RedisStore, mode: OnStoreError
) -> None:
    cap = RedisConcurrencyLimiter(dead_redis, StoreHealth(timeout=1.0), on_error=mode)
    async with cap.slot("t", 1):
        if mode == "local":
            with pytest.raises(RateLimited):
                await cap.slot("t", 1).__aenter__()
        else:
            async with cap.slot("t", 1):
                pass
    async with cap.slot("t", 1):
        pass  # the fallback's slot was given back to the fallback


async def test_with_redis_down_the_cap_can_fail_closed(dead_redis: RedisStore) -> None:
    cap = RedisConcurrencyLimiter(dead_redis, StoreHealth(timeout=1.0), on_error="closed")
    with pytest.raises(ServiceUnavailable):
        await cap.slot("t", 1).__aenter__()

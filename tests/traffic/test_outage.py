"""Redis trouble, end to end on a real server that the test stops and starts again.

The whole traffic layer keeps answering while Redis is gone (limits fall back to local counts,
cache reads miss, quotas admit, coalescing stays in-process), raises nothing Redis could have
avoided, and goes back to Redis by itself when it returns. Scripts survive ``SCRIPT FLUSH``.
"""

from __future__ import annotations

import asyncio

from serpgate.settings import Plan, RedisHealthSettings, TrafficSettings
from serpgate.store.redis import RedisStore
from serpgate.traffic.layer import TrafficLayer
from serpgate.traffic.ratelimit import Limit
from tests.redis_server import free_port, throwaway_redis

SETTINGS = TrafficSettings(redis=RedisHealthSettings(timeout=0.5, cooldown=0.1))
LIMITS = [Limit("minute", 100, 60)]
PLAN = Plan(name="Small", per_minute=100, per_month=1000)


class Engine:
    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(0.05)
        return b"answer"


async def until_redis_answers(layer: TrafficLayer) -> None:
    for _ in range(100):
        if (await layer.limiter.hit("k", LIMITS, cost=0)).source == "redis":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the layer never went back to Redis")


async def test_the_traffic_layer_rides_out_a_redis_outage() -> None:
    port, engine = free_port(), Engine()
    with throwaway_redis(port) as url:
        store = RedisStore.from_url(url, "t", timeout=0.5)
        layer = TrafficLayer.build(SETTINGS, store)
        assert (await layer.limiter.hit("k", LIMITS)).source == "redis"
        assert (await layer.answers.get("cache:bing:{a}", engine.fetch)).origin == "fetch"
        await layer.quota.record("k")
        assert layer.snapshot()["redis"] == {
            "status": "up",
            "down_for": None,
            "last_error": None,
            "failures": 0,
        }

    # Redis is gone: everything still answers.
    decision = await layer.limiter.hit("k", LIMITS)
    assert (decision.allowed, decision.source) == (True, "fallback")
    assert decision.headers()["RateLimit-Limit"] == "100"
    await layer.quota.check("k", PLAN)
    await layer.quota.record("k")
    async with layer.in_flight.slot("k", 2):
        results = await asyncio.gather(
            *(layer.answers.get("cache:bing:{b}", engine.fetch) for _ in range(20))
        )
    assert {r.body for r in results} == {b"answer"}
    assert engine.calls == 2  # one for {a} before, one shared by the twenty for {b}
    snapshot = layer.snapshot()["redis"]
    assert isinstance(snapshot, dict)
    assert snapshot["status"] == "down"

    with throwaway_redis(port):
        await until_redis_answers(layer)
        assert layer.health.up
        assert (await layer.answers.get("cache:bing:{c}", engine.fetch)).origin == "fetch"
        stored = await layer.cache.get("cache:bing:{c}", local=False)
        assert stored is not None  # written to the new server
        usage = await layer.quota.usage("k", PLAN)
        assert usage.this_month == 0  # the new server is empty; the outage's count was dropped
        await layer.aclose()
        await store.close()


async def test_every_script_survives_script_flush() -> None:
    with throwaway_redis() as url:
        store = RedisStore.from_url(url, "t")
        layer = TrafficLayer.build(SETTINGS, store)
        engine = Engine()
        await layer.limiter.hit("k", LIMITS)
        await layer.answers.get("cache:bing:{a}", engine.fetch)
        async with layer.in_flight.slot("k", 1):
            pass
        await store.client.script_flush()
        assert (await layer.limiter.hit("k", LIMITS)).source == "redis"
        async with layer.in_flight.slot("k", 1):
            assert await layer.in_flight.in_flight("k") == 1
        assert (await layer.answers.get("cache:bing:{b}", engine.fetch)).origin == "fetch"
        assert layer.health.up
        assert layer.health.failures == 0
        await layer.aclose()
        await store.close()

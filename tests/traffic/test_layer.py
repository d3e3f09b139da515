"""``TrafficLayer``: the parts built together, used in the order the search pipeline uses them."""

from __future__ import annotations

import asyncio

import pytest

from serpgate.errors import QuotaExceeded, RateLimited
from serpgate.models.params import SearchParams
from serpgate.settings import Plan, TrafficSettings
from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.traffic.cache import cache_key
from serpgate.traffic.layer import TrafficLayer
from serpgate.traffic.ratelimit import plan_limits
from serpgate.traffic.readthrough import Served

PLAN = Plan(name="Tiny", per_minute=3, per_hour=100, per_month=2)


async def search(layer: TrafficLayer, params: SearchParams, calls: list[str]) -> Served:
    """The admission and cache steps of the pipeline, as the lead wires them."""
    decision = await layer.limiter.hit("tenant", plan_limits(PLAN))
    decision.raise_if_refused()
    await layer.quota.check("tenant", PLAN)

    async def fetch() -> bytes:
        calls.append(params.q)
        await asyncio.sleep(0.01)
        return b'{"organic_results": []}'

    served = await layer.answers.get(
        cache_key(params),
        fetch,
        refresh=params.no_cache,
        admit=layer.in_flight.slot("tenant", layer.in_flight_per_key),
    )
    if served.fetched:
        await layer.quota.record("tenant")
    return served


async def test_the_layer_admits_caches_and_charges_in_order(store: Store, backend: str) -> None:
    layer = TrafficLayer.build(TrafficSettings(), store)
    assert (layer.leases is None) == (backend == "memory")
    calls: list[str] = []
    coffee = SearchParams(engine="bing", q="coffee")
    assert (await search(layer, coffee, calls)).origin == "fetch"
    assert (await search(layer, coffee, calls)).origin == "cache"  # free: quota untouched
    assert (await search(layer, SearchParams(engine="bing", q="tea"), calls)).fetched
    with pytest.raises(RateLimited):  # the fourth search this minute
        await search(layer, coffee, calls)
    assert calls == ["coffee", "tea"]
    usage = await layer.quota.usage("tenant", PLAN)
    assert (usage.this_month, usage.month_remaining) == (2, 0)
    figures = await layer.limiter.hit("tenant", plan_limits(PLAN), cost=0)
    assert figures.headers()["RateLimit-Remaining"] == "0"
    assert layer.snapshot()["redis"] == {
        "status": "up",
        "down_for": None,
        "last_error": None,
        "failures": 0,
    }
    await layer.aclose()


async def test_a_spent_quota_refuses_before_any_work() -> None:
    layer = TrafficLayer.build(TrafficSettings(), MemoryStore())
    await layer.quota.record("tenant", 2)
    calls: list[str] = []
    with pytest.raises(QuotaExceeded):
        await search(layer, SearchParams(engine="bing", q="coffee"), calls)
    assert calls == []
    await layer.aclose()

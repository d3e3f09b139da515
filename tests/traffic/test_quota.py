"""Monthly quotas and usage figures, on the memory store and on the real Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from serpgate.errors import QuotaExceeded, ServiceUnavailable
from serpgate.settings import Plan
from serpgate.store.base import Store
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.quota import QuotaMeter
from tests.fake_clock import FakeClock

SMALL = Plan(name="Small", per_minute=10, per_month=3)
UNLIMITED = Plan(name="Unlimited")
# 2024-03-31 23:30 UTC: half an hour before a month ends.
MONTH_END = datetime(2024, 3, 31, 23, 30, tzinfo=UTC).timestamp()


async def test_searches_count_per_hour_and_month(
    store: Store, health: StoreHealth, clock: FakeClock
) -> None:
    clock.now = MONTH_END - 3600
    meter = QuotaMeter(store, health, clock=clock)
    await meter.record("t")
    await meter.record("t")
    clock.advance(3600)
    await meter.record("t")
    usage = await meter.usage("t", SMALL)
    assert (usage.this_hour, usage.last_hour, usage.this_month) == (1, 2, 3)
    assert usage.month_remaining == 0
    assert usage.month_resets_at == datetime(2024, 4, 1, tzinfo=UTC)
    assert usage.as_dict()["plan_searches_left"] == 0
    other = await meter.usage("someone else", SMALL)
    assert other.this_month == 0


async def test_a_spent_quota_refuses_with_402_until_the_month_turns(
    store: Store, health: StoreHealth, clock: FakeClock
) -> None:
    clock.now = MONTH_END
    meter = QuotaMeter(store, health, clock=clock)
    for _ in range(2):
        await meter.check("t", SMALL)
        await meter.record("t")
    await meter.check("t", SMALL)
    await meter.record("t")
    with pytest.raises(QuotaExceeded) as refused:
        await meter.check("t", SMALL)
    assert refused.value.status_code == 402
    assert "3 searches this month are used up" in refused.value.message
    assert "2024-04-01" in refused.value.message
    clock.advance(3600)  # April
    await meter.check("t", SMALL)
    assert (await meter.usage("t", SMALL)).this_month == 0


async def test_an_unlimited_plan_is_never_refused(
    store: Store, health: StoreHealth, clock: FakeClock
) -> None:
    meter = QuotaMeter(store, health, clock=clock)
    await meter.record("t", 1000)
    await meter.check("t", UNLIMITED)
    usage = await meter.usage("t", UNLIMITED)
    assert (usage.this_month, usage.month_remaining) == (1000, None)


async def test_quota_keys_share_one_cluster_slot(redis_store: RedisStore, clock: FakeClock) -> None:
    meter = QuotaMeter(redis_store, StoreHealth(timeout=5.0), clock=clock)
    await meter.record("tenant-1")
    keys = [k.decode() async for k in redis_store.client.scan_iter(match=f"{redis_store.prefix}*")]
    assert len(keys) == 2
    assert all("quota:{tenant-1}:" in key for key in keys)


async def test_with_redis_down_the_quota_admits_and_usage_says_so(dead_redis: RedisStore) -> None:
    meter = QuotaMeter(dead_redis, StoreHealth(timeout=1.0))
    await meter.check("t", SMALL)
    await meter.record("t")
    with pytest.raises(ServiceUnavailable):
        await meter.usage("t", SMALL)


async def test_with_redis_down_a_closed_quota_refuses_with_503(dead_redis: RedisStore) -> None:
    meter = QuotaMeter(dead_redis, StoreHealth(timeout=1.0), on_error="closed")
    with pytest.raises(ServiceUnavailable):
        await meter.check("t", SMALL)

"""The capacity model, and the pool saying when it is saturated, on a fake clock."""

from __future__ import annotations

import math
import random

import pytest

from serpgate.errors import ServiceUnavailable
from serpgate.settings import ProxySettings
from serpgate.upstream.capacity import exits_needed, sustainable_rate
from serpgate.upstream.proxies import Exit, ProxyPool
from tests.fake_clock import FakeClock
from tests.upstream.test_fetcher import page, rig

EXITS = [Exit.proxy(f"http://127.0.0.{n}:3128") for n in range(2, 12)]


def test_the_model_by_littles_law() -> None:
    # 70 good exits, a flag in a hundred requests, five-minute bans: 23 searches a second.
    assert sustainable_rate(70, 0.01, 300) == pytest.approx(23.33, abs=0.01)
    assert sustainable_rate(7, 0.01, 300) == pytest.approx(2.33, abs=0.01)
    assert sustainable_rate(7, 0.0, 300) == math.inf
    # 10 a second: 30 exits banned at any moment, and one more to carry it under 20/s each.
    assert exits_needed(10, 0.01, 300, per_exit_limit=20) == 31
    assert exits_needed(10, 0.01, 600, per_exit_limit=20) == 61


def test_the_pool_reports_ban_rate_length_and_demand() -> None:
    clock = FakeClock()
    pool = ProxyPool(EXITS, ProxySettings(rest_initial=60), clock, random.Random(1))
    assert pool.capacity("bing")["ban_rate"] is None  # nothing seen yet
    for via in EXITS:
        pool.record_success(pool.begin(via, "bing"), 0.05)
    for n in range(400):
        via = pool.choose("bing").via
        lease = pool.begin(via, "bing")
        if n % 100 == 99:  # one ban in a hundred requests, on exits that had pages
            pool.record_block(lease)
        else:
            pool.record_success(lease, 0.05)
        clock.advance(0.1)
    capacity = pool.capacity("bing")
    assert capacity["exits"] == 10
    assert capacity["ban_rate"] == pytest.approx(4 / 410, rel=0.1)
    assert capacity["ban_length"] == 60
    assert capacity["sustainable_rate"] == pytest.approx(10 / (4 / 410 * 60), rel=0.1)
    assert capacity["demand"] == pytest.approx(10, rel=0.3)  # ten a second, lately


def test_over_capacity_with_the_exits_nearly_gone_the_pool_is_saturated() -> None:
    clock = FakeClock()
    pool = ProxyPool(EXITS, ProxySettings(rest_initial=60), clock, random.Random(1))
    for via in EXITS:
        pool.record_success(pool.begin(via, "bing"), 0.05)
    assert pool.saturated("bing") is None
    # Fifty requests a second, and every one of the first nine exits banned in turn.
    for via in EXITS[:9]:
        for _ in range(5):
            pool.record_success(pool.begin(via, "bing"), 0.05)
        pool.record_block(pool.begin(via, "bing"))
        clock.advance(0.1)
    capacity = pool.capacity("bing")
    assert capacity["sustainable_rate"] is not None
    assert capacity["demand"] > capacity["sustainable_rate"]
    wait = pool.saturated("bing")
    assert wait is not None
    assert 59 < wait <= 60  # the first banned exit is back in about a minute
    # With room left (a reserve of half the exits), the pool is not saturated.
    roomy = ProxyPool(EXITS, ProxySettings(saturation_reserve=0.05), clock, random.Random(1))
    assert roomy.saturated("bing") is None


async def test_a_saturated_pool_fails_searches_fast_with_503() -> None:
    r = rig(page(), exits=EXITS, proxies=ProxySettings(rest_initial=60))
    pool = r.pool
    for via in EXITS:
        pool.record_success(pool.begin(via, "stub"), 0.05)
    for via in EXITS[:9]:
        for _ in range(5):
            pool.record_success(pool.begin(via, "stub"), 0.05)
        pool.record_block(pool.begin(via, "stub"))
        r.clock.advance(0.1)
    with pytest.raises(ServiceUnavailable, match="pool saturated for stub") as caught:
        await r.fetch()
    assert 59 < caught.value.retry_after <= 60
    assert r.transport.calls == []

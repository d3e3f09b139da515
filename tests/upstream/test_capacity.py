"""The capacity model, and the pool saying when it is saturated, on a fake clock."""

from __future__ import annotations

import math
import random

import pytest

from serpgate.errors import ServiceUnavailable
from serpgate.settings import ProxySettings
from serpgate.upstream.capacity import RENEWAL, all_out, exits_needed, sustainable_rate
from serpgate.upstream.proxies import CAPACITY_WINDOW, Exit, ProxyPool
from tests.fake_clock import FakeClock
from tests.upstream.test_fetcher import page, rig

EXITS = [Exit.proxy(f"http://127.0.0.{n}:3128") for n in range(2, 12)]


def test_erlangs_loss_formula() -> None:
    # B(1, A) = A / (1 + A); B(2, 1) = (1/2) / (1 + 1 + 1/2); the textbook's table for ten
    # servers: 3.09 erlangs lose 0.1%, 4.46 lose 1%.
    assert all_out(1, 1.0) == pytest.approx(0.5)
    assert all_out(1, 3.0) == pytest.approx(0.75)
    assert all_out(2, 1.0) == pytest.approx(0.2)
    assert all_out(10, 3.09) == pytest.approx(0.001, rel=0.02)
    assert all_out(10, 4.46) == pytest.approx(0.01, rel=0.02)
    assert all_out(0, 5.0) == 1.0  # no exits: always all out


def test_the_model_keeps_all_exits_out_one_time_in_a_thousand() -> None:
    # 7 good exits, a flag in a hundred requests, ten minutes out a ban (five-minute bans,
    # renewed by probes): all 7 out 0.1% of the time at 1.58 out on average, 0.26 a second.
    rate = sustainable_rate(7, 0.01, 600)
    assert rate == pytest.approx(1.58 / 6, rel=0.01)
    assert all_out(7, rate * 0.01 * 600) == pytest.approx(0.001, rel=0.01)
    # A big pool runs closer to all its exits: 140 sustain 110.9 out on average (79%), not 22%.
    assert sustainable_rate(140, 0.01, 600) == pytest.approx(110.9 / 6, rel=0.01)
    # A looser target allows more: 1% lost at 2.50 out on average.
    assert sustainable_rate(7, 0.01, 600, success=0.99) == pytest.approx(2.50 / 6, rel=0.01)
    assert sustainable_rate(7, 0.0, 600) == math.inf


def test_exits_needed_for_a_rate() -> None:
    # 10 a second, ten minutes out a ban: 60 exits out on average; 83 keep all of them out no
    # more than 0.1% of the time (82 would not), and one more carries 10/s under 20/s each.
    assert exits_needed(10, 0.01, 600, per_exit_limit=20) == 84
    assert all_out(83, 60) <= 0.001 < all_out(82, 60)
    assert exits_needed(10, 0.01, 300, per_exit_limit=20) == 48
    assert exits_needed(0, 0.01, 600, per_exit_limit=20) == 0
    # What it gives, it sustains.
    assert sustainable_rate(83, 0.01, 600) >= 10 > sustainable_rate(82, 0.01, 600)


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
    # No ban has ended yet: each is taken to keep its exit out RENEWAL x the rest.
    assert capacity["out_time"] == RENEWAL * 60
    rate = capacity["sustainable_rate"]
    assert rate is not None
    assert all_out(10, rate * 4 / 410 * RENEWAL * 60) == pytest.approx(0.001, rel=0.2)
    assert capacity["demand"] == pytest.approx(10, rel=0.3)  # ten a second, lately


def test_the_pool_measures_how_long_a_ban_keeps_its_exit_out() -> None:
    clock = FakeClock()
    pool = ProxyPool(EXITS, ProxySettings(rest_initial=60), clock, random.Random(1))
    via = EXITS[0]
    pool.record_success(pool.begin(via, "bing"), 0.05)
    pool.record_block(pool.begin(via, "bing"))  # banned: rests 60 s
    clock.advance(60)
    pool.record_block(pool.begin(via, "bing"))  # the probe renewed the ban: rests 120 s more
    clock.advance(120)
    pool.record_success(pool.begin(via, "bing"), 0.05)  # back after 180 s in all
    assert pool.capacity("bing")["out_time"] == 180
    # A second ban, out for the learnt rest alone (120 x 3/4 = 90 s): the mean of the two, the
    # first faded by the 90 s since.
    pool.record_block(pool.begin(via, "bing"))
    clock.advance(90)
    pool.record_success(pool.begin(via, "bing"), 0.05)
    faded = math.exp(-90 / CAPACITY_WINDOW)
    mean = (180 * faded + 90) / (faded + 1)
    assert pool.capacity("bing")["out_time"] == pytest.approx(mean, abs=0.1)


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


def test_between_the_sustainable_rate_and_the_ceiling_the_pool_is_not_saturated() -> None:
    clock = FakeClock()
    pool = ProxyPool(EXITS, ProxySettings(rest_initial=60), clock, random.Random(1))
    for n in range(600):  # two a second for five minutes
        pool.record_success(pool.begin(EXITS[n % 10], "bing"), 0.05)
        clock.advance(0.5)
    for via in EXITS[:9]:  # nine bans: one exit left
        pool.record_block(pool.begin(via, "bing"))
    capacity = pool.capacity("bing")
    rate, ceiling = capacity["sustainable_rate"], capacity["ceiling"]
    assert rate is not None
    assert ceiling is not None
    assert rate < capacity["demand"] < ceiling
    assert pool.saturated("bing") is None


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

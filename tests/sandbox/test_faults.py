"""Fault profiles: the injector's decisions on a fake clock, then each fault over real sockets."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from pydantic import ValidationError

from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.faults import (
    PROFILES,
    BanRule,
    Fault,
    FaultInjector,
    FaultProfile,
    fault_profile,
)
from serpgate.sandbox.server import create_sandbox_app
from tests.fake_clock import FakeClock

BANNING = FaultProfile(ban_after=3, ban_window=10, ban_for=30)


# Profiles


def test_named_profiles_and_overrides() -> None:
    assert set(PROFILES) == {"calm", "hostile"}
    assert fault_profile("calm") == FaultProfile(name="calm")
    hostile = fault_profile("hostile", error_rate=0.5, seed=9)
    assert hostile.error_rate == 0.5
    assert hostile.seed == 9
    assert hostile.ban_after == PROFILES["hostile"].ban_after
    with pytest.raises(ValueError, match="no fault profile 'mild'"):
        fault_profile("mild")
    with pytest.raises(ValidationError):
        fault_profile("calm", error_rate=1.5)
    with pytest.raises(ValidationError):
        FaultProfile(latency_sigma=1, surprise=True)  # type: ignore[call-arg]


def test_calm_injects_nothing() -> None:
    injector = FaultInjector(PROFILES["calm"], FakeClock())
    assert {injector.plan("bing", "127.0.0.2").fault for _ in range(500)} == {None}


# Bans


def test_too_many_requests_from_one_address_earn_a_captcha_for_that_engine_only() -> None:
    injector = FaultInjector(BANNING, FakeClock())
    assert [injector.plan("bing", "127.0.0.2").fault for _ in range(4)] == [
        None,
        None,
        None,
        Fault.CAPTCHA,
    ]
    assert injector.plan("bing", "127.0.0.2").status == 429
    assert injector.plan("duckduckgo", "127.0.0.2").fault is None
    assert injector.plan("bing", "127.0.0.3").fault is None


def test_requests_spread_beyond_the_window_do_not_ban() -> None:
    clock = FakeClock()
    injector = FaultInjector(BANNING, clock)
    for _ in range(20):
        assert injector.plan("bing", "127.0.0.2").fault is None
        clock.advance(4)  # at most three inside any 10 s


def test_a_ban_lasts_while_the_address_keeps_knocking_and_lifts_once_it_rests() -> None:
    clock = FakeClock()
    injector = FaultInjector(BANNING, clock)
    for _ in range(4):
        injector.plan("bing", "127.0.0.2")
    for _ in range(5):
        clock.advance(20)  # knocking every 20 s keeps a 30 s ban alive
        assert injector.plan("bing", "127.0.0.2").fault is Fault.CAPTCHA
    clock.advance(30)
    assert not injector.banned("bing", "127.0.0.2")
    assert injector.plan("bing", "127.0.0.2").fault is None


def test_each_engine_may_ban_at_its_own_threshold_and_for_its_own_length() -> None:
    clock = FakeClock()
    profile = BANNING.model_copy(update={"bans": {"google": BanRule(ban_after=1, ban_for=300)}})
    injector = FaultInjector(profile, clock)
    assert [injector.plan("google", "a").fault for _ in range(2)] == [None, Fault.CAPTCHA]
    assert [injector.plan("bing", "a").fault for _ in range(3)] == [None] * 3  # bing: the default
    clock.advance(200)
    assert injector.banned("google", "a")  # 300 s, not the profile's 30
    clock.advance(100)
    assert not injector.banned("google", "a")


def test_hostile_is_at_least_as_hostile_as_it_was_with_bans_lasting_minutes() -> None:
    hostile = PROFILES["hostile"]
    for engine in ("google", "bing", "duckduckgo", "yahoo", "brave", "startpage"):
        ban = hostile.ban(engine)
        assert ban.after is not None
        assert ban.after <= 80
        assert ban.window >= 2.0
        assert ban.length >= 120  # minutes, renewed while the address keeps knocking
    assert hostile.flag_rate >= 0.01
    assert hostile.error_rate >= 0.02
    assert hostile.reset_rate >= 0.01
    assert hostile.truncate_rate >= 0.01
    assert hostile.latency_sigma >= 1.4


def test_new_bans_say_why_they_began() -> None:
    injector = FaultInjector(FaultProfile(ban_after=2, ban_window=10, flag_rate=0.0), FakeClock())
    plans = [injector.plan("bing", "a") for _ in range(4)]
    assert [plan.ban for plan in plans] == [None, None, "rate", None]  # the 4th: already banned


# Random faults


def test_each_fault_comes_at_its_rate_from_a_seeded_source() -> None:
    profile = FaultProfile(error_rate=0.2, reset_rate=0.1, truncate_rate=0.1, seed=3)
    injector = FaultInjector(profile, FakeClock())
    plans = [injector.plan("bing", "a") for _ in range(5000)]
    counts = Counter(plan.fault for plan in plans)
    # Reset is drawn first, then error, then truncation, each from what the earlier left.
    assert counts[Fault.RESET] / 5000 == pytest.approx(0.1, abs=0.015)
    assert counts[Fault.ERROR] / 5000 == pytest.approx(0.9 * 0.2, abs=0.015)
    assert counts[Fault.TRUNCATE] / 5000 == pytest.approx(0.9 * 0.8 * 0.1, abs=0.015)
    assert {plan.status for plan in plans if plan.fault is Fault.ERROR} == {500, 502, 503}
    again = FaultInjector(profile, FakeClock())
    assert [again.plan("bing", "a") for _ in range(5000)] == plans


def test_latency_is_heavy_tailed_and_capped() -> None:
    profile = FaultProfile(latency_median=0.05, latency_sigma=1.5, latency_cap=2.0, seed=1)
    injector = FaultInjector(profile, FakeClock())
    delays = sorted(injector.plan("bing", "a").delay for _ in range(4000))
    assert delays[len(delays) // 2] == pytest.approx(0.05, rel=0.15)
    assert delays[-1] == 2.0
    assert delays[int(len(delays) * 0.99)] > 10 * delays[len(delays) // 2]


# Over real sockets


@asynccontextmanager
async def sandbox(profile: FaultProfile) -> AsyncIterator[str]:
    """A Bing-only sandbox with ``profile`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(create_sandbox_app([BingEmulator()], faults=profile), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def stats(session: aiohttp.ClientSession, base: str) -> dict[str, int]:
    async with session.get(f"{base}/_sandbox/stats") as response:
        counts: dict[str, int] = await response.json()
        return counts


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        # One request, one answer: aiohttp would otherwise re-send a GET once on a reset.
        client._retry_connection = False
        yield client


async def test_a_reset_drops_the_connection(session: aiohttp.ClientSession) -> None:
    async with sandbox(FaultProfile(reset_rate=1)) as base:
        with pytest.raises(aiohttp.ClientOSError):
            async with session.get(f"{base}/bing/search?q=coffee") as response:
                await response.read()
        counts = await stats(session, base)
        assert counts["bing.injected.reset"] == 1
        assert "bing.served" not in counts


async def test_a_truncated_body_breaks_off_short_of_its_length(
    session: aiohttp.ClientSession,
) -> None:
    async with sandbox(FaultProfile(truncate_rate=1)) as base:
        async with session.get(f"{base}/bing/search?q=coffee") as response:
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        assert (await stats(session, base))["bing.injected.truncate"] == 1


async def test_errors_are_5xx_and_503s_say_when_to_come_back(
    session: aiohttp.ClientSession,
) -> None:
    async with sandbox(FaultProfile(error_rate=1, retry_after=2, seed=4)) as base:
        seen: Counter[int] = Counter()
        for _ in range(20):
            async with session.get(f"{base}/bing/search?q=coffee") as response:
                seen[response.status] += 1
                expected = "2" if response.status == 503 else None
                assert response.headers.get("Retry-After") == expected
        assert set(seen) == {500, 502, 503}
        assert (await stats(session, base))["bing.injected.error"] == 20


async def test_a_banned_address_gets_the_engines_block_page(
    session: aiohttp.ClientSession,
) -> None:
    async with sandbox(FaultProfile(ban_after=2, ban_status=200)) as base:
        statuses = []
        for _ in range(3):
            async with session.get(f"{base}/bing/search?q=coffee") as response:
                statuses.append(response.status)
                body = await response.text()
        assert statuses == [200, 200, 200]
        assert BingEmulator().render_block() == body
        counts = await stats(session, base)
        assert counts["bing.served"] == 2
        assert counts["bing.injected.captcha"] == 1
        async with session.get(f"{base}/_sandbox/clients") as response:
            assert await response.json() == {"bing": {"127.0.0.1": 3}}


async def test_answers_are_delayed_by_the_latency_draw(session: aiohttp.ClientSession) -> None:
    async with sandbox(FaultProfile(latency_median=0.3, latency_sigma=0)) as base:
        started = time.perf_counter()
        async with session.get(f"{base}/bing/search?q=coffee") as response:
            assert response.status == 200
        assert time.perf_counter() - started >= 0.3


async def test_an_outage_answers_its_status_until_lifted_or_spent(
    session: aiohttp.ClientSession,
) -> None:
    async with sandbox(FaultProfile()) as base:
        outage = f"{base}/_sandbox/outage"
        async with session.post(outage, params={"engine": "bing", "retry_after": "1.5"}) as r:
            assert await r.json() == {"bing": 503}
        async with session.get(f"{base}/bing/search?q=coffee") as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "1.5"
        async with session.post(outage, params={"engine": "bing", "on": "0"}) as r:
            assert await r.json() == {}
        async with session.get(f"{base}/bing/search?q=coffee") as response:
            assert response.status == 200
        async with session.post(outage, params={"engine": "bing", "answers": "2"}) as r:
            assert await r.json() == {"bing": 503}
        statuses = []
        for _ in range(3):
            async with session.get(f"{base}/bing/search?q=coffee") as response:
                statuses.append(response.status)
        assert statuses == [503, 503, 200]
        counts = await stats(session, base)
        assert counts["bing.injected.outage"] == 3
        assert counts["bing.served"] == 2

"""The resilient upstream against the hostile sandbox, over real loopback sockets.

Each test starts a small world (the sandbox server, and forward proxies on 127.0.0.2+), points the
real ``UpstreamClient`` and ``Fetcher`` at it with short timings, and shows one behaviour end to
end, with the sandbox's own counts as the witness. Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from serpgate.clock import Clock
from serpgate.engines.bing import BingEngine
from serpgate.engines.duckduckgo import DuckDuckGoEngine
from serpgate.errors import BlockedError, ServiceUnavailable, TransientUpstreamError
from serpgate.models.params import SearchParams
from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.duckduckgo import DuckDuckGoEmulator
from serpgate.sandbox.faults import FaultProfile
from serpgate.sandbox.server import STATE, Outage
from serpgate.sandbox.world import ProxyMix, SandboxWorld
from serpgate.settings import (
    BreakerSettings,
    ProxySettings,
    ResilienceSettings,
    RetrySettings,
    UpstreamSettings,
)
from serpgate.upstream.breaker import BreakerState
from serpgate.upstream.client import UpstreamClient
from serpgate.upstream.fetcher import Fetcher, FetchOutcome
from serpgate.upstream.proxies import Exit, ExitState

QUICK_RETRY = RetrySettings(max_attempts=3, backoff_base=0.02, backoff_cap=0.1)
PATIENT_BREAKER = BreakerSettings(window=1000, min_calls=1000)


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    upstream = UpstreamClient(UpstreamSettings(connect_timeout=1, total_timeout=3))
    yield upstream
    await upstream.close()


def fetcher(
    client: UpstreamClient,
    world: SandboxWorld,
    proxies: ProxySettings | None = None,
    retry: RetrySettings = QUICK_RETRY,
    breaker: BreakerSettings = PATIENT_BREAKER,
    clock: Clock | None = None,
) -> Fetcher:
    exits = ProxySettings(urls=[SecretStr(url) for url in world.proxy_urls])
    settings = ResilienceSettings(
        proxies=proxies.model_copy(update={"urls": exits.urls}) if proxies else exits,
        retry=retry,
        breaker=breaker,
    )
    return Fetcher.from_settings(settings, client, rng=random.Random(11), clock=clock)


async def search(
    f: Fetcher, world: SandboxWorld, q: str, engine: str = "bing", deadline: float = 5.0
) -> FetchOutcome:
    kinds = {"bing": BingEngine, "duckduckgo": DuckDuckGoEngine}
    built = kinds[engine](world.engine_urls[engine])
    return await f.fetch(built, SearchParams(engine=engine, q=q), f.now() + deadline)


def exit_at(f: Fetcher, world: SandboxWorld, index: int) -> Exit:
    return next(e for e in f.pool.exits if e.url == world.proxy_urls[index])


async def test_a_dead_proxy_is_ejected_and_later_retried(client: UpstreamClient) -> None:
    async with SandboxWorld([BingEmulator()], proxies=ProxyMix(good=2, dead=1)) as world:
        f = fetcher(client, world, ProxySettings(eject_after=2, eject_base=0.3, prune_after=5))
        dead = exit_at(f, world, 2)
        health = f.pool.health(dead, "bing")
        for n in range(40):
            await search(f, world, f"coffee {n}")  # every search succeeds regardless
            if f.pool.state(dead, "bing") is ExitState.EJECTED:
                break
        assert f.pool.state(dead, "bing") is ExitState.EJECTED
        assert health.failures == 2
        tried = health.picks

        await asyncio.sleep(0.35)
        assert f.pool.state(dead, "bing") is ExitState.PROBATION
        for n in range(40):
            await search(f, world, f"tea {n}")
            if health.picks > tried:
                break
        # Tried once more on probation; one failure was enough to set it aside, for longer.
        assert health.picks == tried + 1
        assert f.pool.state(dead, "bing") is ExitState.EJECTED
        snapshot = f.pool.snapshot()["engines"]["bing"][dead.label]
        assert snapshot["recent_ejections"] == 2
        assert snapshot["ejected_for"] > 0.3
        assert not any(s["outcome"] != "ok" for s in f.stats.snapshot()["searches"])


async def test_a_captcha_bans_a_proxy_for_one_engine_only(client: UpstreamClient) -> None:
    # Bing's ban page comes with 200, as the real one does: only the parser can see the block.
    faults = FaultProfile(ban_after=3, ban_window=60, ban_for=60, ban_status=200)
    emulators = [BingEmulator(), DuckDuckGoEmulator()]
    async with SandboxWorld(emulators, faults, ProxyMix(good=2)) as world:
        f = fetcher(client, world)
        flagged = exit_at(f, world, 0)
        async with aiohttp.ClientSession() as session:
            for _ in range(3):  # bring 127.0.0.2 to the edge of Bing's ban
                probe = f"{world.engine_urls['bing']}/search?q=warmup"
                async with session.get(probe, proxy=world.proxy_urls[0]) as response:
                    assert response.status == 200
        bing = f.pool.health(flagged, "bing")
        for n in range(20):
            outcome = await search(f, world, f"coffee {n}")
            assert outcome.data.organic_results
            if bing.blocks:
                break
        assert bing.blocks == 1
        assert f.pool.state(flagged, "bing") is ExitState.RESTING
        assert world.engine_stats()["bing.injected.captcha"] == 1

        # For DuckDuckGo the same proxy is as good as ever, in the pool and in the world.
        other = exit_at(f, world, 1)
        assert f.pool.choose("bing", avoid=[other]).via == other
        assert f.pool.choose("duckduckgo", avoid=[other]).via == flagged
        assert f.pool.state(flagged, "duckduckgo") is ExitState.HEALTHY
        async with aiohttp.ClientSession() as session:
            ddg = f"{world.engine_urls['duckduckgo']}/html/?q=coffee"
            async with session.get(ddg, proxy=world.proxy_urls[0]) as response:
                page = await response.text()
        results = DuckDuckGoEngine().parse(page, SearchParams(engine="duckduckgo", q="coffee"))
        assert results.organic_results
        outcome = await search(f, world, "coffee", engine="duckduckgo")
        assert outcome.attempts == 1
        assert "duckduckgo.injected.captcha" not in world.engine_stats()


async def test_a_retry_after_is_honoured(client: UpstreamClient) -> None:
    async with SandboxWorld([BingEmulator()]) as world:
        f = fetcher(client, world)
        state = world.app[STATE]
        state.outages["bing"] = Outage(503, retry_after=0.4, answers=1)
        started = time.perf_counter()
        outcome = await search(f, world, "coffee")
        assert outcome.attempts == 2
        assert time.perf_counter() - started >= 0.4  # not the 20 ms the backoff alone allows

        # Told to come back after the deadline, the search gives up at once, and says when.
        state.outages["bing"] = Outage(503, retry_after=30)
        started = time.perf_counter()
        with pytest.raises(TransientUpstreamError) as caught:
            await search(f, world, "tea", deadline=2)
        assert time.perf_counter() - started < 1
        assert caught.value.retry_after == 30
        assert world.engine_stats()["bing.injected.outage"] == 2


async def test_the_breaker_opens_on_an_engine_outage_and_recovers(
    client: UpstreamClient,
) -> None:
    breaker = BreakerSettings(
        window=6, min_calls=6, failure_rate=0.5, open_for=0.5, half_open_calls=2
    )
    async with SandboxWorld([BingEmulator()]) as world:
        f = fetcher(client, world, breaker=breaker)
        state = world.app[STATE]
        state.outages["bing"] = Outage(503)
        errors: list[Exception] = []
        for n in range(6):
            try:
                await search(f, world, f"coffee {n}")
            except (ServiceUnavailable, TransientUpstreamError) as error:
                errors.append(error)
        # Two searches of three attempts each fill the window with failures; then fail fast.
        failed, refused = errors[:2], errors[2:]
        assert all(isinstance(error, TransientUpstreamError) for error in failed)
        assert len(refused) == 4
        assert all(
            isinstance(error, ServiceUnavailable) and 0 < error.retry_after <= 0.5
            for error in refused
        )
        assert state.stats["bing.requests"] == 6
        assert f.breaker("bing").state is BreakerState.OPEN

        del state.outages["bing"]
        await asyncio.sleep(0.5)
        assert f.breaker("bing").state is BreakerState.HALF_OPEN
        for n in range(2):
            outcome = await search(f, world, f"tea {n}")
            assert outcome.attempts == 1
        assert f.breaker("bing").state is BreakerState.CLOSED
        assert f.breaker("bing").times_opened == 1


async def test_retries_stay_inside_the_budget(client: UpstreamClient) -> None:
    async with SandboxWorld([BingEmulator()], proxies=ProxyMix(good=3)) as world:
        f = fetcher(client, world, ProxySettings(eject_after=100))
        world.app[STATE].outages["bing"] = Outage(503)
        searches = 30
        results = await asyncio.gather(
            *(search(f, world, f"coffee {n}") for n in range(searches)), return_exceptions=True
        )
        assert all(isinstance(r, TransientUpstreamError) for r in results)
        budget = f.budget("bing").snapshot()
        # 20% of 30 searches in flight: at most 6 retries at once, though 60 were wanted.
        assert budget["peak_retries_in_flight"] <= 6
        assert budget["retries_denied"] > 0
        sent = world.engine_stats()["bing.requests"]
        assert sent == searches + budget["retries_granted"]
        assert sent < searches * 3
        assert budget["retries_in_flight"] == 0
        assert budget["requests_in_flight"] == 0


# One clock for the service and the sandbox

# A thousand times real time: a 30 s rest passes in 30 ms, on both sides at once.
FAST = 1000.0


async def test_the_service_and_the_sandbox_share_one_sped_up_clock(
    client: UpstreamClient,
) -> None:
    """A 120 s ban and a 200 s rest, both on one clock at 100×: after 2 real seconds the ban
    has lifted in the world, the exit's probe answers, and the rest learnt shortens."""
    clock = Clock(100)
    faults = FaultProfile(ban_after=3, ban_window=600, ban_for=120)
    async with SandboxWorld([BingEmulator()], faults, ProxyMix(good=3), clock=clock) as world:
        f = fetcher(client, world, ProxySettings(rest_initial=200), clock=clock)
        injector = world.app[STATE].faults

        def address(via: Exit) -> str:
            return str(via.url).split("//")[1].split(":")[0]

        # Search until an exit the service saw blocked is banned in the world right then (one
        # search may ban two exits; a ban of 1.2 real seconds may lift before the search ends).
        banned = None
        for n in range(40):
            # Its retries may meet every exit at its threshold: the search then fails, blocked.
            with contextlib.suppress(BlockedError):
                await search(f, world, f"coffee {n}", deadline=500)
            flagged = [e for e in f.pool.exits if f.pool.health(e, "bing").blocks]
            banned = next((e for e in flagged if injector.banned("bing", address(e))), None)
            if banned is not None:
                break
        assert banned is not None
        health = f.pool.health(banned, "bing")
        # Resting; or probing already, where an earlier block of this run shortened its rest.
        assert f.pool.state(banned, "bing") in {ExitState.RESTING, ExitState.PROBING}

        started = time.perf_counter()
        await clock.sleep(200)
        assert time.perf_counter() - started < 3
        assert not injector.banned("bing", address(banned))
        assert f.pool.state(banned, "bing") is ExitState.PROBING
        answered = health.successes
        others = [e for e in f.pool.exits if e != banned]
        for n in range(40):
            await search(f, world, f"tea {n}", deadline=500)
            if health.successes > answered or f.pool.state(banned, "bing") is ExitState.HEALTHY:
                break
            assert all(f.pool.state(e, "bing") is not ExitState.PRUNED for e in others)
        assert f.pool.state(banned, "bing") is ExitState.HEALTHY
        # A probe that answers after a rest shortens the learnt rest (0.75 × the rest that
        # worked); a repeat block may have lengthened it on the way, so only the end is sure.
        assert f.pool.learnt_rest("bing") < 200


async def test_a_proxy_forbidding_everything_is_pruned(client: UpstreamClient) -> None:
    clock = Clock(FAST)
    mix = ProxyMix(good=2, forbidden=1)
    async with SandboxWorld([BingEmulator()], proxies=mix, clock=clock) as world:
        f = fetcher(client, world, ProxySettings(rest_initial=30), clock=clock)
        forbidden = exit_at(f, world, 2)
        for n in range(200):
            outcome = await search(f, world, f"coffee {n}", deadline=5 * FAST)
            assert outcome.data.organic_results  # another exit answers every time
            if f.pool.state(forbidden, "bing") is ExitState.PRUNED:
                break
            await clock.sleep(10)
        assert f.pool.state(forbidden, "bing") is ExitState.PRUNED
        assert f.pool.health(forbidden, "bing").blocks == 3  # a block, then two probes
        assert f.pool.learnt_rest("bing") == 30  # it taught nothing of Bing's bans
        assert world.proxy_stats()["127.0.0.4 (forbidden)"]["forbidden"] == 3

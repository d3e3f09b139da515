"""The sandbox's forward proxies and the world they make, over real loopback sockets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.duckduckgo import DuckDuckGoEmulator
from serpgate.sandbox.faults import FaultProfile
from serpgate.sandbox.proxy import ForwardProxy, ProxyKind, proxy_address
from serpgate.sandbox.world import ProxyMix, SandboxWorld


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@asynccontextmanager
async def started(proxy: ForwardProxy) -> AsyncIterator[ForwardProxy]:
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


async def clients(session: aiohttp.ClientSession, world: SandboxWorld) -> dict[str, object]:
    async with session.get(f"{world.base_url}/_sandbox/clients") as response:
        table: dict[str, object] = await response.json()
        return table


async def test_proxies_reach_the_engines_from_their_own_addresses(
    session: aiohttp.ClientSession,
) -> None:
    async with SandboxWorld([BingEmulator()], proxies=ProxyMix(good=3)) as world:
        search = f"{world.engine_urls['bing']}/search?q=coffee"
        for proxy in world.proxy_urls:
            async with session.get(search, proxy=proxy) as response:
                assert response.status == 200
                assert "coffee" in (await response.text()).lower()
        assert await clients(session, world) == {
            "bing": {"127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 1}
        }
        first = world.proxies[0]
        async with session.get(first.stats_url) as r:
            assert await r.json() == {"kind": "good", "requests": 1, "forwarded": 1}


async def test_a_dead_proxy_refuses_connections(session: aiohttp.ClientSession) -> None:
    async with started(ForwardProxy("127.0.0.3", ProxyKind.DEAD)) as proxy:
        with pytest.raises(aiohttp.ClientProxyConnectionError):
            async with session.get("http://127.0.0.1:9/search?q=x", proxy=proxy.url):
                pass


async def test_a_forbidden_proxy_answers_403_to_everything(session: aiohttp.ClientSession) -> None:
    async with started(ForwardProxy("127.0.0.3", ProxyKind.FORBIDDEN)) as proxy:
        async with session.get("http://127.0.0.1:9/search?q=x", proxy=proxy.url) as response:
            assert response.status == 403
        assert proxy.stats == {"requests": 1, "forbidden": 1}


async def test_a_slow_proxy_forwards_late(session: aiohttp.ClientSession) -> None:
    async with SandboxWorld([BingEmulator()], proxies=ProxyMix(slow=1, slow_delay=0.3)) as world:
        started_at = time.perf_counter()
        search = f"{world.engine_urls['bing']}/search?q=coffee"
        async with session.get(search, proxy=world.proxy_urls[0]) as response:
            assert response.status == 200
        assert time.perf_counter() - started_at >= 0.3
        assert world.proxies[0].stats == {"requests": 1, "delayed": 1, "forwarded": 1}


async def test_credentials_are_required_when_set(session: aiohttp.ClientSession) -> None:
    world = SandboxWorld(
        [BingEmulator()], proxies=ProxyMix(good=1), proxy_credentials=("scraper", "p@ss:word")
    )
    async with world:
        search = f"{world.engine_urls['bing']}/search?q=coffee"
        proxy = world.proxies[0]
        bare = proxy.url.replace("scraper:p%40ss%3Aword@", "")
        async with session.get(search, proxy=bare) as response:
            assert response.status == 407
        async with session.get(search, proxy=proxy.url) as response:
            assert response.status == 200
        assert proxy.stats["auth_refused"] == 1
        assert proxy.stats["forwarded"] == 1


async def test_engine_resets_and_truncations_come_back_as_502(
    session: aiohttp.ClientSession,
) -> None:
    for profile in (FaultProfile(reset_rate=1), FaultProfile(truncate_rate=1)):
        async with SandboxWorld([BingEmulator()], profile, ProxyMix(good=1)) as world:
            search = f"{world.engine_urls['bing']}/search?q=coffee"
            async with session.get(search, proxy=world.proxy_urls[0]) as response:
                assert response.status == 502
            # The proxy does not quietly re-send: one request, one injected fault.
            injected = [k for k in world.engine_stats() if ".injected." in k]
            assert [world.engine_stats()[k] for k in injected] == [1]
            assert world.proxies[0].stats["upstream_errors"] == 1


async def test_a_stalled_engine_comes_back_as_504(session: aiohttp.ClientSession) -> None:
    profile = FaultProfile(latency_median=1.0, latency_sigma=0)
    async with SandboxWorld([BingEmulator()], profile) as world:
        proxy = ForwardProxy("127.0.0.2", upstream_timeout=0.2)
        async with started(proxy) as running:
            search = f"{world.engine_urls['bing']}/search?q=coffee"
            async with session.get(search, proxy=running.url) as response:
                assert response.status == 504
            assert running.stats["upstream_timeouts"] == 1


def test_a_mix_with_a_bad_share_deals_the_bad_kinds_in_turn() -> None:
    assert ProxyMix.with_bad_share(10, 0.3) == ProxyMix(good=7, dead=1, slow=1, forbidden=1)
    assert ProxyMix.with_bad_share(20, 0.3) == ProxyMix(good=14, dead=2, slow=2, forbidden=2)
    assert ProxyMix.with_bad_share(4, 0.0).kinds() == [ProxyKind.GOOD] * 4


async def test_the_hostile_world_starts_on_loopback_and_reports_its_counts() -> None:
    mix = ProxyMix.with_bad_share(10, 0.3)
    emulators = [BingEmulator(), DuckDuckGoEmulator()]
    async with SandboxWorld(emulators, FaultProfile(name="hostile"), mix) as world:
        assert set(world.engine_urls) == {"bing", "duckduckgo"}
        assert all(url.startswith(world.base_url) for url in world.engine_urls.values())
        hosts = [url.rsplit(":", 1)[0] for url in world.proxy_urls]
        assert hosts == [f"http://127.0.0.{n}" for n in range(2, 12)]
        assert list(world.proxy_stats()) == [
            *(f"127.0.0.{n} (good)" for n in range(2, 9)),
            "127.0.0.9 (dead)",
            "127.0.0.10 (slow)",
            "127.0.0.11 (forbidden)",
        ]


def test_proxy_addresses_run_past_one_octet_and_skip_the_edges() -> None:
    assert proxy_address(1) == "127.0.0.2"
    assert proxy_address(253) == "127.0.0.254"
    assert proxy_address(254) == "127.0.1.1"
    addresses = [proxy_address(n) for n in range(1, 1001)]
    assert len(set(addresses)) == 1000
    assert not any(a.endswith((".0", ".255")) or a == "127.0.0.1" for a in addresses)


async def test_hundreds_of_proxies_each_reach_the_engine_from_its_own_address(
    session: aiohttp.ClientSession,
) -> None:
    async with SandboxWorld([BingEmulator()], proxies=ProxyMix(good=300)) as world:
        search = f"{world.engine_urls['bing']}/search?q=coffee"
        for proxy in (world.proxies[0], world.proxies[253], world.proxies[-1]):
            async with session.get(search, proxy=proxy.url) as response:
                assert response.status == 200
        seen = (await clients(session, world))["bing"]
        assert seen == {"127.0.0.2": 1, "127.0.1.1": 1, "127.0.1.47": 1}

"""The browser pool and the wall pass, with the system Chromium against the walled sandbox Google.

Few tests, each one browser: Chromium costs a CPU-second a page on a shared 2-core machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from serpgate.engines.base import UpstreamRequest
from serpgate.engines.google.engine import GoogleEngine
from serpgate.errors import ServiceUnavailable, UpstreamError
from serpgate.models.params import SearchParams
from serpgate.sandbox.google import GoogleEmulator
from serpgate.sandbox.server import STATE
from serpgate.sandbox.wall import JavaScriptWall
from serpgate.sandbox.world import ProxyMix, SandboxWorld
from serpgate.settings import (
    BrowserSettings,
    ProxySettings,
    ResilienceSettings,
    UpstreamSettings,
)
from serpgate.upstream.browser import BrowserPool
from serpgate.upstream.fetcher import Fetcher
from serpgate.upstream.impersonate import ImpersonateClient
from serpgate.upstream.stats import UpstreamStats
from serpgate.upstream.transports import EngineTransports
from serpgate.upstream.wallpass import WallPass
from tests.upstream.chromium import browser_process, chromium_descendants, require_chromium

QUERIES = ("cocoa", "chai", "mate")


@pytest.fixture
async def pool() -> AsyncIterator[BrowserPool]:
    executable = require_chromium()
    browsers = BrowserPool(BrowserSettings(executable=executable, max_pages=2, page_timeout=30))
    try:
        yield browsers
    finally:
        await browsers.close()


def google_request(world: SandboxWorld, q: str) -> UpstreamRequest:
    engine = GoogleEngine(world.engine_urls["google"])
    return engine.build_request(SearchParams(engine="google", q=q))


def results(html: str, q: str) -> int:
    return len(GoogleEngine().parse(html, SearchParams(engine="google", q=q)).organic_results)


async def slow_site(
    delay: float, first_only: bool = False
) -> tuple[web.AppRunner, str, asyncio.Event]:
    """A page that takes ``delay`` to answer (only the first time, if ``first_only``) and shows
    what its script sees of the browser; the event is set once a request is being answered."""
    served = [0]
    arrived = asyncio.Event()

    async def page(request: web.Request) -> web.Response:
        served[0] += 1
        arrived.set()
        if served[0] == 1 or not first_only:
            await asyncio.sleep(delay)
        script = "document.title=navigator.webdriver+'|'+navigator.userAgent"
        html = f"<html><script>{script}</script></html>"
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/", arrived


async def test_a_cookie_earned_once_per_exit_is_reused_then_renewed(pool: BrowserPool) -> None:
    cheap = ImpersonateClient()
    engine = GoogleEngine()
    async with SandboxWorld([GoogleEmulator()], proxies=ProxyMix(good=1), https=False) as world:
        proxy = world.proxy_urls[0]
        passing = WallPass(cheap, pool, {"google": engine.walled}, margin=0)
        try:
            for q in ("coffee", "tea", "cocoa"):
                raw = await passing.send("google", google_request(world, q), proxy, 30)
                assert results(raw.body, q) == 10
            assert passing.counts["google", "browser"] == 1
            assert passing.counts["google", "cheap"] == 2
            # The cheap try without a cookie and the browser's first load met the wall.
            assert world.engine_stats()["google.walled"] == 2
            # The sandbox saw all of it from the proxy's address, none from ours.
            clients = world.app[STATE].clients
            assert {address for _, address in clients} == {"127.0.0.2"}

            # Google rotates its key: cookies out there are worthless; the wall comes back and
            # the browser earns a new one, after which the cheap path works again.
            world.app[STATE].wall = JavaScriptWall(cookie_ttl=600)
            for q in ("chai", "mate"):
                raw = await passing.send("google", google_request(world, q), proxy, 30)
                assert results(raw.body, q) == 10
            assert passing.counts["google", "browser"] == 2
            assert passing.counts["google", "cheap"] == 3
            assert passing.snapshot()["google"]["browser_share"] == 0.4
        finally:
            await cheap.close()


async def test_an_expired_cookie_sends_the_next_search_to_the_browser(pool: BrowserPool) -> None:
    cheap = ImpersonateClient()
    world = SandboxWorld([GoogleEmulator()], https=False, cookie_ttl=4.0)
    async with world:
        passing = WallPass(cheap, pool, {"google": GoogleEngine().walled}, margin=0)
        try:
            await passing.send("google", google_request(world, "coffee"), None, 30)
            await passing.send("google", google_request(world, "tea"), None, 30)
            assert passing.counts == {("google", "browser"): 1, ("google", "cheap"): 1}
            await asyncio.sleep(4.1)
            # Three searches at once after the expiry: one browser visit renews the cookie, the
            # other two wait for it and go the cheap way.
            pages = await asyncio.gather(
                *(passing.send("google", google_request(world, q), None, 30) for q in QUERIES)
            )
            assert [results(raw.body, q) for raw, q in zip(pages, QUERIES, strict=True)] == [10] * 3
            assert passing.counts == {("google", "browser"): 2, ("google", "cheap"): 3}
            # Known to be expired, the old cookie was not even tried: straight to the browser.
            assert world.engine_stats()["google.walled"] == 3
        finally:
            await cheap.close()


async def test_headless_tells_are_gone_and_warm_pages_stay_bounded(pool: BrowserPool) -> None:
    runner, url, _ = await slow_site(0)
    try:
        agent = GoogleEngine.user_agent(SearchParams(engine="google", q="x"))
        rendered = await pool.render("test", UpstreamRequest(url, {"User-Agent": agent}), None, 30)
        assert f"<title>false|{agent}</title>" in rendered.response.body
        assert "Headless" not in rendered.response.body
        # Three more user agents, three more contexts: warm pages stay within the bound of 2.
        for n in range(3):
            other = UpstreamRequest(url, {"User-Agent": f"{agent} {n}"})
            await pool.render("test", other, None, 30)
        snapshot = pool.snapshot()
        assert snapshot["contexts"] == 4
        assert snapshot["pages_warm"] == 2
    finally:
        await runner.cleanup()


async def test_a_browser_crash_mid_search_relaunches_and_retries(pool: BrowserPool) -> None:
    runner, url, loading = await slow_site(3.0, first_only=True)
    try:
        request = UpstreamRequest(url, {"User-Agent": "Mozilla/5.0 Chrome/131.0.0.0"})
        search = asyncio.create_task(pool.render("test", request, None, 30))
        await asyncio.wait_for(loading.wait(), 30)
        os.kill(browser_process(), signal.SIGKILL)
        rendered = await search
        assert rendered.response.status == 200
        assert (pool.launches, pool.crashes) == (2, 1)
    finally:
        await runner.cleanup()


async def test_a_dead_proxy_under_the_browser_transport_is_the_exits_fault() -> None:
    executable = require_chromium()
    async with SandboxWorld(
        [GoogleEmulator()], proxies=ProxyMix(good=1, dead=1), https=False
    ) as world:
        engines = {"google": GoogleEngine(world.engine_urls["google"])}
        transports = EngineTransports.build(
            UpstreamSettings(transports={"google": "browser"}),
            BrowserSettings(executable=executable, max_pages=1),
            engines,
        )
        attempts: list[tuple[str, str]] = []

        def attempted(engine: str, via: str, outcome: str, seconds: float) -> None:
            attempts.append((via, outcome))

        fetcher = Fetcher.from_settings(
            ResilienceSettings(proxies=ProxySettings.model_validate({"urls": world.proxy_urls})),
            transports,
            stats=UpstreamStats(on_attempt=attempted),
        )
        try:
            loop = asyncio.get_running_loop()
            for q in ("coffee", "tea", "cocoa"):
                params = SearchParams(engine="google", q=q)
                outcome = await fetcher.fetch(engines["google"], params, loop.time() + 60)
                assert len(outcome.data.organic_results) == 10
        finally:
            await transports.close()
        dead = [outcome for via, outcome in attempts if "127.0.0.3" in via]
        assert dead
        assert set(dead) == {"transient"}
        # The proxy's failure never counted against Google.
        assert fetcher.breaker("google").snapshot()["failure_rate"] == 0
        assert transports.fetches["google", "browser"] == 3


async def test_shutdown_with_pages_open_leaves_no_chromium(pool: BrowserPool) -> None:
    runner, url, loading = await slow_site(5.0)
    try:
        request = UpstreamRequest(url, {"User-Agent": "Mozilla/5.0 Chrome/131.0.0.0"})
        searches = [asyncio.create_task(pool.render("test", request, None, 30)) for _ in range(2)]
        await asyncio.wait_for(loading.wait(), 30)
        assert chromium_descendants()
        await asyncio.wait_for(pool.close(), 10)
        for search in searches:
            with pytest.raises((ServiceUnavailable, UpstreamError)):
                await search
        await asyncio.sleep(0.2)
        assert chromium_descendants() == {}
        with pytest.raises(ServiceUnavailable):
            await pool.render("test", request, None, 1)
    finally:
        await runner.cleanup()


def test_a_missing_chromium_is_named() -> None:
    browsers = BrowserPool(BrowserSettings(executable=Path("/nonexistent/chromium")))
    assert browsers.missing is not None
    assert "/nonexistent/chromium" in browsers.missing

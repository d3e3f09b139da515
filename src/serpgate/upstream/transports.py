"""``EngineTransports``: the one transport the fetcher sees, sending each engine's requests its way.

Engines differ in what they let through, so each has a transport (``upstream.transports``):

- ``http``: aiohttp (``UpstreamClient``), the cheapest, for engines that do not fingerprint;
- ``impersonate``: curl_cffi with Chrome's TLS/HTTP2 fingerprint and consistent headers
  (``ImpersonateClient``), for engines that refuse non-browser ClientHellos;
- ``browser``: a page of the pooled headless Chromium (``BrowserPool``) for every fetch;
- ``wallpass``: impersonate, carrying the cookie a browser earned for the exit when the engine
  walls (``WallPass``): the browser's cost once per exit and cookie lifetime, not per search.

All of them take the same one-attempt call and raise the same typed errors, so the fetcher's
proxies, health, retries, budget, breaker and classification apply whichever is used. The
expensive clients are made on first use: a deployment that never needs Chromium never starts it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypedDict

from serpgate.engines.base import Engine, UpstreamRequest
from serpgate.settings import BrowserSettings, TransportName, UpstreamSettings
from serpgate.upstream.browser import BrowserPool, PoolSnapshot
from serpgate.upstream.client import RawResponse, UpstreamClient
from serpgate.upstream.impersonate import ImpersonateClient
from serpgate.upstream.wallpass import WallPass

FetchObserver = Callable[[str, str], None]


class TransportsSnapshot(TypedDict):
    engines: dict[str, str]
    fetches: dict[str, dict[str, int]]
    wallpass: dict[str, dict[str, float]]
    browser: PoolSnapshot
    browser_missing: str | None


class EngineTransports:
    def __init__(
        self,
        choices: Mapping[str, TransportName],
        http: UpstreamClient,
        impersonate: ImpersonateClient,
        browser: BrowserPool,
        wallpass: WallPass,
        on_fetch: FetchObserver | None = None,
    ) -> None:
        self.choices = dict(choices)
        self.http = http
        self.impersonate = impersonate
        self.browser = browser
        self.wallpass = wallpass
        self._on_fetch = on_fetch
        self.fetches: Counter[tuple[str, str]] = Counter()

    @classmethod
    def build(
        cls,
        upstream: UpstreamSettings,
        browser: BrowserSettings,
        engines: Mapping[str, Engine],
        on_fetch: FetchObserver | None = None,
    ) -> EngineTransports:
        impersonate = ImpersonateClient(
            upstream.impersonate,
            upstream.impersonate_mobile,
            upstream.total_timeout,
            upstream.verify_tls,
            upstream.pool_size,
        )
        pool = BrowserPool(browser, upstream.verify_tls)
        wallpass = WallPass(
            impersonate,
            pool,
            {name: engine.walled for name, engine in engines.items()},
            margin=upstream.cookie_margin,
            refusals=upstream.cookie_refusals,
            browser_only_for=upstream.browser_only_for,
        )
        return cls(
            {name: upstream.transport(name) for name in engines},
            UpstreamClient(upstream),
            impersonate,
            pool,
            wallpass,
            on_fetch,
        )

    def needing_browser(self) -> list[str]:
        """The engines whose transport may need Chromium."""
        return sorted(e for e, t in self.choices.items() if t in ("browser", "wallpass"))

    async def send(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None = None,
        time_left: float | None = None,
    ) -> RawResponse:
        choice = self.choices.get(engine, "http")
        if choice == "http":
            raw = await self.http.send(engine, request, proxy, time_left)
        elif choice == "impersonate":
            raw = await self.impersonate.send(engine, request, proxy, time_left)
        elif choice == "browser":
            raw = (await self.browser.render(engine, request, proxy, time_left)).response
        else:
            before = self.wallpass.counts[engine, "browser"]
            raw = await self.wallpass.send(engine, request, proxy, time_left)
            # Which way WallPass went shows in its counts: the browser, or a cookie's cheap fetch.
            went_by_browser = self.wallpass.counts[engine, "browser"] > before
            self._count(engine, "browser" if went_by_browser else "cookie")
            return raw
        self._count(engine, choice)
        return raw

    def _count(self, engine: str, via: str) -> None:
        self.fetches[engine, via] += 1
        if self._on_fetch is not None:
            self._on_fetch(engine, via)

    def readiness(self) -> dict[str, object]:
        """What ``/readyz`` shows: the engines that need Chromium, and whether it is there."""
        needing = self.needing_browser()
        missing = self.browser.missing if needing else None
        state: dict[str, object] = {"needed_by": needing, "executable": None}
        if self.browser.executable is not None:
            state["executable"] = str(self.browser.executable)
        if missing is not None:
            state["missing"] = missing
        return state

    def snapshot(self) -> TransportsSnapshot:
        fetches: dict[str, dict[str, int]] = {}
        for (engine, via), count in sorted(self.fetches.items()):
            fetches.setdefault(engine, {})[via] = count
        return TransportsSnapshot(
            engines=dict(sorted(self.choices.items())),
            fetches=fetches,
            wallpass=self.wallpass.snapshot(),
            browser=self.browser.snapshot(),
            browser_missing=self.browser.missing if self.needing_browser() else None,
        )

    async def close(self) -> None:
        await self.browser.close()
        await self.impersonate.close()
        await self.http.close()

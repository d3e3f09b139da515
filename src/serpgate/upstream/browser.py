"""``BrowserPool``: pages of one headless Chromium, for engines that serve results only to browsers.

Playwright drives the system's Chromium (``executable`` from settings, else the first of
``chromium``, ``chromium-browser``, ``google-chrome`` on PATH; ``playwright install`` is never
needed). What it costs decided the shape (measured on 2 cores): a page load is 0.5–1.3 CPU-seconds
and a fresh context per load the dearest, so:

- the browser is launched on the first render, not at start: most deployments need it rarely;
- one context per (exit, user agent), since a context is where a proxy is set and cookies live,
  at most ``max_contexts`` of them (the least recently used idle one is closed beyond that);
- pages are kept warm and reused inside their context; at most ``max_pages`` are open at once,
  warm or rendering (the memory bound: a page is ~100 MB; the least recently used context's warm
  pages are closed to make room), and the renderer processes are capped to match;
- every render has ``page_timeout`` (and the caller's deadline);
- a browser that died (crash, OOM kill) is noticed by its disconnection, relaunched, and the
  renders it took down are tried once more on the new one;
- ``close`` closes pages, contexts, the browser and Playwright's driver, so no Chromium outlives
  the service; renders still running then fail, none relaunches.

Headless Chromium gives itself away by default: ``HeadlessChrome`` in its User-Agent and
``navigator.webdriver`` true. Each context takes the User-Agent of the request (what the engine's
other transports send, so a cookie earned here is valid for them), and
``--disable-blink-features=AutomationControlled`` clears ``navigator.webdriver``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import unquote, urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ProxySettings,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from serpgate.engines.base import UpstreamRequest
from serpgate.errors import (
    BrowserUnavailable,
    ProxyFailure,
    ServiceUnavailable,
    TransientUpstreamError,
    UpstreamTimeout,
)
from serpgate.settings import BrowserSettings
from serpgate.upstream.client import RawResponse
from serpgate.upstream.failures import peer_of

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Without these Chromium phones home (updates, sync, field trials), which a closed network
# refuses and a busy one should not pay for; as root it runs only without its sandbox.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-blink-features=AutomationControlled",
    "--blink-settings=imagesEnabled=false",
)
# Chromium's net errors that mean the proxy, not the engine, failed.
_PROXY_ERRORS = (
    "ERR_PROXY_CONNECTION_FAILED",
    "ERR_TUNNEL_CONNECTION_FAILED",
    "ERR_PROXY_AUTH",
    "ERR_NO_SUPPORTED_PROXIES",
)
_RELAUNCH_RETRY_AFTER = 30.0


def find_chromium(configured: Path | None) -> Path | None:
    """The Chromium to run: the configured path if it is a file, else the first on PATH."""
    if configured is not None:
        return configured if configured.is_file() else None
    found = next((shutil.which(name) for name in EXECUTABLES if shutil.which(name)), None)
    return Path(found) if found else None


@dataclass(frozen=True, slots=True)
class Cookie:
    name: str
    value: str
    # Wall-clock seconds (``time.time()``); None for a session cookie.
    expires: float | None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A page as the browser finally showed it, and the cookies its context holds for the URL."""

    response: RawResponse
    cookies: tuple[Cookie, ...]


class PoolSnapshot(TypedDict):
    executable: str | None
    running: bool
    launches: int
    crashes: int
    renders: int
    contexts: int
    pages_warm: int
    max_pages: int


@dataclass(eq=False)
class _Context:
    context: BrowserContext
    idle: list[Page] = field(default_factory=list)
    busy: int = 0


class BrowserPool:
    def __init__(self, settings: BrowserSettings, verify_tls: bool = True) -> None:
        self.settings = settings
        self.executable = find_chromium(settings.executable)
        self._verify_tls = verify_tls
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching = asyncio.Lock()
        self._contexts: OrderedDict[tuple[str | None, str], _Context] = OrderedDict()
        self._slots = asyncio.Semaphore(settings.max_pages)
        self._closed = False
        self.launches = 0
        self.crashes = 0
        self.renders = 0

    @property
    def missing(self) -> str | None:
        """What keeps this pool from rendering, in words for an operator; None when nothing."""
        if self.executable is not None:
            return None
        if self.settings.executable is not None:
            return f"no Chromium at {self.settings.executable} (SERPGATE_BROWSER__EXECUTABLE)"
        names = ", ".join(EXECUTABLES)
        return (
            f"no Chromium found on PATH ({names}): install Debian's chromium package "
            "or set SERPGATE_BROWSER__EXECUTABLE"
        )

    async def render(
        self, engine: str, request: UpstreamRequest, proxy: str | None, time_left: float | None
    ) -> Rendered:
        """Load ``request.url`` in a warm page through ``proxy``; JavaScript runs, walls pass."""
        missing = self.missing
        if missing is not None:
            raise BrowserUnavailable(f"{engine} needs a browser: {missing}", 60.0)
        timeout = self.settings.page_timeout
        if time_left is not None:
            timeout = min(timeout, time_left)
        deadline = time.monotonic() + timeout
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{engine}: no browser page free in time") from exc
        try:
            for attempt in range(2):
                browser = await self._running()
                try:
                    return await self._render_once(browser, request, proxy, deadline)
                except PlaywrightError as exc:
                    if self._closed:
                        raise ServiceUnavailable("shutting down", 1.0) from exc
                    if browser.is_connected():
                        raise _typed(engine, exc, request.url, proxy) from exc
                    # The browser died under this render: relaunch, and try once more.
                    self._forget(browser)
                    if attempt == 1:
                        raise TransientUpstreamError(f"{engine}: the browser crashed") from exc
            raise AssertionError("unreachable: the loop returns or raises")
        finally:
            self._slots.release()

    async def _running(self) -> Browser:
        async with self._launching:
            if self._closed:
                raise ServiceUnavailable("shutting down", 1.0)
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                self._forget(self._browser)
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            try:
                browser = await self._playwright.chromium.launch(
                    executable_path=self.executable,
                    headless=True,
                    args=[*LAUNCH_ARGS, f"--renderer-process-limit={self.settings.max_pages}"],
                    timeout=self.settings.launch_timeout * 1000,
                )
            except PlaywrightError as exc:
                raise BrowserUnavailable(
                    f"Chromium at {self.executable} did not start: {exc.message}",
                    _RELAUNCH_RETRY_AFTER,
                ) from exc
            self.launches += 1
            self._browser = browser
            return browser

    def _forget(self, browser: Browser) -> None:
        """Drop what belonged to a dead browser; its contexts and pages died with it."""
        if self._browser is browser:
            self.crashes += 1
            self._browser = None
            self._contexts.clear()

    async def _context(self, browser: Browser, proxy: str | None, agent: str) -> _Context:
        key = (proxy, agent)
        held = self._contexts.get(key)
        if held is not None:
            self._contexts.move_to_end(key)
            return held
        context = await browser.new_context(
            user_agent=agent or None,
            proxy=_proxy_setting(proxy) if proxy else None,
            ignore_https_errors=not self._verify_tls,
            locale="en-US",
            viewport={"width": 1366, "height": 768},
        )
        held = self._contexts[key] = _Context(context)
        await self._evict()
        return held

    async def _page(self, held: _Context) -> Page:
        """A warm page of ``held``, or a new one once there is room for it."""
        if held.idle:
            return held.idle.pop()
        await self._make_room()
        return await held.context.new_page()

    async def _make_room(self) -> None:
        """Close warm pages of the least recently used contexts until a new page keeps the
        pages open (warm and rendering) within ``max_pages``: the memory bound."""
        for held in list(self._contexts.values()):
            while held.idle and self._pages_open() > self.settings.max_pages:
                await _quietly_close(held.idle.pop(0))

    def _pages_open(self) -> int:
        # Rendering pages count from the moment a render claims one, its own included.
        return sum(len(held.idle) + held.busy for held in self._contexts.values())

    async def _evict(self) -> None:
        while len(self._contexts) > self.settings.max_contexts:
            victim = next((k for k, c in self._contexts.items() if c.busy == 0), None)
            if victim is None:
                return  # every context is rendering; the page bound still holds
            held = self._contexts.pop(victim)
            await held.context.close()

    async def _render_once(
        self, browser: Browser, request: UpstreamRequest, proxy: str | None, deadline: float
    ) -> Rendered:
        agent = next((v for k, v in request.headers.items() if k.lower() == "user-agent"), "")
        held = await self._context(browser, proxy, agent)
        held.busy += 1
        try:
            page = await self._page(held)
        except BaseException:
            held.busy -= 1
            raise
        reusable = False
        try:
            started = time.perf_counter()
            language = next(
                (v for k, v in request.headers.items() if k.lower() == "accept-language"), None
            )
            await page.set_extra_http_headers({"Accept-Language": language} if language else {})
            left = max(deadline - time.monotonic(), 0.001)
            # A wall's script sets its cookie and replaces the page: goto follows that
            # navigation and returns the final document's response.
            response = await page.goto(request.url, wait_until="load", timeout=left * 1000)
            raw = RawResponse.of_text(
                status=response.status if response is not None else 200,
                headers=await response.all_headers() if response is not None else {},
                body=await page.content(),
                url=page.url,
                elapsed=time.perf_counter() - started,
            )
            cookies = await held.context.cookies(request.url)
            reusable = True
        finally:
            held.busy -= 1
            if reusable and browser.is_connected():
                held.idle.append(page)
            elif browser.is_connected():
                await _quietly_close(page)
        self.renders += 1
        return Rendered(
            raw,
            tuple(
                Cookie(c["name"], c["value"], c["expires"] if c["expires"] > 0 else None)
                for c in cookies
                if "name" in c and "value" in c and "expires" in c
            ),
        )

    def snapshot(self) -> PoolSnapshot:
        return PoolSnapshot(
            executable=str(self.executable) if self.executable else None,
            running=self._browser is not None and self._browser.is_connected(),
            launches=self.launches,
            crashes=self.crashes,
            renders=self.renders,
            contexts=len(self._contexts),
            pages_warm=sum(len(c.idle) for c in self._contexts.values()),
            max_pages=self.settings.max_pages,
        )

    async def close(self) -> None:
        """Close every page, context and the browser, then stop Playwright's driver."""
        async with self._launching:
            self._closed = True
            contexts = list(self._contexts.values())
            self._contexts.clear()
            browser, self._browser = self._browser, None
            driver, self._playwright = self._playwright, None
        if browser is not None and browser.is_connected():
            for held in contexts:
                await _quietly_close(held.context)
            await browser.close()
        if driver is not None:
            await driver.stop()


def _proxy_setting(proxy: str) -> ProxySettings:
    """Playwright's proxy shape: the server without credentials, which go separately."""
    parts = urlsplit(proxy)
    server = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    setting = ProxySettings(server=server)
    if parts.username:
        setting["username"] = unquote(parts.username)
        setting["password"] = unquote(parts.password or "")
    return setting


async def _quietly_close(target: Page | BrowserContext) -> None:
    with contextlib.suppress(PlaywrightError):  # already gone with its browser
        await target.close()


def _typed(
    engine: str, error: PlaywrightError, url: str, proxy: str | None
) -> TransientUpstreamError:
    """The failure in the words ``failures.describe_failure`` uses for aiohttp's."""
    message = error.message
    host = urlsplit(url).hostname or url
    if isinstance(error, PlaywrightTimeout):
        return UpstreamTimeout(f"{engine}: the page from {host} did not load in time")
    if proxy is not None and any(code in message for code in _PROXY_ERRORS):
        return ProxyFailure(f"{engine}: could not connect to proxy {peer_of(proxy)}")
    code = next((word for word in message.split() if word.startswith("net::")), "browser error")
    return TransientUpstreamError(f"{engine}: loading {host} in the browser failed ({code})")

"""``WallPass``: pass an engine's JavaScript wall once per exit in a browser, then fetch cheaply.

A wall like Google's hands a client that runs its script a cookie bound to the client's address
and user agent, valid for a while. A browser render costs a CPU-second; a request through
curl_cffi with Chrome's fingerprint (``ImpersonateClient``) costs a few milliseconds. So:

- a fetch goes the cheap way (impersonate), carrying the cookie a browser earned for the same
  exit and user agent if one is held and not about to expire;
- when the answer is the wall anyway (no cookie yet, expired, revoked), the browser loads the
  same URL through the same exit, passes the wall, and its page is the answer; the cookie its
  context then holds is kept for that exit's next fetches;
- once an engine has been seen walling, an exit without a cookie goes to the browser directly
  instead of spending a request on a wall it knows is there;
- one browser visit per exit at a time: searches that need one while it runs wait for its
  cookie and then go the cheap way;
- when a cookie fresh from the browser is refused ``cookie_refusals`` times in a row, the cheap
  path is not working on that exit (the engine may bind the cookie to more than the address):
  the exit renders every search in the browser for ``browser_only_for`` seconds.

Whether a page is the wall is the engine's judgement (``Engine.walled``), handed in per engine.
Every fetch is counted by how it was answered (``cheap`` or ``browser``), which gives the share
of searches that needed the browser.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from serpgate.engines.base import UpstreamRequest
from serpgate.upstream.browser import BrowserPool
from serpgate.upstream.client import RawResponse
from serpgate.upstream.impersonate import ImpersonateClient

WallCheck = Callable[[str], bool]
# (proxy exit, engine, User-Agent): what a wall's cookie is bound to.
_Key = tuple[str | None, str, str]


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.001)


@dataclass(slots=True)
class _Earned:
    cookies: dict[str, str]
    # Wall-clock seconds; the earliest expiry among the cookies.
    expires: float
    refusals: int = 0


class WallPass:
    def __init__(
        self,
        cheap: ImpersonateClient,
        browser: BrowserPool,
        walls: Mapping[str, WallCheck],
        *,
        margin: float = 5.0,
        refusals: int = 2,
        browser_only_for: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cheap = cheap
        self._browser = browser
        self._walls = walls
        self._margin = margin
        self._refusals = refusals
        self._browser_only_for = browser_only_for
        self._clock = clock
        self._jar: dict[_Key, _Earned] = {}
        self._browser_only: dict[_Key, float] = {}
        self._earning: dict[_Key, asyncio.Lock] = {}
        self._walling: set[str] = set()
        self.counts: Counter[tuple[str, str]] = Counter()

    async def send(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None = None,
        time_left: float | None = None,
    ) -> RawResponse:
        agent = next((v for k, v in request.headers.items() if k.lower() == "user-agent"), "")
        key = (proxy, engine, agent)
        deadline = None if time_left is None else time.monotonic() + time_left
        earned = self._held(key)
        if earned is not None or (engine not in self._walling and self._cheap_allowed(key)):
            raw = await self._try_cheap(engine, request, proxy, _left(deadline), key, earned)
            if raw is not None:
                return raw
        # One browser visit per exit at a time: searches that meet the wall meanwhile wait for
        # its cookie instead of each rendering a page of their own.
        async with self._earning.setdefault(key, asyncio.Lock()):
            fresher = self._held(key)
            if fresher is not None and fresher is not earned:
                raw = await self._try_cheap(engine, request, proxy, _left(deadline), key, fresher)
                if raw is not None:
                    return raw
            rendered = await self._browser.render(engine, request, proxy, _left(deadline))
            raw = rendered.response
            if not self._is_wall(engine, raw):
                expiries = [c.expires for c in rendered.cookies if c.expires is not None]
                previous = self._jar.get(key)
                self._jar[key] = _Earned(
                    {c.name: c.value for c in rendered.cookies},
                    min(expiries, default=self._clock() + 3600.0),
                    previous.refusals if previous is not None else 0,
                )
        self._count(engine, "browser")
        return raw

    def _cheap_allowed(self, key: _Key) -> bool:
        return self._browser_only.get(key, 0.0) <= self._clock()

    def _held(self, key: _Key) -> _Earned | None:
        """The exit's cookie while it is good to use on the cheap path; None otherwise."""
        earned = self._jar.get(key)
        if earned is None or not self._cheap_allowed(key):
            return None
        if earned.expires - self._margin <= self._clock():
            del self._jar[key]
            return None
        return earned

    async def _try_cheap(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None,
        time_left: float | None,
        key: _Key,
        earned: _Earned | None,
    ) -> RawResponse | None:
        """The cheap fetch, with the exit's cookie if any; None when the wall answered it."""
        cookies = earned.cookies if earned is not None else None
        raw = await self._cheap.send(engine, request, proxy, time_left, cookies)
        if not self._is_wall(engine, raw):
            if earned is not None:
                earned.refusals = 0
            self._count(engine, "cheap")
            return raw
        self._walling.add(engine)
        if earned is not None:
            earned.refusals += 1
            if earned.refusals >= self._refusals:
                self._browser_only[key] = self._clock() + self._browser_only_for
        return None

    def _is_wall(self, engine: str, raw: RawResponse) -> bool:
        check = self._walls.get(engine)
        return check is not None and 200 <= raw.status < 300 and check(raw.body)

    def _count(self, engine: str, via: str) -> None:
        self.counts[engine, via] += 1

    def snapshot(self) -> dict[str, dict[str, float]]:
        """Per engine: fetches answered cheaply and by the browser, the browser's share, and
        how many exits hold a cookie."""
        engines = sorted({engine for engine, _ in self.counts})
        table: dict[str, dict[str, float]] = {}
        for engine in engines:
            cheap, browser = self.counts[engine, "cheap"], self.counts[engine, "browser"]
            table[engine] = {
                "cheap": cheap,
                "browser": browser,
                "browser_share": round(browser / (cheap + browser), 4),
                "exits_with_cookie": sum(1 for k in self._jar if k[1] == engine),
            }
        return table

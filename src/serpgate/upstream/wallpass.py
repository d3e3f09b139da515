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
- when a cookie fresh from the browser is refused ``cookie_refusals`` times in a row, the cheap
  path is not working on that exit (the engine may bind the cookie to more than the address):
  the exit renders every search in the browser for ``browser_only_for`` seconds.

Whether a page is the wall is the engine's judgement (``Engine.walled``), handed in per engine.
Every fetch is counted by how it was answered (``cheap`` or ``browser``), which gives the share
of searches that needed the browser.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from serpgate.engines.base import UpstreamRequest
from serpgate.upstream.browser import BrowserPool
from serpgate.upstream.client import RawResponse
from serpgate.upstream.impersonate import ImpersonateClient

WallCheck = Callable[[str], bool]


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
        self._jar: dict[tuple[str | None, str, str], _Earned] = {}
        self._browser_only: dict[tuple[str | None, str, str], float] = {}
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
        now = self._clock()
        earned = self._jar.get(key)
        if earned is not None and earned.expires - self._margin <= now:
            earned = None
            del self._jar[key]
        cheap_ok = self._browser_only.get(key, 0.0) <= now
        if cheap_ok and (earned is not None or engine not in self._walling):
            raw = await self._cheap.send(
                engine, request, proxy, time_left, earned.cookies if earned else None
            )
            if not self._is_wall(engine, raw):
                if earned is not None:
                    earned.refusals = 0
                self._count(engine, "cheap")
                return raw
            self._walling.add(engine)
            if earned is not None:
                earned.refusals += 1
                if earned.refusals >= self._refusals:
                    self._browser_only[key] = now + self._browser_only_for
            if time_left is not None:
                time_left -= raw.elapsed
        rendered = await self._browser.render(engine, request, proxy, time_left)
        raw = rendered.response
        if not self._is_wall(engine, raw):
            expiries = [c.expires for c in rendered.cookies if c.expires is not None]
            refusals = earned.refusals if earned is not None else 0
            self._jar[key] = _Earned(
                {c.name: c.value for c in rendered.cookies},
                min(expiries, default=now + 3600.0),
                refusals,
            )
        self._count(engine, "browser")
        return raw

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

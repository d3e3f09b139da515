"""``WebhookSender``: POST one finished search to its webhook until it is taken or time is up.

Each attempt is one signed POST that does not follow redirects (a redirect could lead anywhere,
including inside the network the guard protects); a 2xx answer is a delivery, anything else
(another status, a refused connection, a timeout) is tried again after full-jitter backoff until
``retry_for`` seconds have passed since the first attempt. Every attempt is reported to
``on_attempt`` as it ends, which is how the archive record shows them while they happen.
A refused target (``RefusedTarget``) is final: retrying cannot make it public.

``deliver`` waits out the backoff itself, which suits a task of its own (the embedded store). On
the queue a worker must not sit through a failing receiver's pauses, so there each attempt is a
job: ``post`` once, and ``pause`` says when the next job is due, or that time is up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from serpgate.settings import WebhookSettings
from serpgate.upstream.backoff import FullJitterBackoff
from serpgate.webhooks.guard import GuardedResolver, RefusedTarget, check_literal
from serpgate.webhooks.signature import HEADER, sign


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST: when it was sent, what came back (a status, or why nothing did)."""

    at: float
    status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def final(self) -> bool:
        """A refused target: no later attempt can do better."""
        return self.error is not None and self.error.startswith("refused")

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {"at": round(self.at, 3)}
        if self.status is not None:
            found["status"] = self.status
        if self.error is not None:
            found["error"] = self.error
        return found


class WebhookSender:
    def __init__(
        self,
        settings: WebhookSettings,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._backoff = FullJitterBackoff(settings.backoff_base, settings.backoff_cap)
        self._clock = clock
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Built on first use, inside the running loop, and reused for every delivery after.
        if self._session is None:
            resolver = None if self._settings.allow_private else GuardedResolver()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, limit=100),
                timeout=aiohttp.ClientTimeout(total=self._settings.timeout),
            )
        return self._session

    async def deliver(
        self,
        url: str,
        secret: str,
        body: bytes,
        on_attempt: Callable[[Attempt], Awaitable[None]],
        *,
        attempts_so_far: int = 0,
    ) -> bool:
        """True once an attempt was answered 2xx; False when refused or out of time.

        It waits out each backoff itself: where a queue runs deliveries, each attempt is a job of
        its own instead (``post``, then ``pause`` to know when the next one is due).
        """
        started = self._clock()
        attempt = attempts_so_far
        while True:
            result = await self.post(url, secret, body)
            await on_attempt(result)
            if result.delivered:
                return True
            pause = None if result.final else self.pause(attempt, started)
            if pause is None:
                return False
            attempt += 1
            await self._sleep(pause)

    def pause(self, attempt: int, started: float) -> float | None:
        """The wait after failed attempt ``attempt`` (0 first) of a delivery begun at ``started``.

        None when the next attempt would come later than ``retry_for`` after ``started``.
        """
        pause = self._backoff.delay(attempt)
        if self._clock() + pause - started > self._settings.retry_for:
            return None
        return pause

    async def post(self, url: str, secret: str, body: bytes) -> Attempt:
        """One signed POST of ``body``; what came of it."""
        now = self._clock()
        try:
            check_literal(url, allow_private=self._settings.allow_private)
            headers = {"Content-Type": "application/json", HEADER: sign(secret, int(now), body)}
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                return Attempt(now, status=response.status)
        except RefusedTarget as exc:
            return Attempt(now, error=f"refused: {exc}")
        except TimeoutError:
            return Attempt(now, error="timed out")
        except aiohttp.ClientError as exc:
            return Attempt(now, error=f"{type(exc).__name__}: {exc}"[:300])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

"""``StoreHealth``: whether Redis is answering, and the guard that keeps its trouble off requests.

Every traffic part that talks to Redis makes its calls through ``call`` (or ``call_bounded``,
for calls that keep to the budget themselves). Each call gets a time budget, so a slow Redis
counts as a down one rather than holding requests hostage. A few failures in a row (one late
answer on a busy event loop proves little) mark Redis down and start a short cool-down during
which calls fail at once (``StoreUnavailable``) instead of each waiting out its own timeout; after
it, calls go through again and the first success marks Redis up, so the service recovers by
itself when Redis comes back. What a caller does with ``StoreUnavailable`` is its own policy: the
cache treats it as a miss, the limiters fall back.
``snapshot`` is what ``/readyz`` shows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from redis.exceptions import RedisError

from serpgate.store.base import StoreUnavailable

T = TypeVar("T")

# What a limiter does while the store cannot answer (the setting traffic.limits.on_redis_error).
OnStoreError = Literal["local", "open", "closed"]

log = logging.getLogger("serpgate.traffic")


class StoreHealth:
    def __init__(
        self,
        timeout: float = 1.0,
        cooldown: float = 1.0,
        trip_after: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._cooldown = cooldown
        self._trip_after = trip_after
        self._clock = clock
        self._in_a_row = 0
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._last_error: str | None = None
        self.failures = 0

    @property
    def up(self) -> bool:
        return self._down_since is None

    @property
    def retry_after(self) -> float:
        """Seconds until calls are tried again; what a fail-closed refusal tells the client."""
        return max(self._cooldown, self._retry_at - self._clock())

    @property
    def budget(self) -> float:
        """Seconds a call may take; what an op that bounds its own time (``call_bounded``) uses."""
        return self._timeout

    async def call(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op`` within the time budget; ``StoreUnavailable`` if it fails or is skipped."""

        async def timed() -> T:
            async with asyncio.timeout(self._timeout):
                return await op()

        return await self.call_bounded(timed)

    async def call_bounded(self, op: Callable[[], Awaitable[T]]) -> T:
        """``call`` for an op that keeps to ``budget`` itself (``AutoPipeline`` calls, which share
        one deadline watchdog per connection), so no timer is set up per call here."""
        if self._down_since is not None and self._clock() < self._retry_at:
            raise StoreUnavailable(f"store down, cooling down: {self._last_error}")
        try:
            result = await op()
        except (StoreUnavailable, RedisError, OSError) as exc:
            # OSError covers the builtin TimeoutError that asyncio.timeout raises.
            self._failed(exc)
            raise StoreUnavailable(self._last_error or "store unavailable") from exc
        self._succeeded()
        return result

    def _failed(self, exc: BaseException) -> None:
        now = self._clock()
        self.failures += 1
        self._in_a_row += 1
        self._last_error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if self._in_a_row < self._trip_after and self._down_since is None:
            return
        self._retry_at = now + self._cooldown
        if self._down_since is None:
            self._down_since = now
            log.warning("redis unavailable (%s): degrading until it answers", self._last_error)

    def _succeeded(self) -> None:
        self._in_a_row = 0
        if self._down_since is not None:
            log.warning("redis answers again after %.1fs", self._clock() - self._down_since)
            self._down_since = None

    def snapshot(self) -> dict[str, object]:
        down_for = None if self._down_since is None else round(self._clock() - self._down_since, 3)
        return {
            "status": "up" if self.up else "down",
            "down_for": down_for,
            "last_error": self._last_error,
            "failures": self.failures,
        }

"""A cap per API key on searches in flight at once (Stripe's concurrent-requests limiter).

Rate limits bound how many searches a key *starts*; this bounds how many it has *running*, so one
tenant's burst of slow uncached searches cannot hold all of the upstream capacity while others
wait. Each search in flight is a member of a per-key set, scored by when it started. Members older
than ``ttl`` are dropped as if finished, so a replica that crashes mid-search cannot hold its
slots for ever; ``ttl`` must therefore exceed the longest a search can take.

``slot(subject, limit)`` is an async context manager: entering takes a slot or raises
``RateLimited`` (429), leaving gives it back, also when the search failed or the client went away.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Callable
from importlib.resources import files
from types import TracebackType
from typing import Protocol

from serpgate.errors import RateLimited, ServiceUnavailable
from serpgate.store.base import StoreUnavailable
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import OnStoreError, StoreHealth

# Searches end within the pipeline's deadline, usually far sooner; a second is a fair guess at
# when one of the client's own searches will have finished.
RETRY_AFTER = 1.0

_ACQUIRE = files("serpgate.traffic").joinpath("inflight_acquire.lua").read_text(encoding="utf-8")


class _Slots(Protocol):
    async def acquire(self, subject: str, limit: int, request: str) -> bool: ...

    async def release(self, subject: str, request: str) -> None: ...


class Slot:
    """One search's place in its key's in-flight set, held for the ``async with`` block."""

    def __init__(self, slots: _Slots, subject: str, limit: int | None) -> None:
        self._slots = slots
        self._subject = subject
        self._limit = limit
        self._request = secrets.token_hex(8)
        self._held = False

    async def __aenter__(self) -> None:
        if self._limit is None:
            return
        if not await self._slots.acquire(self._subject, self._limit, self._request):
            raise RateLimited(
                f"Too many searches in flight for this API key (at most {self._limit} at once); "
                "retry when one has finished",
                retry_after=RETRY_AFTER,
            )
        self._held = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._held:
            self._held = False
            # Shielded: a client that disconnects must still give its slot back.
            await asyncio.shield(self._slots.release(self._subject, self._request))


class ConcurrencyLimiter(Protocol):
    def slot(self, subject: str, limit: int | None) -> Slot:
        """A slot among at most ``limit`` searches of ``subject`` in flight; None: no cap."""

    async def in_flight(self, subject: str) -> int:
        """How many searches ``subject`` has in flight now."""


class MemoryConcurrencyLimiter:
    """The cap inside one process: the embedded default, and the fallback while Redis is out."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._running: dict[str, dict[str, float]] = {}

    def slot(self, subject: str, limit: int | None) -> Slot:
        return Slot(self, subject, limit)

    def _live(self, subject: str) -> dict[str, float]:
        started = self._running.setdefault(subject, {})
        oldest = self._clock() - self._ttl
        for request in [r for r, at in started.items() if at <= oldest]:
            del started[request]
        return started

    async def acquire(self, subject: str, limit: int, request: str) -> bool:
        started = self._live(subject)
        if len(started) >= limit:
            return False
        started[request] = self._clock()
        return True

    async def release(self, subject: str, request: str) -> None:
        started = self._running.get(subject)
        if started is not None:
            started.pop(request, None)
            if not started:
                del self._running[subject]

    async def in_flight(self, subject: str) -> int:
        count = len(self._live(subject))
        if not count:
            self._running.pop(subject, None)
        return count


class RedisConcurrencyLimiter:
    """The cap every replica shares: a sorted set per key, one script call to take a slot.

    While Redis cannot answer, ``on_error`` decides as for the rate limiter: ``local`` caps with
    ``fallback`` in this process, ``open`` does not cap, ``closed`` refuses with 503.
    """

    def __init__(
        self,
        store: RedisStore,
        health: StoreHealth,
        ttl: float = 60.0,
        on_error: OnStoreError = "local",
        fallback: MemoryConcurrencyLimiter | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self._health = health
        self._ttl_ms = math.ceil(ttl * 1000)
        self._on_error = on_error
        self._fallback = fallback or MemoryConcurrencyLimiter(ttl)
        self._clock = clock
        self._script = store.client.register_script(_ACQUIRE)
        # Requests whose slot the fallback granted, so that they give it back there.
        self._local: set[str] = set()

    def slot(self, subject: str, limit: int | None) -> Slot:
        return Slot(self, subject, limit)

    def _key(self, subject: str) -> str:
        return self._store.key(f"inflight:{{{subject}}}")

    async def _run(self, subject: str, limit: int, request: str) -> tuple[bool, int]:
        now = "" if self._clock is None else str(round(self._clock() * 1000))
        args: list[str | int] = [now, self._ttl_ms, limit, request]
        reply = await self._health.call(lambda: self._script(keys=[self._key(subject)], args=args))
        return bool(reply[0]), int(reply[1])

    async def acquire(self, subject: str, limit: int, request: str) -> bool:
        try:
            taken, _ = await self._run(subject, limit, request)
        except StoreUnavailable:
            if self._on_error == "open":
                return True
            if self._on_error == "closed":
                raise ServiceUnavailable(
                    "The in-flight cap cannot be checked right now; try again shortly",
                    retry_after=self._health.retry_after,
                ) from None
            taken = await self._fallback.acquire(subject, limit, request)
            if taken:
                self._local.add(request)
        return taken

    async def release(self, subject: str, request: str) -> None:
        if request in self._local:
            self._local.discard(request)
            await self._fallback.release(subject, request)
            return
        try:
            await self._health.call(lambda: self._store.client.zrem(self._key(subject), request))
        except StoreUnavailable:
            return  # the entry ages out after ttl

    async def in_flight(self, subject: str) -> int:
        try:
            # A limit of 0 takes nothing: the script only drops stale entries and counts.
            _, count = await self._run(subject, 0, "")
        except StoreUnavailable:
            return await self._fallback.in_flight(subject)
        return count

"""``ReadThroughCache``: answer a search from the cache, or from one shared fetch that fills it.

This is the cache policy the pipeline calls, in one method, ``get``:

- a fresh entry is the answer;
- a stale one (inside stale-while-revalidate) is the answer too, and one background flight
  refreshes it: one per process, and across replicas one per lease;
- otherwise the search joins or starts the flight for its key (``Coalescer``); the one fetch runs
  under the ``LoadShedder``, which refuses it at once when the process has too much upstream work;
- if the fetch fails with an upstream error or a 503 (a breaker open, load shed) and an older copy
  is still inside stale-if-error, that copy is the answer, marked so;
- ``refresh`` (the ``no_cache`` parameter) skips the cached answer but still stores the new one.

Each ``Served`` says where it came from, so the pipeline knows whether to charge the quota (only
``fetch``: the one search whose call caused an upstream fetch) and what to put in
``search_metadata``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from typing import Literal

from serpgate.errors import ServiceUnavailable, UpstreamError
from serpgate.traffic.cache import SearchCache
from serpgate.traffic.coalesce import Coalescer
from serpgate.traffic.lease import Leases
from serpgate.traffic.shedding import LoadShedder

# cache: a fresh hit · stale: a stale hit, refreshing in the background · fetch: this call's
# fetch · shared: another search's fetch, here or on another replica · stale-if-error: an old copy
# because the fetch failed.
Origin = Literal["cache", "stale", "fetch", "shared", "stale-if-error"]

Fetch = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Served:
    """How one search was served: the ready-to-send bytes, and where they came from."""

    body: bytes
    origin: Origin
    # Seconds since the body was fetched.
    age: float
    # Why an old copy was served, for stale-if-error.
    error: str | None = None

    @property
    def fetched(self) -> bool:
        """True for the one search that caused an upstream fetch: the one to charge."""
        return self.origin == "fetch"

    @property
    def from_cache(self) -> bool:
        return self.origin in ("cache", "stale", "stale-if-error")


@dataclass(frozen=True, slots=True)
class _Result:
    body: bytes
    fetched: bool
    age: float


class ReadThroughCache:
    def __init__(
        self,
        cache: SearchCache,
        shedder: LoadShedder | None = None,
        leases: Leases | None = None,
        lease_ttl: float = 5.0,
        follow_timeout: float = 30.0,
    ) -> None:
        self._cache = cache
        self._shedder = shedder
        self._coalescer: Coalescer[_Result] = Coalescer(leases, lease_ttl, follow_timeout)
        # Keys whose leading search is being admitted here: set once its flight has started (or
        # its admission failed), so that identical searches arriving meanwhile join that flight
        # instead of each taking a slot of their own.
        self._admitting: dict[str, asyncio.Event] = {}

    @property
    def in_flight(self) -> int:
        """Flights (fetches and refreshes) under way in this process."""
        return self._coalescer.in_flight

    def peek(self, key: str) -> Served | None:
        """A fresh answer from this process's memory, at no I/O, or None: then ``get`` decides.

        What ``get`` would answer for it too; a caller that knows it has a hit before any I/O
        can send its admission and its archive write together.
        """
        cached = self._cache.peek(key)
        return None if cached is None else Served(cached.body, "cache", cached.age)

    async def _admissions_done(self, key: str) -> None:
        """Wait until no search is being admitted for ``key``, or until its fetch flies."""
        while not self._coalescer.flying(key):
            admitting = self._admitting.get(key)
            if admitting is None:
                return
            await admitting.wait()

    async def get(
        self,
        key: str,
        fetch: Fetch,
        *,
        refresh: bool = False,
        admit: AbstractAsyncContextManager[object] | None = None,
    ) -> Served:
        """The answer for ``key``; ``fetch`` produces ready-to-send bytes when one is needed.

        ``admit`` is entered only around a search that starts a fetch (not a cached answer, nor
        one that joins a fetch this process already runs): the per-key in-flight slot goes there.
        """
        # A refresh still reads the entry, from the store itself, but only to tell its own
        # answer from the one it replaces.
        cached = await self._cache.get(key, local=not refresh)
        if cached is not None and not refresh:
            if cached.freshness == "fresh":
                return Served(cached.body, "cache", cached.age)
            if cached.freshness == "stale":
                self._coalescer.spawn(*self._flight(key, fetch, cached.stored_at))
                return Served(cached.body, "stale", cached.age)
        before = None if cached is None else cached.stored_at
        flight = self._flight(key, fetch, before)
        # Joining a fetch already under way costs no upstream capacity, so it takes no slot. The
        # slot is taken before the flight starts, so a search arriving while another one is
        # being admitted for the same key waits for that admission before it decides.
        if admit is not None:
            await self._admissions_done(key)
        marker = None
        if admit is None or self._coalescer.flying(key):
            admit = contextlib.nullcontext()
        else:
            marker = self._admitting[key] = asyncio.Event()
        started = False
        try:
            async with admit:
                if marker is not None:
                    started = self._coalescer.start(*flight)
                    self._admitted(key, marker)
                shared = await self._coalescer.run(*flight)
        except (UpstreamError, ServiceUnavailable) as exc:
            if cached is None or refresh:
                raise
            return Served(cached.body, "stale-if-error", cached.age, error=exc.message)
        finally:
            if marker is not None:
                self._admitted(key, marker)
        result = shared.value
        led = started or shared.led
        origin: Origin = "fetch" if led and result.fetched else "shared"
        return Served(result.body, origin, result.age)

    def _admitted(self, key: str, marker: asyncio.Event) -> None:
        """The admission ``marker`` stands for is over: wake whoever waits on it (idempotent)."""
        if self._admitting.get(key) is marker:
            del self._admitting[key]
        marker.set()

    def _flight(
        self, key: str, fetch: Fetch, before: float | None
    ) -> tuple[str, Callable[[], Awaitable[_Result]], Callable[[], Awaitable[_Result | None]]]:
        return key, partial(self._lead, key, fetch, before), partial(self._follow, key, before)

    async def _lead(self, key: str, fetch: Fetch, before: float | None) -> _Result:
        # Another replica may have stored the answer between our read and our lease.
        found = await self._follow(key, before)
        if found is not None:
            return found
        with self._shedder.slot() if self._shedder else contextlib.nullcontext():
            body = await fetch()
        await self._cache.put(key, body)
        return _Result(body, fetched=True, age=0.0)

    async def _follow(self, key: str, before: float | None) -> _Result | None:
        """The entry another flight stored since ``before`` (the stamp of what we had), if any."""
        current = await self._cache.get(key, local=False)
        if current is None or current.stored_at == before:
            return None
        return _Result(current.body, fetched=False, age=current.age)

    async def aclose(self) -> None:
        await self._coalescer.aclose()

"""``Coalescer``: identical searches in flight at once share one fetch (singleflight).

In one process, the first caller for a key starts a *flight*, a task of its own, and every caller
for that key, the first included, awaits it through ``asyncio.shield``: a client that disconnects
cancels only its own wait, never the fetch the others are waiting for.

Across replicas, the flight first takes a lease on the key (``Leases``). The holder runs ``lead``
(the fetch, which stores its result in the cache); the others wait until the lease is released or
runs out, then call ``follow`` (a cache read) and use what it finds. If ``follow`` finds nothing
(the holder failed or died), the waiter tries the lease again and so takes over. Waiting is bounded
by ``follow_timeout``, after which a flight fetches on its own. If the store cannot answer, flights
fall back to coalescing within the process.

``spawn`` starts a background flight (a stale-while-revalidate refresh) that never waits for another
replica: if someone else holds the lease, that someone is already refreshing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from serpgate.store.base import StoreUnavailable
from serpgate.traffic.lease import Leases

log = logging.getLogger("serpgate.traffic")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Shared(Generic[T]):
    """A flight's result; ``led`` is True for the one caller whose call started the flight."""

    value: T
    led: bool


class Coalescer(Generic[T]):
    def __init__(
        self,
        leases: Leases | None = None,
        lease_ttl: float = 5.0,
        follow_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._leases = leases
        self._lease_ttl = lease_ttl
        self._follow_timeout = follow_timeout
        self._clock = clock
        self._flights: dict[str, asyncio.Task[T | None]] = {}
        self._releases: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def flying(self, key: str) -> bool:
        """Whether a flight for ``key`` is under way in this process (a caller would join it)."""
        return key in self._flights

    async def run(
        self,
        key: str,
        lead: Callable[[], Awaitable[T]],
        follow: Callable[[], Awaitable[T | None]],
    ) -> Shared[T]:
        """Join the flight for ``key``, or start one; ``lead`` and ``follow`` never return None."""
        while True:
            flight = self._flights.get(key)
            led = flight is None
            if flight is None:
                flight = self._start(key, lead, follow, wait=True)
            value = await asyncio.shield(flight)
            if value is not None:
                return Shared(value, led)
            # Joined a background flight that stood aside for another replica's: wait properly.

    def start(
        self,
        key: str,
        lead: Callable[[], Awaitable[T]],
        follow: Callable[[], Awaitable[T | None]],
    ) -> bool:
        """Start the flight for ``key`` now unless one is under way here; True if this call did.

        For a caller that must register its flight before others can look (so that they join it)
        and then ``run``: ``run`` joins it, and this return value says who led.
        """
        if key in self._flights:
            return False
        self._start(key, lead, follow, wait=True)
        return True

    def spawn(
        self,
        key: str,
        lead: Callable[[], Awaitable[T]],
        follow: Callable[[], Awaitable[T | None]],
    ) -> bool:
        """Start a background flight unless one for ``key`` is already in flight here."""
        if key in self._flights:
            return False
        self._start(key, lead, follow, wait=False)
        return True

    def _start(
        self,
        key: str,
        lead: Callable[[], Awaitable[T]],
        follow: Callable[[], Awaitable[T | None]],
        wait: bool,
    ) -> asyncio.Task[T | None]:
        flight = asyncio.create_task(self._fly(key, lead, follow, wait), name=f"flight {key}")
        self._flights[key] = flight
        flight.add_done_callback(partial(self._landed, key, background=not wait))
        return flight

    def _landed(self, key: str, flight: asyncio.Task[T | None], background: bool) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if flight.cancelled():
            return
        # Retrieved here so that a flight whose callers all went away does not log as unretrieved.
        error = flight.exception()
        if error is not None and background:
            log.warning("background refresh of %s failed: %s", key, error)

    async def _fly(
        self,
        key: str,
        lead: Callable[[], Awaitable[T]],
        follow: Callable[[], Awaitable[T | None]],
        wait: bool,
    ) -> T | None:
        if self._leases is None:
            return await lead()
        name = f"flight:{key}"
        deadline = self._clock() + self._follow_timeout
        while True:
            try:
                token = await self._leases.acquire(name, self._lease_ttl)
            except StoreUnavailable:
                return await lead()
            if token is not None:
                return await self._lead_holding(self._leases, name, token, lead)
            if not wait:
                return None
            left = deadline - self._clock()
            if left <= 0:
                log.warning("gave up waiting for another replica's fetch of %s", key)
                return await lead()
            try:
                async with asyncio.timeout(min(left, self._lease_ttl)):
                    await self._leases.wait(name)
            except TimeoutError:
                pass  # a dead holder's lease has run out by now: look again
            except StoreUnavailable:
                return await lead()
            found = await follow()
            if found is not None:
                return found

    async def _lead_holding(
        self, leases: Leases, name: str, token: str, lead: Callable[[], Awaitable[T]]
    ) -> T:
        keeper = asyncio.create_task(self._keep(leases, name, token), name=f"keep {name}")
        try:
            return await lead()
        finally:
            keeper.cancel()
            # Released behind the result, not before it: ``lead`` has stored what followers
            # read, and nobody here needs the release's reply. Its command goes out at once,
            # ahead of any later one from this process (``AutoPipeline`` keeps their order).
            release = asyncio.create_task(self._release(leases, name, token))
            self._releases.add(release)
            release.add_done_callback(self._releases.discard)

    @staticmethod
    async def _release(leases: Leases, name: str, token: str) -> None:
        with contextlib.suppress(StoreUnavailable):
            # Unreleased, the lease still runs out within its ttl.
            await leases.release(name, token)

    async def _keep(self, leases: Leases, name: str, token: str) -> None:
        """Extend the lease while the fetch runs, so that only a dead holder loses it."""
        while True:
            await asyncio.sleep(self._lease_ttl / 3)
            with contextlib.suppress(StoreUnavailable):
                if not await leases.extend(name, token, self._lease_ttl):
                    return

    async def aclose(self) -> None:
        """Cancel every flight (at shutdown)."""
        flights = list(self._flights.values())
        for flight in flights:
            flight.cancel()
        await asyncio.gather(*flights, return_exceptions=True)
        # Releases run to their end: each wakes the other replicas' waiters.
        await asyncio.gather(*self._releases, return_exceptions=True)

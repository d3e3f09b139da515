"""Leases: which replica is fetching a result right now, and word when it has finished.

A lease is a key set only if absent (``SET NX PX``) with a random token and a short expiry that its
holder keeps extending while it works; if the holder dies, the lease runs out within its ttl and
another replica may take over. Releasing checks the token (so a holder whose lease ran out cannot
delete its successor's) and announces the name, so that waiters on every replica wake at once
instead of at their next poll. Waiting is always bounded: a lost announcement costs latency, never
correctness, because a waiter re-checks the cache and the lease when it wakes.

``MemoryLeases`` is the same contract inside one process, for the embedded default and for tests
that play several replicas in one process. ``RedisLeases`` announces over one pub/sub channel per
deployment, listened to by one connection per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Protocol

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from serpgate.store.autopipeline import Script
from serpgate.store.base import StoreUnavailable
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import StoreHealth

log = logging.getLogger("serpgate.traffic")

# How long a waiter sleeps between looks when no announcement can reach it.
_POLL = 0.05

_EXTEND = Script.of(
    files("serpgate.traffic").joinpath("lease_extend.lua").read_text(encoding="utf-8")
)

_RELEASE = Script.of(
    files("serpgate.traffic").joinpath("lease_release.lua").read_text(encoding="utf-8")
)


class Leases(Protocol):
    async def acquire(self, name: str, ttl: float) -> str | None:
        """A token when this call now holds ``name`` for ``ttl`` seconds, else None."""

    async def extend(self, name: str, token: str, ttl: float) -> bool:
        """Hold on for another ``ttl``; False when the lease is no longer ours."""

    async def release(self, name: str, token: str) -> None:
        """Give up ``name`` (if still ours) and wake everyone waiting on it."""

    async def wait(self, name: str) -> None:
        """Return when ``name`` is released, or at once if nobody holds it; callers bound it."""

    async def aclose(self) -> None:
        """Stop listening; the leases are unusable afterwards."""


class MemoryLeases:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._released: dict[str, asyncio.Event] = {}

    def _holder(self, name: str) -> str | None:
        held = self._held.get(name)
        if held is None:
            return None
        token, expires = held
        if expires <= self._clock():
            del self._held[name]
            return None
        return token

    async def acquire(self, name: str, ttl: float) -> str | None:
        if self._holder(name) is not None:
            return None
        token = secrets.token_hex(8)
        self._held[name] = (token, self._clock() + ttl)
        return token

    async def extend(self, name: str, token: str, ttl: float) -> bool:
        if self._holder(name) != token:
            return False
        self._held[name] = (token, self._clock() + ttl)
        return True

    async def release(self, name: str, token: str) -> None:
        if self._holder(name) == token:
            del self._held[name]
        event = self._released.pop(name, None)
        if event is not None:
            event.set()

    async def wait(self, name: str) -> None:
        if self._holder(name) is None:
            return
        await self._released.setdefault(name, asyncio.Event()).wait()

    async def aclose(self) -> None:
        for event in self._released.values():
            event.set()
        self._released.clear()


class RedisLeases:
    def __init__(self, store: RedisStore, health: StoreHealth) -> None:
        self._store = store
        self._health = health
        self._channel = store.key("flights")
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribing = asyncio.Lock()

    # On the store's auto-pipelined connection, as every command a search makes on its way.
    async def acquire(self, name: str, ttl: float) -> str | None:
        token = secrets.token_hex(8)
        taken = await self._health.call(lambda: self._store.add(name, token.encode(), ttl))
        return token if taken else None

    async def extend(self, name: str, token: str, ttl: float) -> bool:
        return bool(await self._script(_EXTEND, name, token, math.ceil(ttl * 1000)))

    async def release(self, name: str, token: str) -> None:
        await self._script(_RELEASE, name, token, self._channel, name)

    async def _script(self, script: Script, name: str, *args: str | int) -> object:
        keys, budget = [self._store.key(name)], self._health.budget
        return await self._health.call_bounded(
            lambda: self._store.pipelined.run(script, keys, args, budget=budget)
        )

    async def wait(self, name: str) -> None:
        if not await self._listening():
            await asyncio.sleep(_POLL)
            return
        # Registered before looking at the lease: a release after the look is then delivered.
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(name, set()).add(waiter)
        try:
            held = await self._health.call(lambda: self._store.client.exists(self._store.key(name)))
            if held:
                await waiter
        finally:
            waiters = self._waiters.get(name)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[name]

    async def _listening(self) -> bool:
        if self._listener is not None and not self._listener.done():
            return True
        async with self._subscribing:
            if self._listener is not None and not self._listener.done():
                return True
            pubsub = self._store.client.pubsub()
            try:
                await self._health.call(lambda: self._subscribe(pubsub))
            except StoreUnavailable:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                return False
            self._listener = asyncio.create_task(self._relay(pubsub), name="lease announcements")
            return True

    async def _subscribe(self, pubsub: PubSub) -> None:
        await pubsub.subscribe(self._channel)
        # Only once Redis confirms is an announcement sure to reach us.
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "subscribe":
                return

    async def _relay(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._wake(message["data"].decode())
        except (RedisError, OSError) as exc:
            log.warning("lease announcements interrupted (%s); waiters fall back to polling", exc)
        finally:
            # Whoever waits might have missed an announcement while the line was down.
            for name in list(self._waiters):
                self._wake(name)
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _wake(self, name: str) -> None:
        for waiter in self._waiters.get(name, ()):
            if not waiter.done():
                waiter.set_result(None)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

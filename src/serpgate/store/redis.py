"""``RedisStore``: the ``Store`` protocol on Redis, so that replicas share one state.

Every key carries the configured prefix, so several deployments (or test runs) can share a server.
Connection failures surface as ``StoreUnavailable``; what to do about them is the caller's call.
Besides redis-py's pooled client, a store owns one ``AutoPipeline`` (``pipelined``) to the same
server: the plain reads and writes (``get``, ``set``, ``add``, ``delete``, counters) and the rate
limiter's script go through it, since redis-py's per-call cost was most of each call's.
redis-py remains for scripts that register themselves, pipelines of other parts and ``SCAN``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from serpgate.store.autopipeline import AutoPipeline
from serpgate.store.base import StoreUnavailable


def _as_bytes(value: bytes | str | None) -> bytes | None:
    # The client is built without decode_responses, so str never comes back; this narrows the type.
    return value.encode() if isinstance(value, str) else value


def _ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, math.ceil(ttl * 1000))


def _px(ttl: float | None) -> tuple[str | int, ...]:
    """``SET``'s expiry arguments for ``ttl`` seconds (none: no expiry)."""
    ms = _ms(ttl)
    return () if ms is None else ("PX", ms)


class RedisStore:
    def __init__(self, client: aioredis.Redis, prefix: str, pipelined: AutoPipeline) -> None:
        self.client = client
        self.prefix = f"{prefix}:" if prefix else ""
        self.pipelined = pipelined

    @classmethod
    def from_url(
        cls, url: str, prefix: str, timeout: float = 2.0, max_connections: int = 64
    ) -> RedisStore:
        # A blocking pool makes a burst wait for a connection instead of failing outright.
        # After a Redis restart every idle pooled connection is dead; one immediate retry on a
        # fresh connection keeps each from failing its first command (a lost reply may run a
        # command twice, which the counters here tolerate).
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        return cls(aioredis.Redis(connection_pool=pool), prefix, AutoPipeline(url, timeout))

    def key(self, key: str) -> str:
        return self.prefix + key

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc

    async def get(self, key: str) -> bytes | None:
        async with self._guard():
            return _as_bytes(await self.pipelined.execute("GET", self.key(key)))

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        async with self._guard():
            values = await self.pipelined.execute("MGET", *(self.key(k) for k in keys))
        return [_as_bytes(v) for v in values]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        async with self._guard():
            await self.pipelined.execute("SET", self.key(key), value, *_px(ttl))

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        async with self._guard():
            added = await self.pipelined.execute("SET", self.key(key), value, *_px(ttl), "NX")
        return added is not None

    async def delete(self, key: str) -> bool:
        async with self._guard():
            removed: int = await self.pipelined.execute("DEL", self.key(key))
        return removed > 0

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return (await self.incr_many([(key, amount, ttl)]))[0]

    async def incr_many(self, counts: Sequence[tuple[str, int, float | None]]) -> list[int]:
        pipelined = self.pipelined
        async with self._guard():
            # Sent in one loop turn, so in one write: one round trip for them all.
            totals: list[int] = list(
                await asyncio.gather(
                    *(pipelined.execute("INCRBY", self.key(key), n) for key, n, _ in counts)
                )
            )
            # A counter this call created is its to expire (EXPIRE NX needs Redis 7).
            await asyncio.gather(
                *(
                    pipelined.execute("PEXPIRE", self.key(key), _ms(ttl) or 1)
                    for (key, amount, ttl), total in zip(counts, totals, strict=True)
                    if total == amount and ttl is not None
                )
            )
        return totals

    async def scan(self, prefix: str) -> list[str]:
        cut = len(self.prefix)
        async with self._guard():
            return [
                raw.decode()[cut:]
                async for raw in self.client.scan_iter(match=self.key(prefix) + "*", count=500)
            ]

    async def ping(self) -> None:
        async with self._guard():
            await self.client.ping()

    async def close(self) -> None:
        await self.pipelined.close()
        await self.client.aclose(close_connection_pool=True)

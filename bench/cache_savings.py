"""Upstream fetches saved by the cache and the coalescer on a Zipf-distributed query mix.

Draws ``--searches`` queries from ``--distinct`` possible ones with Zipf weights (rank k has weight
1/k^s), sends them through ``ReadThroughCache`` from ``--concurrency`` clients at once, and lets a
fake engine answer each fetch after ``--latency`` seconds. It prints the share of searches answered
without an upstream fetch next to the best any cache could do on the same draw, 1 − distinct/total
(every query fetched exactly once), and the same figure for the cache alone, without coalescing,
where concurrent misses of one query each fetch. With ``--redis URL`` the searches are spread over
``--replicas`` replicas, each with its own connections, sharing the cache and the leases on Redis.

    .venv/bin/python bench/cache_savings.py [--searches 20000] [--distinct 5000] [--zipf 1.1]
        [--concurrency 200] [--latency 0.02] [--redis redis://127.0.0.1:6379/0 --replicas 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from serpgate.models.params import SearchParams
from serpgate.settings import CacheSettings
from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.cache import SearchCache, cache_key
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.lease import Leases, RedisLeases
from serpgate.traffic.readthrough import ReadThroughCache

# Nothing expires during a run: the figure is about sharing, not about ttl choice.
SETTINGS = CacheSettings(ttl=24 * 3600.0)


def zipf_draw(searches: int, distinct: int, s: float, rng: random.Random) -> list[str]:
    weights = [1 / rank**s for rank in range(1, distinct + 1)]
    ranks = rng.choices(range(1, distinct + 1), weights=weights, k=searches)
    return [cache_key(SearchParams(engine="bing", q=f"query {rank}")) for rank in ranks]


class Engine:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.fetches = 0

    def fetch_for(self, key: str) -> Callable[[], Awaitable[bytes]]:
        async def fetch() -> bytes:
            self.fetches += 1
            await asyncio.sleep(self.latency)
            return b'{"search_metadata":{},"organic_results":[],"q":"' + key.encode() + b'"}'

        return fetch


async def drive(
    keys: list[str], concurrency: int, search: Callable[[int, str], Awaitable[None]]
) -> float:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(keys):
        queue.put_nowait(item)

    async def client() -> None:
        while not queue.empty():
            await search(*queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started


async def with_coalescing(
    keys: list[str], args: argparse.Namespace, engine: Engine
) -> tuple[float, Counter[str]]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    stores: list[Store] = []
    replicas: list[ReadThroughCache] = []
    leases: list[Leases] = []
    for _ in range(args.replicas if args.redis else 1):
        health = StoreHealth(timeout=10.0)
        store: Store
        lease: Leases | None = None
        if args.redis:
            redis = RedisStore.from_url(args.redis, prefix)
            store, lease = redis, RedisLeases(redis, health)
            leases.append(lease)
        else:
            store = MemoryStore()
        stores.append(store)
        replicas.append(ReadThroughCache(SearchCache(store, SETTINGS, health), leases=lease))
    origins: Counter[str] = Counter()

    async def search(i: int, key: str) -> None:
        served = await replicas[i % len(replicas)].get(key, engine.fetch_for(key))
        origins[served.origin] += 1

    try:
        elapsed = await drive(keys, args.concurrency, search)
    finally:
        for answers in replicas:
            await answers.aclose()
        for lease in leases:
            await lease.aclose()
        first = stores[0]
        if isinstance(first, RedisStore):
            names = [k async for k in first.client.scan_iter(match=f"{prefix}:*", count=1000)]
            for start in range(0, len(names), 1000):
                await first.client.delete(*names[start : start + 1000])
        for store in stores:
            await store.close()
    return elapsed, origins


async def cache_alone(keys: list[str], args: argparse.Namespace, engine: Engine) -> float:
    """Read, and on a miss fetch and write: what a cache without coalescing saves."""
    cache = SearchCache(MemoryStore(), SETTINGS, StoreHealth())

    async def search(_: int, key: str) -> None:
        if await cache.get(key) is None:
            await cache.put(key, await engine.fetch_for(key)())

    return await drive(keys, args.concurrency, search)


async def main(args: argparse.Namespace) -> None:
    keys = zipf_draw(args.searches, args.distinct, args.zipf, random.Random(args.seed))
    total, distinct = len(keys), len(set(keys))
    best = 1 - distinct / total

    coalesced = Engine(args.latency)
    elapsed, origins = await with_coalescing(keys, args, coalesced)
    alone = Engine(args.latency)
    alone_elapsed = await cache_alone(keys, args, alone)

    where = f"{args.replicas} replicas on Redis" if args.redis else "one process, memory store"
    print(
        f"{total} searches, {distinct} distinct queries (Zipf s={args.zipf} over {args.distinct}),"
        f" {args.concurrency} clients, fetch latency {args.latency * 1000:.0f} ms, {where}\n"
    )
    print("| | upstream fetches | answered without a fetch | wall time |")
    print("|---|---:|---:|---:|")
    print(f"| theoretical best (1 − distinct/total) | {distinct} | {best:.2%} | |")
    print(
        f"| cache + coalescing | {coalesced.fetches} | {1 - coalesced.fetches / total:.2%} "
        f"| {elapsed:.2f} s |"
    )
    print(
        f"| cache alone, no coalescing (one process) | {alone.fetches} "
        f"| {1 - alone.fetches / total:.2%} "
        f"| {alone_elapsed:.2f} s |"
    )
    print(
        "\nhow the coalesced run's searches were served: "
        + ", ".join(f"{origin} {count}" for origin, count in origins.most_common())
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=20_000)
    parser.add_argument("--distinct", type=int, default=5_000, help="size of the query universe")
    parser.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent s")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02, help="fake fetch time, seconds")
    parser.add_argument("--redis", help="Redis URL: share cache and leases on it")
    parser.add_argument("--replicas", type=int, default=3, help="replicas, with --redis")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

"""What one rate-limit decision costs through redis-py and through ``AutoPipeline``, side by side.

Every cache hit makes one Redis call, the limiter's script. ``--callers`` tasks call
``RedisRateLimiter.hit`` back to back on one uvloop (as one worker's concurrent requests would),
``--calls`` in all per round, once with the script sent the way it was before ``AutoPipeline``
(redis-py's ``Script`` on the pooled client, under ``asyncio.timeout``) and once the way it is now;
the two alternate within every round so that machine noise falls on both. Per path it prints the
median over ``--rounds`` of the client's CPU per call (process time), calls per second (wall), and
Redis's own CPU per call (the ``INFO cpu`` delta, so other clients of that server count too).

    .venv/bin/python bench/redis_calls.py --redis redis://127.0.0.1:6379/9
        [--calls 20000] [--callers 64] [--rounds 7]

Keys live under a fresh prefix and are deleted at the end; the limits are too high to refuse.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from importlib.resources import files

import uvloop

from serpgate.store.redis import RedisStore
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.ratelimit import Limit, RedisRateLimiter

LIMITS = (Limit("minute", 10**9, 60.0), Limit("hour", 10**9, 3600.0))
SCRIPT = files("serpgate.traffic").joinpath("ratelimit.lua").read_text(encoding="utf-8")


class RedisPyRateLimiter(RedisRateLimiter):
    """The limiter with its script sent as before: redis-py ``Script``, a timer per call."""

    def __init__(self, store: RedisStore, health: StoreHealth) -> None:
        super().__init__(store, health)
        self._script = store.client.register_script(SCRIPT)
        self._budget = health.budget

    async def _run(self, keys: list[str], args: list[str | int | bytes]) -> list[int]:
        async with asyncio.timeout(self._budget):
            reply: list[int] = await self._script(keys=keys, args=args)
        return reply


@dataclass
class Round:
    cpu_us: float
    per_second: float
    server_us: float


async def server_cpu(store: RedisStore) -> float:
    info = await store.client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def one_round(
    limiter: RedisRateLimiter, store: RedisStore, calls: int, callers: int
) -> Round:
    async def caller(n: int) -> None:
        for _ in range(n):
            decision = await limiter.hit("bench", LIMITS)
            if decision.source != "redis":
                raise RuntimeError(f"a decision came from {decision.source}, not Redis")

    server_before = await server_cpu(store)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(calls // callers) for _ in range(callers)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    server = await server_cpu(store) - server_before
    done = calls // callers * callers
    return Round(cpu / done * 1e6, done / wall, server / done * 1e6)


def show(name: str, rounds: list[Round]) -> None:
    cpu = statistics.median(r.cpu_us for r in rounds)
    rate = statistics.median(r.per_second for r in rounds)
    server = statistics.median(r.server_us for r in rounds)
    spread = f"{min(r.cpu_us for r in rounds):.1f}-{max(r.cpu_us for r in rounds):.1f}"
    print(f"{name:<16} {cpu:>9.1f} ({spread:>11}) {rate:>10.0f} {server:>13.1f}")


async def run(url: str, calls: int, callers: int, rounds: int) -> None:
    prefix = f"bench:{uuid.uuid4().hex[:10]}"
    store = RedisStore.from_url(url, prefix)
    health = StoreHealth()
    paths: dict[str, RedisRateLimiter] = {
        "redis-py": RedisPyRateLimiter(store, health),
        "AutoPipeline": RedisRateLimiter(store, health),
    }
    results: dict[str, list[Round]] = {name: [] for name in paths}
    try:
        for limiter in paths.values():  # warm up: connections made, script loaded
            await one_round(limiter, store, callers * 10, callers)
        for i in range(rounds):
            order = list(paths) if i % 2 == 0 else list(reversed(paths))
            for name in order:
                results[name].append(await one_round(paths[name], store, calls, callers))
    finally:
        keys = [k async for k in store.client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await store.client.delete(*keys)
        await store.close()
    print(f"{callers} concurrent callers, {calls} limiter calls per round, {rounds} rounds")
    print(
        f"{'path':<16} {'client CPU µs/call (min-max)':>27} {'calls/s':>10} {'Redis µs/call':>13}"
    )
    for name, measured in results.items():
        show(name, measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    uvloop.run(run(args.redis, args.calls, args.callers, args.rounds))
    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()

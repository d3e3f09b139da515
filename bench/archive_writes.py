"""What archiving a cache hit costs Redis: bytes received, CPU and memory per hit.

Every cache hit is archived for ``GET /searches/{id}.json`` in the same script call that admits
it. This serves Google's sandbox and serpgate in this process, on the Redis given, fills the cache
with one search, then makes ``hits`` cache hits of it, ``rounds`` times, and reads Redis's own
``INFO`` around each round: ``total_net_input_bytes`` (all that clients sent it),
``used_cpu_user + used_cpu_sys`` and ``used_memory``. Each figure is per hit, the median over the
rounds (range in brackets). Nothing else should be using that Redis meanwhile: its figures are the
whole server's.

    .venv/bin/python -m bench.archive_writes --redis redis://127.0.0.1:6379/9
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from typing import Any

import httpx
import redis.asyncio as aioredis
import uvicorn
from aiohttp import web
from pydantic import SecretStr

from bench.harness import BENCH_PLAN, delete_prefix
from serpgate.app import create_app
from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.server import create_sandbox_app
from serpgate.settings import Settings

KEY = "sg_archive_writes"


async def redis_figures(client: aioredis.Redis) -> tuple[int, float, int]:
    """(bytes received, CPU seconds, memory used) of the whole Redis server so far."""
    info: dict[str, Any] = await client.info()
    cpu = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return int(info["total_net_input_bytes"]), cpu, int(info["used_memory"])


async def measure(args: argparse.Namespace) -> list[dict[str, float]]:
    runner = web.AppRunner(create_sandbox_app(all_emulators(), walled=()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sandbox = f"http://127.0.0.1:{runner.addresses[0][1]}"
    settings = Settings(
        api_keys=SecretStr(f"bench:bench:{KEY}"),
        plans={"bench": BENCH_PLAN.model_dump()},
        engine_urls={e.engine: f"{sandbox}/{e.engine}" for e in all_emulators()},
        redis_url=SecretStr(args.redis),
        key_prefix=args.prefix,
        upstream={"transports": {"google": "http"}},
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/search.json"
    query = {"engine": "google", "q": "archived hits", "num": str(args.num)}
    params = {**query, "api_key": KEY}
    redis = aioredis.Redis.from_url(args.redis)
    rounds = []
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            first = await client.get(url, params=params)
            first.raise_for_status()

            async def hits(count: int) -> int:
                size = 0
                for _ in range(count):
                    response = await client.get(url, params=params)
                    response.raise_for_status()
                    size = len(response.content)
                return size

            await asyncio.gather(*(hits(20) for _ in range(args.concurrency)))
            for _ in range(args.rounds):
                keys_before = await redis.dbsize()
                before = await redis_figures(redis)
                each = args.hits // args.concurrency
                sizes = await asyncio.gather(*(hits(each) for _ in range(args.concurrency)))
                after = await redis_figures(redis)
                made = each * args.concurrency
                rounds.append(
                    {
                        "answer_bytes": float(max(sizes)),
                        "bytes_in": (after[0] - before[0]) / made,
                        "cpu_us": (after[1] - before[1]) / made * 1e6,
                        "memory": (after[2] - before[2]) / made,
                        "keys": (await redis.dbsize() - keys_before) / made,
                    }
                )
    finally:
        await redis.aclose()
        server.should_exit = True
        await task
        await runner.cleanup()
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", required=True, help="a Redis nothing else uses meanwhile")
    parser.add_argument("--hits", type=int, default=4000, help="cache hits per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--num", type=int, default=30, help="results per page (answer size)")
    parser.add_argument("--prefix", default=f"bench-archive-{os.getpid()}")
    args = parser.parse_args()
    try:
        rounds = asyncio.run(measure(args))
    finally:
        delete_prefix(args.redis, args.prefix)
    print(f"{len(rounds)} rounds of {args.hits} hits, load average {os.getloadavg()}")
    for name in ("answer_bytes", "bytes_in", "cpu_us", "memory", "keys"):
        values = [r[name] for r in rounds]
        print(
            f"  {name:>12} per hit: {statistics.median(values):10.2f} "
            f"({min(values):.2f}-{max(values):.2f})"
        )


if __name__ == "__main__":
    main()

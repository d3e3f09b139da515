"""Reliability against the hostile sandbox: the same searches without, then with, the resilience.

Each run starts a fresh hostile world on loopback (so neither inherits the other's bans): the
sandbox engines under the ``hostile`` fault profile, and ``--proxies`` forward proxies on
127.0.0.2+ of which ``--bad-share`` are bad (dead, slow, forbidden, dealt in turn). The same
searches then go through the real ``UpstreamClient`` and ``Fetcher`` twice:

- naive: retries and pruning off (one attempt per search, ``proxies.eject = false``);
- resilient: the default ``ResilienceSettings`` (3 attempts with full-jitter backoff under the
  retry budget, ejection and pruning, the engine's breaker).

It prints success rate, upstream attempts per search and latency for both, with the sandbox's
own counts of what it served and injected beside each, so the hostility is measured, not claimed.
Not a test: nothing asserts, and each run is bounded by ``--searches`` and ``--max-seconds``.

    .venv/bin/python bench/reliability.py [--searches 3000] [--rate 40] [--seed 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson
from pydantic import SecretStr

from serpgate.engines.bing import BingEngine
from serpgate.errors import SerpgateError
from serpgate.models.params import SearchParams
from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.faults import fault_profile
from serpgate.sandbox.world import ProxyMix, SandboxWorld
from serpgate.settings import (
    BreakerSettings,
    ProxySettings,
    ResilienceSettings,
    RetrySettings,
    UpstreamSettings,
)
from serpgate.upstream.client import UpstreamClient
from serpgate.upstream.fetcher import Fetcher

WORDS = "coffee tea espresso garden python river museum bakery station harbor".split()


@dataclass
class Run:
    name: str
    searches: int = 0
    ok: int = 0
    attempts: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = True
    world: dict[str, int] = field(default_factory=dict)
    proxies: dict[str, dict[str, int]] = field(default_factory=dict)
    upstream: dict[str, object] = field(default_factory=dict)


def settings_for(name: str, proxy_urls: list[str], compress: float) -> ResilienceSettings:
    urls = [SecretStr(url) for url in proxy_urls]
    if name == "naive":
        return ResilienceSettings(
            proxies=ProxySettings(urls=urls, eject=False), retry=RetrySettings(max_attempts=1)
        )
    # The defaults, with their durations on the sandbox's compressed clock: its bans last
    # seconds where a real engine's last minutes, and a 30 s ejection would outlast the run.
    proxies, breaker = ProxySettings(), BreakerSettings()
    return ResilienceSettings(
        proxies=ProxySettings(
            urls=urls,
            eject_base=proxies.eject_base / compress,
            eject_max=proxies.eject_max / compress,
            prune_window=proxies.prune_window / compress,
        ),
        breaker=breaker.model_copy(update={"open_for": breaker.open_for / compress}),
    )


async def run(name: str, args: argparse.Namespace) -> Run:
    result = Run(name)
    profile = fault_profile("hostile", seed=args.seed)
    mix = ProxyMix.with_bad_share(args.proxies, args.bad_share, slow_delay=args.timeout * 2)
    async with SandboxWorld([BingEmulator()], profile, mix) as world:
        client = UpstreamClient(UpstreamSettings(connect_timeout=1.0, total_timeout=args.timeout))
        fetcher = Fetcher.from_settings(
            settings_for(name, world.proxy_urls, args.compress),
            client,
            rng=random.Random(f"service {args.seed}"),
        )
        engine = BingEngine(world.engine_urls["bing"])
        slots = asyncio.Semaphore(args.concurrency)

        async def one(n: int) -> None:
            params = SearchParams(engine="bing", q=f"{WORDS[n % len(WORDS)]} {n}")
            started = time.perf_counter()
            try:
                await fetcher.fetch(engine, params, time.monotonic() + args.deadline)
            except SerpgateError as error:
                result.failures[type(error).__name__] += 1
            else:
                result.ok += 1
            finally:
                slots.release()
            result.latencies.append(time.perf_counter() - started)

        async def arrivals() -> None:
            # Open loop at --rate, as clients arrive, not as fast as answers come back: the
            # engines' per-address limits are about rate, so the rate must be the same for both.
            tasks = []
            first = time.perf_counter()
            for n in range(args.searches):
                await asyncio.sleep(max(0.0, first + n / args.rate - time.perf_counter()))
                await slots.acquire()
                result.searches += 1
                tasks.append(asyncio.create_task(one(n)))
            await asyncio.gather(*tasks)

        started = time.perf_counter()
        try:
            async with asyncio.timeout(args.max_seconds):
                await arrivals()
        except TimeoutError:
            result.finished = False
        result.seconds = time.perf_counter() - started
        # Every search's attempts, the failed ones' included.
        result.attempts = fetcher.stats.snapshot()["search_attempts"].get("bing", 0)
        result.world = world.engine_stats()
        result.proxies = world.proxy_stats()
        snapshot = fetcher.snapshot()
        states = Counter(
            entry["state"] for entry in snapshot["proxies"]["engines"].get("bing", {}).values()
        )
        result.upstream = {
            "exit_states": dict(states),
            "budget": snapshot["budgets"].get("bing", {}),
            "breaker": snapshot["breakers"].get("bing", {}),
        }
        await client.close()
    return result


def summary(result: Run) -> dict[str, object]:
    searches = max(result.searches, 1)
    latencies = sorted(result.latencies) or [0.0]
    proxy_kinds: Counter[str] = Counter()
    for label, counts in result.proxies.items():
        kind = label.rsplit("(", 1)[1].rstrip(")")
        proxy_kinds[f"{kind} proxies: requests"] += counts.get("requests", 0)
    injected = {k.removeprefix("bing."): v for k, v in result.world.items()}
    return {
        "searches": result.searches,
        "finished": result.finished,
        "succeeded": result.ok,
        "success rate": f"{100 * result.ok / searches:.2f}%",
        "attempts per search": round(result.attempts / searches, 3),
        "failures": dict(result.failures.most_common()),
        "p50 latency ms": round(statistics.median(latencies) * 1000, 1),
        "p95 latency ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "wall seconds": round(result.seconds, 1),
        "engine (sandbox counts)": injected,
        "proxies (sandbox counts)": dict(proxy_kinds),
        "upstream": result.upstream,
    }


def table(rows: dict[str, dict[str, object]]) -> str:
    names = list(rows)
    keys = list(dict.fromkeys(k for row in rows.values() for k in row))
    lines = [f"| | {' | '.join(names)} |", f"|---|{'---|' * len(names)}"]
    for key in keys:
        cells = []
        for name in names:
            value = rows[name].get(key, "")
            if isinstance(value, dict):
                value = "<br>".join(f"{k}: {v}" for k, v in value.items())
            cells.append(str(value))
        lines.append(f"| {key} | {' | '.join(cells)} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    rows = {}
    for name in ("naive", "resilient"):
        rows[name] = summary(await run(name, args))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=40.0, help="searches started a second")
    parser.add_argument("--concurrency", type=int, default=64, help="searches in flight, at most")
    parser.add_argument("--proxies", type=int, default=10)
    parser.add_argument("--bad-share", type=float, default=0.3)
    parser.add_argument("--timeout", type=float, default=2.0, help="one attempt's limit, s")
    parser.add_argument("--deadline", type=float, default=10.0, help="one search's limit, s")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="one run's limit, s")
    parser.add_argument(
        "--compress", type=float, default=16.0, help="divide the resilient run's durations by"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rows = asyncio.run(main_async(args))
    print(f"hostile profile: {fault_profile('hostile', seed=args.seed).model_dump()}")
    print(f"proxies: {ProxyMix.with_bad_share(args.proxies, args.bad_share)}\n")
    print(table(rows))
    if args.json:
        with open(args.json, "wb") as out:
            out.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

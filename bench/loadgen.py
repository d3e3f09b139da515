"""An asyncio load generator, run as a process of its own: open loop, burst or closed loop.

    python -m bench.loadgen PLAN.json RESULT.json

The plan names a base URL, the request paths (used in order, cycling) and a mode:

- ``open``: request i is due at start + i/rate whatever happened to the ones before, and its
  latency counts from when it was due, not from when it went out, so a stalled server cannot hide
  the requests queued behind it (no coordinated omission). How late sends left (``send_lag``)
  says whether this generator kept its schedule;
- ``burst``: ``count`` requests at once, each on its own connection, latency from the burst's
  start;
- ``closed``: ``connections`` clients each sending the next request when the last one is
  answered, for ``seconds`` or ``count`` answers (the stand-in for wrk where it is absent).

The result holds every latency (ms), statuses, errors, answers per second and the generator's own
CPU time, so the report can say whether it was the bottleneck. Every run is bounded by
``max_seconds``.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.stats import percentile


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Recorder:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.per_second: Counter[int] = Counter()
        self.send_lag: list[float] = []
        self.bytes = 0

    async def one(self, session: aiohttp.ClientSession, url: str, due: float) -> None:
        try:
            async with session.get(url) as response:
                body = await response.read()
                self.bytes += len(body)
                self.statuses[str(response.status)] += 1
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.errors[type(exc).__name__] += 1
        now = time.perf_counter()
        self.latencies.append((now - due) * 1000)
        self.per_second[int(now - self.started)] += 1


async def open_loop(plan: dict[str, Any], rec: Recorder) -> None:
    base, paths = plan["base"], plan["paths"]
    rate, count = float(plan["rate"]), int(plan["count"])
    connector = aiohttp.TCPConnector(limit=int(plan.get("max_in_flight", 1000)))
    timeout = aiohttp.ClientTimeout(total=float(plan.get("timeout", 30)))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        rec.started = start
        for i in range(count):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            rec.send_lag.append(max(0.0, time.perf_counter() - due) * 1000)
            task = asyncio.create_task(rec.one(session, base + paths[i % len(paths)], due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)


async def burst(plan: dict[str, Any], rec: Recorder) -> None:
    base, paths, count = plan["base"], plan["paths"], int(plan["count"])
    # One connection per request: the point is that they are all in flight together.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=float(plan.get("timeout", 60)))
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        rec.started = start
        await asyncio.gather(
            *(rec.one(session, base + paths[i % len(paths)], start) for i in range(count))
        )


async def closed_loop(plan: dict[str, Any], rec: Recorder) -> None:
    base, paths = plan["base"], plan["paths"]
    connections = int(plan["connections"])
    count = int(plan.get("count", 0))
    seconds = float(plan.get("seconds", 0))
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=float(plan.get("timeout", 30)))
    sent = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        rec.started = start

        async def client() -> None:
            nonlocal sent
            while True:
                if count and sent >= count:
                    return
                if seconds and time.perf_counter() - start >= seconds:
                    return
                i = sent
                sent += 1
                await rec.one(session, base + paths[i % len(paths)], time.perf_counter())

        await asyncio.gather(*(client() for _ in range(connections)))


MODES = {"open": open_loop, "burst": burst, "closed": closed_loop}


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    rec = Recorder()
    cpu_before, wall_before = cpu_seconds(), time.perf_counter()
    finished = True
    try:
        async with asyncio.timeout(float(plan.get("max_seconds", 600))):
            await MODES[plan["mode"]](plan, rec)
    except TimeoutError:
        finished = False
    wall = time.perf_counter() - wall_before
    cpu = cpu_seconds() - cpu_before
    answered = len(rec.latencies)
    lags = sorted(rec.send_lag)
    return {
        "mode": plan["mode"],
        "finished": finished,
        "answered": answered,
        "wall_s": wall,
        "rps": answered / wall if wall > 0 else 0.0,
        "latencies_ms": rec.latencies,
        "statuses": dict(rec.statuses),
        "errors": dict(rec.errors),
        "per_second": {str(k): v for k, v in sorted(rec.per_second.items())},
        "send_lag_ms": {
            "p50": percentile(lags, 50),
            "p99": percentile(lags, 99),
            "max": lags[-1] if lags else 0.0,
        },
        "bytes": rec.bytes,
        "cpu_s": cpu,
        "cpu_share": cpu / wall if wall > 0 else 0.0,
        "tool": "bench.loadgen",
    }


def main() -> None:
    plan_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    plan = orjson.loads(plan_path.read_bytes())
    try:
        import uvloop
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio works too
        result = asyncio.run(run(plan))
    else:
        result = uvloop.run(run(plan))
    result_path.write_bytes(orjson.dumps(result))


if __name__ == "__main__":
    main()

"""Does parsing big pages stall other requests? The parse modes side by side in one run.

For each mode (inline, thread, process) a ``serpgate serve`` process is started whose Google
engine points at a local server answering every search with the largest captured Google page
(~2 MB, read from ../shared/fixtures/serp). An open-loop client sends cheap requests (an archived
search by id: authentication plus a store read, the path a cache hit takes) at a fixed rate and
records each latency from its intended send time, so a stalled loop cannot hide queued requests
(no coordinated omission). Each mode gets two phases: cheap requests alone, then the same cheap
load while ``--heavy`` clients search back to back, every search parsing the 2 MB page.

    .venv/bin/python bench/event_loop.py [--rate 200] [--seconds 6] [--heavy 4]

Loopback only; every server started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

PAGE = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/serp/google/desktop_2023-04-21_q-coffee.html"
)
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_big_page_server(html: str) -> tuple[web.AppRunner, str]:
    async def serve(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/google/search", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/google"


def start_service(mode: str, engine_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "SERPGATE_PORT": str(port),
        "SERPGATE_API_KEYS": f"bench:unlimited:{KEY}",
        "SERPGATE_ENGINE_URLS": orjson.dumps({"google": engine_url}).decode(),
        # A fixed page without a wall: the event loop, not the transport, is measured here.
        "SERPGATE_UPSTREAM__TRANSPORTS": '{"google": "http"}',
        "SERPGATE_PARSE__MODE": mode,
        "SERPGATE_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "serpgate.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"service at {url} did not start")


async def cheap_load(
    session: aiohttp.ClientSession, url: str, rate: float, seconds: float
) -> list[float]:
    """Open loop: request i is due at start + i/rate; latency counts from when it was due."""
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(due: float) -> None:
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"cheap request answered {response.status}")
        latencies.append((time.perf_counter() - due) * 1000)

    tasks = []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return latencies


async def heavy_load(
    session: aiohttp.ClientSession, url: str, stop: asyncio.Event, counter: list[int]
) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        params = {"engine": "google", "q": f"coffee {i}", "api_key": KEY}
        async with session.get(f"{url}/search.json", params=params) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"heavy search answered {response.status}")
        counter[0] += 1


@dataclass(frozen=True)
class Phase:
    p50: float
    p99: float

    @classmethod
    def of(cls, latencies: list[float]) -> Phase:
        cuts = statistics.quantiles(latencies, n=100)
        return cls(p50=round(cuts[49], 2), p99=round(cuts[98], 2))


@dataclass(frozen=True)
class ModeResult:
    mode: str
    alone: Phase
    parsing: Phase
    searches_per_s: float

    def row(self) -> str:
        a, p = self.alone, self.parsing
        return (
            f"| {self.mode} | {a.p50} ms | {a.p99} ms | {p.p50} ms | {p.p99} ms "
            f"| {p.p99 / a.p99:.1f}x | {self.searches_per_s} |"
        )


async def run_mode(mode: str, engine_url: str, args: argparse.Namespace) -> ModeResult:
    proc, url = start_service(mode, engine_url)
    connector = aiohttp.TCPConnector(limit=256)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, url)
            seed = {"engine": "google", "q": "seed", "api_key": KEY}
            async with session.get(f"{url}/search.json", params=seed) as response:
                search_id = (await response.json())["search_metadata"]["id"]
            cheap_url = f"{url}/searches/{search_id}.json?api_key={KEY}"
            alone = await cheap_load(session, cheap_url, args.rate, args.seconds)
            stop, done = asyncio.Event(), [0]
            heavy = [
                asyncio.create_task(heavy_load(session, url, stop, done)) for _ in range(args.heavy)
            ]
            await asyncio.sleep(0.5)
            started, before = time.perf_counter(), done[0]
            loaded = await cheap_load(session, cheap_url, args.rate, args.seconds)
            parsed_per_s = (done[0] - before) / (time.perf_counter() - started)
            stop.set()
            await asyncio.gather(*heavy)
        return ModeResult(mode, Phase.of(alone), Phase.of(loaded), round(parsed_per_s, 1))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200, help="cheap requests per second")
    parser.add_argument("--seconds", type=float, default=6, help="length of each phase")
    parser.add_argument("--heavy", type=int, default=4, help="concurrent 2 MB searches")
    parser.add_argument("--modes", default="inline,thread,process")
    args = parser.parse_args()
    html = PAGE.read_text(encoding="utf-8")
    runner, engine_url = await start_big_page_server(html)
    try:
        results = [await run_mode(m, engine_url, args) for m in args.modes.split(",")]
    finally:
        await runner.cleanup()
    print(
        f"cheap path (GET /searches/{{id}}) at {args.rate:.0f}/s, {args.seconds:.0f} s a phase; "
        f"{args.heavy} clients searching a {len(html) // 1024} KB Google page back to back\n"
    )
    print("| parse mode | p50 alone | p99 alone | p50 parsing | p99 parsing | p99 ratio | 2 MB/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(result.row())


if __name__ == "__main__":
    asyncio.run(main())

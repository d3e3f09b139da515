"""What an uncached search pays for its page besides the engine: compressing it, and the pool.

Every fetched page is compressed for the archive on the event loop, and a page above
``SERPGATE_PARSE__INLINE_BELOW`` goes to the parser pool and back. This times, on one captured
page (the 650 KB Google page of scenario 2 by default, read from ../shared/fixtures/serp):
zlib's and ISA-L's level 1 (the archive's format is zlib's either way), parsing inline, and a
one-worker ``ProcessPoolExecutor`` called as ``PageParser`` calls it, once with a call that only
receives the page (the transport alone) and once parsing it, a call every 50 ms as at a modest
rate. Medians, in milliseconds; docs/performance.md has the figures.

    .venv/bin/python bench/page_costs.py [--page google/desktop_2023-04-21_q-google.html]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
import zlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from isal import isal_zlib

from serpgate.engines.base import Engine
from serpgate.engines.registry import build_engines
from serpgate.models.params import SearchParams

SERP_DIR = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "serp"
PAGE = "google/desktop_2023-04-21_q-google.html"


def _median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _receive(html: str) -> int:
    return len(html)


@functools.cache
def _engines() -> dict[str, Engine]:
    return build_engines({})


def _parse(engine: str, html: str, params: SearchParams) -> int:
    return len(_engines()[engine].parse(html, params).organic_results or [])


async def _pool_ms(html: str, engine: str, params: SearchParams, runs: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    figures: dict[str, float] = {}
    with ProcessPoolExecutor(1) as pool:

        def receive() -> Awaitable[int]:
            return loop.run_in_executor(pool, _receive, html)

        def parse() -> Awaitable[int]:
            return loop.run_in_executor(pool, _parse, engine, html, params)

        await parse()  # the worker warmed up
        for name, call in (("pool, page sent, nothing done", receive), ("pool, parse", parse)):
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await call()
                times.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
            figures[name] = statistics.median(times) * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", default=PAGE, help="a page under ../shared/fixtures/serp")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    path = SERP_DIR / args.page
    raw = path.read_bytes()
    html = raw.decode("utf-8", errors="replace")
    engine = path.parent.name
    params = SearchParams(engine=engine, q="google")
    parse = _engines()[engine].parse
    figures = {
        "zlib level 1": _median_ms(lambda: zlib.compress(raw, 1), args.runs),
        "ISA-L level 1": _median_ms(lambda: isal_zlib.compress(raw, 1), args.runs),
        "parse inline": _median_ms(lambda: parse(html, params), args.runs),
        **asyncio.run(_pool_ms(html, engine, params, args.runs)),
    }
    print(f"{args.page}: {len(raw) / 1024:.0f} KB")
    print(
        f"compressed: zlib {len(zlib.compress(raw, 1)) / 1024:.0f} KB, "
        f"ISA-L {len(isal_zlib.compress(raw, 1)) / 1024:.0f} KB"
    )
    print("| what | median ms |\n|---|---:|")
    for name, ms in figures.items():
        print(f"| {name} | {ms:.2f} |")


if __name__ == "__main__":
    main()

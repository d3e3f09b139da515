"""What passing Google's wall costs: searches/s and CPU-seconds per search, three ways side by side.

``python -m bench.browser [--searches 40] [--concurrency 4] [--rounds 3]``

- ceiling: plain aiohttp against the sandbox Google with its wall lifted (what a search cost
  before January 2025);
- cookie path (``wallpass``): the walled sandbox; Chromium passes the wall once, curl_cffi with
  Chrome's fingerprint and the cookie fetches the rest;
- browser alone: every search a Chromium page.

The sandbox runs in a process of its own (``serpgate sandbox``), so the CPU counted is the
client's alone: this process plus every Chromium process under it, read from /proc before and
after. Scenarios run in turns, ``--rounds`` times, and the table gives medians, since this
machine is shared. Browser memory is the PSS of all Chromium processes sampled while
``max_pages`` pages render at once (the pool's bound).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from serpgate.engines.google.engine import GoogleEngine
from serpgate.models.params import SearchParams
from serpgate.settings import BrowserSettings, UpstreamSettings
from serpgate.upstream.transports import EngineTransports

_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent, command line) of every live process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            table[int(entry.name)] = (int(stat[1]), command)
    return table


def _ours(exclude: int) -> list[int]:
    """This process and its descendants, less the ``exclude`` subtree (the sandbox)."""
    table = _processes()
    ours, grew = {os.getpid()}, True
    while grew:
        grew = False
        for pid, (parent, _) in table.items():
            if parent in ours and pid not in ours and pid != exclude:
                ours.add(pid)
                grew = True
    return sorted(ours)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, and the children's that were reaped (Chromium's short-lived helpers).
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / _TICKS


def _chromium_pss_mb(exclude: int) -> float:
    table = _processes()
    total = 0
    for pid in _ours(exclude):
        if "chrom" not in table.get(pid, (0, ""))[1]:
            continue
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total / 1024


async def _run(
    search: Callable[[int], Awaitable[None]], count: int, concurrency: int, sandbox: int
) -> tuple[float, float]:
    """(searches/s, CPU-seconds per search) for ``count`` searches, ``concurrency`` at once."""
    queue = iter(range(count))
    cpu_before = _cpu_seconds(_ours(sandbox))
    started = time.perf_counter()

    async def worker() -> None:
        for n in queue:
            await search(n)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(_ours(sandbox)) - cpu_before
    return count / elapsed, cpu / count


def main(args: argparse.Namespace) -> None:
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "serpgate.cli", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        line = sandbox.stdout.readline()
        found = re.search(r"at (http://[\d.]+:\d+)/<engine>", line)
        if found is None:
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        asyncio.run(_bench(args, found.group(1), sandbox.pid))
    finally:
        sandbox.terminate()
        sandbox.wait(10)


async def _bench(args: argparse.Namespace, base: str, sandbox: int) -> None:
    engine = GoogleEngine(f"{base}/google")
    engines = {"google": engine}
    browser = BrowserSettings(max_pages=args.concurrency)
    cookie = EngineTransports.build(UpstreamSettings(), browser, engines)
    rendered = EngineTransports.build(
        UpstreamSettings(transports={"google": "browser"}), browser, engines
    )
    plain = EngineTransports.build(
        UpstreamSettings(transports={"google": "http"}), browser, engines
    )
    if cookie.browser.missing:
        raise SystemExit(cookie.browser.missing)
    memory: list[float] = []

    def searcher(transports: EngineTransports, label: str) -> Callable[[int], Awaitable[None]]:
        async def search(n: int) -> None:
            params = SearchParams(engine="google", q=f"{label} query {n}")
            raw = await transports.send("google", engine.build_request(params), None, 20)
            if len(engine.parse(raw.body, params).organic_results) != 10:
                raise RuntimeError(f"{label}: no results")
            if transports is rendered and n % args.concurrency == args.concurrency - 1:
                memory.append(_chromium_pss_mb(sandbox))

        return search

    async with aiohttp.ClientSession() as control:

        async def wall(on: bool) -> None:
            url = f"{base}/_sandbox/wall?engine=google&on={int(on)}"
            async with control.post(url) as response:
                response.raise_for_status()

        results: dict[str, list[tuple[float, float]]] = {"ceiling": [], "cookie": [], "browser": []}
        try:
            for _ in range(args.rounds):
                await wall(False)
                results["ceiling"].append(
                    await _run(searcher(plain, "plain"), args.searches, args.concurrency, sandbox)
                )
                await wall(True)
                results["cookie"].append(
                    await _run(searcher(cookie, "cookie"), args.searches, args.concurrency, sandbox)
                )
                results["browser"].append(
                    await _run(
                        searcher(rendered, "browser"), args.searches, args.concurrency, sandbox
                    )
                )
        finally:
            for transports in (cookie, rendered, plain):
                await transports.close()
    share = cookie.wallpass.snapshot()["google"]["browser_share"]
    _print_table(args, results, share, memory)


def _print_table(
    args: argparse.Namespace,
    results: dict[str, list[tuple[float, float]]],
    share: float,
    memory: list[float],
) -> None:
    """The medians as a Markdown table, each way against the no-wall ceiling."""
    ceiling = statistics.median(r[0] for r in results["ceiling"])
    print(
        f"{args.searches} Google searches x {args.rounds} rounds, {args.concurrency} at once "
        f"(medians; sandbox in its own process, client CPU incl. Chromium)\n"
    )
    print("| way | searches/s | CPU-s per search | vs ceiling (rate) |")
    print("|---|---|---|---|")
    names = {
        "ceiling": "aiohttp, no wall (ceiling)",
        "cookie": "wallpass: browser once, then cookie",
        "browser": "browser alone",
    }
    for key, label in names.items():
        rate = statistics.median(r[0] for r in results[key])
        cpu = statistics.median(r[1] for r in results[key])
        print(f"| {label} | {rate:.1f} | {cpu:.4f} | {rate / ceiling:.2f}x |")
    print(f"\nbrowser share of wallpass fetches: {share:.1%}")
    if memory:
        print(
            f"Chromium PSS with {args.concurrency} pages (pool bound): "
            f"median {statistics.median(memory):.0f} MB, max {max(memory):.0f} MB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    main(parser.parse_args())

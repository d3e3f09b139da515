"""Reliability through the real service against the hostile sandbox, side by side in one run.

Each run starts ``serpgate demo --profile hostile`` as a process of its own (a fresh world, so no
run inherits another's bans: the sandbox engines, ``--proxies`` forward proxies of which
``--bad-share`` are dead, slow or forbidden, and the service wired to them with an unlimited key)
and sends it distinct searches over HTTP, as clients do. ``--clock-speed`` is the demo's one
clock: it speeds up the sandbox's bans and latency and the service's rests, breakers and backoff
together; there is no way to speed up one side only.

Policies, each a set of the service's own settings (environment variables):

- ``naive``: retries and pruning off (one attempt per search, ``proxies.eject = false``, no
  retries after an exit's fault either);
- ``resilient``: every setting at its default.

- ``before``: the policy before issue 13 (it is not kept as a setting: its rest escalation and
  budget accounting were bugs, not options), as that code had it: ``serpgate serve`` from the
  source tree ``--before-tree`` (``git archive 55bd073 src | tar -x -C DIR``) against today's
  ``serpgate sandbox --profile hostile``, each a process, on real time (clock speed 1).

Per run: success rate, upstream attempts per search (the service's own count, from
``/admin/upstream``), latency p50/p95 on the clock, what failed, and the sandbox's counts of what
it injected. ``--sustain 10,50,200`` instead finds, per pool size, the highest open-loop rate
(searches per clock second, one engine) that keeps at least 99.9% success over ``--sustain-for``
clock seconds, beside the capacity model's prediction (``docs/capacity.md``).

Not a test: nothing asserts; every run is bounded by ``--searches`` and ``--max-seconds``.

    .venv/bin/python bench/reliability.py [--searches 4000] [--concurrency 40] [--json out.json]
    .venv/bin/python bench/reliability.py --sustain 10,50 --clock-speed 20 --engines bing
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson

from serpgate.sandbox.faults import fault_profile
from serpgate.sandbox.world import ProxyMix
from serpgate.upstream.capacity import RENEWAL, all_out, sustainable_rate

ROOT = Path(__file__).resolve().parents[1]
WORDS = "coffee tea espresso garden python river museum bakery station harbor".split()
POLICIES: Mapping[str, Mapping[str, str]] = {
    "naive": {
        "SERPGATE_RESILIENCE__RETRY__MAX_ATTEMPTS": "1",
        "SERPGATE_RESILIENCE__RETRY__EXIT_RETRIES": "0",
        "SERPGATE_RESILIENCE__PROXIES__EJECT": "false",
    },
    "before": {},
    "resilient": {},
}
# The faults the sandbox counts, summed over the engines searched.
FAULTS = ("captcha", "error", "reset", "truncate", "slow", "outage")


@dataclass
class Demo:
    url: str
    sandbox_url: str
    key: str
    admin_key: str
    clock_speed: float
    # The processes serving the run (sandbox and service), whose CPU time is counted.
    pids: tuple[int, ...]


@contextmanager
def started(
    args: argparse.Namespace,
    command: list[str],
    env: Mapping[str, str],
    out: IO[bytes] | int = subprocess.DEVNULL,
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` under ``timeout`` (bounded by ``--max-seconds``), logging to ``--log`` and
    writing its standard output to ``out``; stopped after."""
    bounded = ["timeout", str(int(args.max_seconds) + 120), sys.executable, *command]
    environ = {**os.environ, "SERPGATE_LOG_LEVEL": "warning", **env}
    with (
        open(args.log, "ab") as log,
        subprocess.Popen(  # noqa: S603  # our own command line, no shell
            bounded, env=environ, stdout=out, stderr=log, cwd=ROOT
        ) as proc,
    ):
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def demo(args: argparse.Namespace, proxies: int, env: Mapping[str, str]) -> Iterator[Demo]:
    """``serpgate demo --profile hostile`` on free ports: sandbox and service in one process."""
    port, sandbox_port = free_port(), free_port()
    key, admin = "bench_" + secrets.token_hex(8), secrets.token_hex(8)
    command = [
        "-m", "serpgate.cli", "demo",
        "--profile", "hostile",
        "--port", str(port), "--sandbox-port", str(sandbox_port),
        "--proxies", str(proxies), "--bad-share", str(args.bad_share),
        "--api-key", key, "--clock-speed", str(args.clock_speed),
    ]  # fmt: skip
    with started(args, command, {"SERPGATE_ADMIN_KEY": admin, **env}) as proc:
        yield Demo(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{sandbox_port}",
            key,
            admin,
            args.clock_speed,
            (proc.pid,),
        )


@contextmanager
def before_demo(args: argparse.Namespace, proxies: int) -> Iterator[Demo]:
    """Today's sandbox (``serpgate sandbox --profile hostile``), and the service as it was before
    issue 13 (``serpgate serve`` from the source tree ``--before-tree``) pointed at it with an
    unlimited key and its per-key in-flight cap lifted. That service has no shared clock, so
    both run on real time: clock speed 1 only."""
    if args.clock_speed != 1:
        raise SystemExit("the policy before issue 13 runs on real time only: --clock-speed 1")
    port, sandbox_port = free_port(), free_port()
    key, admin = "bench_" + secrets.token_hex(8), secrets.token_hex(8)
    command = [
        "-m", "serpgate.cli", "sandbox", "--profile", "hostile", "--print-env",
        "--port", str(sandbox_port), "--proxies", str(proxies), "--bad-share", str(args.bad_share),
    ]  # fmt: skip
    with tempfile.TemporaryFile() as out, started(args, command, {}, out) as sandbox:
        env = sandbox_env(out)
        env |= {
            "PYTHONPATH": str(Path(args.before_tree, "src").resolve()),
            "SERPGATE_API_KEYS": f"bench:unlimited:{key}",
            "SERPGATE_ADMIN_KEY": admin,
            "SERPGATE_TRAFFIC__LIMITS__IN_FLIGHT_PER_KEY": str(args.concurrency * 10),
            "SERPGATE_PORT": str(port),
        }
        with started(args, ["-m", "serpgate.cli", "serve"], env) as service:
            yield Demo(
                f"http://127.0.0.1:{port}",
                f"http://127.0.0.1:{sandbox_port}",
                key,
                admin,
                1.0,
                (sandbox.pid, service.pid),
            )


def sandbox_env(out: IO[bytes], within: float = 90.0) -> dict[str, str]:
    """The ``SERPGATE_*`` settings ``serpgate sandbox --print-env`` wrote to ``out``: its engines'
    addresses and its proxies, two ``export`` lines, once it has started."""
    deadline = time.monotonic() + within
    while True:
        out.seek(0)
        lines = out.read().decode().splitlines()
        if len(lines) >= 2:
            return dict(
                line.removeprefix("export ").replace("'", "").split("=", 1) for line in lines[:2]
            )
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """CPU seconds ``pid`` and its descendants (the demo under ``timeout``, and any worker it
    starts) have used so far, user and system, from ``/proc``; a process gone counts 0."""
    proc = Path(f"/proc/{pid}")
    try:
        fields = (proc / "stat").read_text().rpartition(")")[2].split()
        children = (proc / "task" / str(pid) / "children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def ready(session: aiohttp.ClientSession, service: Demo, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            async with session.get(f"{service.url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the demo did not start")
        await asyncio.sleep(0.2)


@dataclass
class Run:
    name: str
    searches: int = 0
    ok: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = True
    attempts: int = 0
    # Searches begun after the warm-up (``--warmup`` clock seconds): the steady state's.
    settled: int = 0
    settled_ok: int = 0
    # The demo process's CPU seconds over the run's real seconds, and the load average after.
    cpu_share: float = 0.0
    load: float = 0.0
    injected: dict[str, int] = field(default_factory=dict)
    upstream: dict[str, Any] = field(default_factory=dict)


async def one(
    session: aiohttp.ClientSession,
    service: Demo,
    engine: str,
    q: str,
    run: Run,
    settled: bool,
) -> None:
    params = {"engine": engine, "q": q, "api_key": service.key}
    started = time.perf_counter()
    run.settled += settled
    try:
        async with session.get(f"{service.url}/search.json", params=params) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        run.statuses[type(error).__name__] += 1
    else:
        if status == 200 and b'"organic_results"' in body:
            run.ok += 1
            run.settled_ok += settled
            run.statuses["200"] += 1
        else:
            said = orjson.loads(body).get("error", "") if body.startswith(b"{") else ""
            run.statuses[f"{status} {str(said)[:48]}"] += 1
    # On the shared clock, as every other duration here.
    run.latencies.append((time.perf_counter() - started) * service.clock_speed)


async def drive(
    session: aiohttp.ClientSession,
    service: Demo,
    run: Run,
    engines: list[str],
    searches: int,
    concurrency: int,
    rate: float | None,
    warmup: float = 0.0,
) -> None:
    """``searches`` distinct searches: closed loop at ``concurrency``, or open loop at ``rate``
    a clock second (still never more than ``concurrency`` × 10 in flight). Those begun
    ``warmup`` clock seconds or more after the first count as settled too."""
    tag = secrets.token_hex(3)
    slots = asyncio.Semaphore(concurrency if rate is None else concurrency * 10)
    tasks: list[asyncio.Task[None]] = []

    async def bounded(n: int) -> None:
        try:
            engine = engines[n % len(engines)]
            q = f"{WORDS[n % len(WORDS)]} {tag} {n}"
            settled = (time.perf_counter() - first) * service.clock_speed >= warmup
            await one(session, service, engine, q, run, settled)
        finally:
            slots.release()

    first = time.perf_counter()
    for n in range(searches):
        if rate is not None:
            due = first + n / (rate * service.clock_speed)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await slots.acquire()
        run.searches += 1
        tasks.append(asyncio.create_task(bounded(n)))
    await asyncio.gather(*tasks)


async def measure(
    args: argparse.Namespace,
    name: str,
    proxies: int,
    env: Mapping[str, str],
    searches: int,
    rate: float | None = None,
    warmup: float = 0.0,
) -> Run:
    run = Run(name)
    engines = args.engines.split(",")
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    launch = before_demo(args, proxies) if name == "before" else demo(args, proxies, env)
    with launch as service:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await ready(session, service)
            started, cpu = time.perf_counter(), sum(map(cpu_seconds, service.pids))
            try:
                async with asyncio.timeout(args.max_seconds):
                    await drive(
                        session, service, run, engines, searches, args.concurrency, rate, warmup
                    )
            except TimeoutError:
                run.finished = False
            real = time.perf_counter() - started
            run.seconds = real * service.clock_speed
            run.cpu_share = (sum(map(cpu_seconds, service.pids)) - cpu) / real
            run.load = os.getloadavg()[0]
            admin = {"Authorization": f"Bearer {service.admin_key}"}
            async with session.get(f"{service.url}/admin/upstream", headers=admin) as response:
                upstream = await response.json()
            async with session.get(f"{service.sandbox_url}/_sandbox/stats") as response:
                counts: dict[str, int] = await response.json()
    run.attempts = sum(upstream["stats"]["search_attempts"].values())
    injected: Counter[str] = Counter()
    for key, value in counts.items():
        engine, _, what = key.partition(".")
        if engine in engines and (what.startswith(("injected.", "bans.")) or what == "requests"):
            injected[what.removeprefix("injected.")] += value
    run.injected = dict(sorted(injected.items()))
    capacity = upstream.get("capacity", {})
    run.upstream = {
        "exit_states": {
            engine: dict(Counter(e["state"] for e in exits.values()))
            for engine, exits in upstream["proxies"]["engines"].items()
            if engine in engines
        },
        "learnt_rest": upstream["proxies"].get("learnt_rest", {}),
        "capacity": {e: c for e, c in capacity.items() if e in engines},
    }
    return run


def summary(run: Run) -> dict[str, object]:
    searches = max(run.searches, 1)
    latencies = sorted(run.latencies) or [0.0]
    return {
        "searches": run.searches,
        "finished": run.finished,
        "succeeded": run.ok,
        "success rate": f"{100 * run.ok / searches:.2f}%",
        "attempts per search": round(run.attempts / searches, 3),
        "p50 latency ms": round(statistics.median(latencies) * 1000, 1),
        "p95 latency ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000, 1),
        "clock seconds": round(run.seconds, 1),
        "service CPU (share of a core)": round(run.cpu_share, 2),
        "load average after": round(run.load, 2),
        "answers": dict(run.statuses.most_common()),
        "sandbox injected": run.injected,
        "upstream": run.upstream,
    }


def table(rows: Mapping[str, Mapping[str, object]]) -> str:
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


def predicted(proxies: int, args: argparse.Namespace, engine: str) -> tuple[float, float]:
    """For one engine, from the profile's ban length ``L`` and flag rate ``p``: the rate at
    which every good exit is banned on average, ``N / (p·L)`` (the scale ``--sustain-shares``
    multiply), and the capacity model's sustainable rate (``RENEWAL`` × ``L`` out a ban, all
    exits out no more than 0.1% of the time)."""
    profile = fault_profile("hostile", seed=args.seed)
    good = ProxyMix.with_bad_share(proxies, args.bad_share).good
    ban = profile.ban(engine)
    every_exit_out = good / (profile.flag_rate * ban.length)
    return every_exit_out, sustainable_rate(good, profile.flag_rate, RENEWAL * ban.length)


def predicted_success(proxies: int, args: argparse.Namespace, engine: str, rate: float) -> float:
    """The share of searches the model expects to succeed at ``rate``: all exits out no more
    than ``1 − success`` of the time."""
    profile = fault_profile("hostile", seed=args.seed)
    good = ProxyMix.with_bad_share(proxies, args.bad_share).good
    load = rate * profile.flag_rate * RENEWAL * profile.ban(engine).length
    return 1 - all_out(good, load)


def sustained(run: Run, real_rate: float) -> str:
    """One sustained run in a line: success after the warm-up and over all, attempts, and what
    the machine was asked for and gave."""
    return (
        f"{100 * run.settled_ok / max(run.settled, 1):.2f}% of {run.settled} after the warm-up"
        f" ({100 * run.ok / max(run.searches, 1):.2f}% of {run.searches} in all),"
        f" {run.attempts / max(run.searches, 1):.2f} attempts/search,"
        f" {real_rate:.1f} searches a real second, service CPU {run.cpu_share:.2f} of a core,"
        f" load {run.load:.2f}" + ("" if run.finished else ", unfinished") + failures(run)
    )


def failures(run: Run) -> str:
    """The three commonest answers other than success, with their counts."""
    failed = [(said, n) for said, n in run.statuses.most_common() if said != "200"][:3]
    return "".join(f"; {n} × {said}" for said, n in failed)


async def sustain(args: argparse.Namespace, sizes: list[int]) -> dict[str, dict[str, object]]:
    """Per pool size: open-loop runs at rising multiples of ``N / (p·L)``, one engine."""
    engine = args.engines.split(",")[0]
    rows: dict[str, dict[str, object]] = {}
    for size in sizes:
        scale, model = predicted(size, args, engine)
        held: float | None = None
        tried: dict[str, str] = {}
        out_times: list[object] = []
        for share in args.sustain_shares:
            rate = scale * share
            searches = max(50, round(rate * args.sustain_for))
            run = await measure(args, f"{size}@{rate:.2f}", size, {}, searches, rate, args.warmup)
            success = run.settled_ok / max(run.settled, 1)
            expected = predicted_success(size, args, engine, rate)
            line = tried[f"{rate:.2f}/s ({share:g} N/(pL), model: {100 * expected:.2f}%)"] = (
                sustained(run, rate * args.clock_speed)
            )
            out_times.append(run.upstream["capacity"].get(engine, {}).get("out_time"))
            print(f"  {size} proxies at {rate:.2f}/s: {line}", flush=True)
            if success < 0.999 or not run.finished:
                break
            held = rate
        rows[f"{size} proxies"] = {
            "good proxies": ProxyMix.with_bad_share(size, args.bad_share).good,
            "N/(pL) /s (every exit out on average)": round(scale, 2),
            "model's sustainable rate /s": round(model, 2),
            "measured seconds out a ban, per run": out_times,
            "highest rate held at >= 99.9% /s": "none tried held" if held is None else held,
            "runs": tried,
        }
    return rows


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    if args.sustain:
        return await sustain(args, [int(n) for n in args.sustain.split(",")])
    rows: dict[str, dict[str, object]] = {}
    for name in args.policies.split(","):
        run = await measure(args, name, args.proxies, POLICIES[name], args.searches, args.rate)
        rows[name] = summary(run)
        print(f"  {name}: {rows[name]['success rate']}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=40, help="searches in flight")
    parser.add_argument(
        "--rate", type=float, default=None, help="open loop: searches a clock second"
    )
    parser.add_argument("--engines", default="bing,duckduckgo,yahoo,brave")
    parser.add_argument("--proxies", type=int, default=100)
    parser.add_argument("--bad-share", type=float, default=0.3)
    parser.add_argument("--policies", default="naive,resilient")
    parser.add_argument(
        "--before-tree",
        default="",
        help="source tree of the service before issue 13, for the 'before' policy "
        "(e.g. git archive 55bd073 src | tar -x -C DIR)",
    )
    parser.add_argument(
        "--clock-speed", type=float, default=1.0, help="the demo's one clock, both sides"
    )
    parser.add_argument("--sustain", default="", help="pool sizes, e.g. 10,50,200")
    parser.add_argument("--sustain-for", type=float, default=600.0, help="clock seconds a rate")
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="clock seconds at the start of a sustained run not judged (bans build up)",
    )
    parser.add_argument(
        "--sustain-shares",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[0.5, 0.75, 1.0, 1.25],
        help="multiples of N/(pL) (every good exit banned on average) to try, rising",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="one run's limit, s")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--log", default="reliability.log", help="where the demos log")
    args = parser.parse_args()
    rows = asyncio.run(main_async(args))
    print(f"\nhostile profile: {fault_profile('hostile', seed=args.seed).model_dump()}")
    print(f"clock speed {args.clock_speed:g} (sandbox and service alike)\n")
    print(table(rows))
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

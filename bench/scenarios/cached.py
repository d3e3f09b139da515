"""Scenario 1: cache hits beside a bare JSON endpoint of the same app and server.

One ``bench.benchapp`` process (the production app plus ``/bench/bare``, one worker, Redis) with
Google pointed at the sandbox. ``queries`` searches are made once (each a fetch), then closed-loop
load at ``connections`` connections alternates between the bare endpoint and those searches, now
cache hits, ``rounds`` times, in the order bare-cached, cached-bare, ... so that drift on a shared
machine falls on both. Each round gives a throughput ratio and a p99 ratio, measured side by side.
The bare endpoint answers as many bytes as a cached answer. Then, with py-spy present, the cached
path is profiled under the same load.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness, plots, profile
from bench.benchapp import BARE_BYTES_ENV, BARE_PATH
from bench.harness import Context
from bench.scenarios import Outcome, Target
from bench.stats import Spread, spread_of, spreads
from serpgate.engines.registry import build_engines
from serpgate.models.params import SearchParams
from serpgate.sandbox.corpus import Corpus
from serpgate.sandbox.google import GoogleEmulator
from serpgate.search import encode_entry, render_answer, utc_now

PROFILE_RATE = 250


@dataclass(frozen=True)
class Config:
    connections: int = 64
    seconds: float = 10.0
    rounds: int = 5
    warmup_seconds: float = 3.0
    queries: int = 50
    num: int = 30
    profile_seconds: float = 8.0

    @classmethod
    def smoke(cls) -> Config:
        return cls(seconds=1.0, rounds=1, warmup_seconds=0.5, queries=5, profile_seconds=0.0)


def answer_size(num: int) -> int:
    """The size of one cached answer, rendered here as the service renders it."""
    params = SearchParams(engine="google", q="cached query 0", num=num)
    page = Corpus().page(params.q, 1, num)
    html = GoogleEmulator().render(page, "/google")
    data = build_engines({})["google"].parse(html, params)
    entry = encode_entry(data, "http://127.0.0.1:1/google/search?q=x", attempts=1)
    body = render_answer(
        "0" * 24, params, "http://127.0.0.1:8000", utc_now(), status="Success", entry=entry
    )
    return len(body)


def cache_lookups(metrics_text: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for match in re.finditer(
        r'^serpgate_cache_lookups_total\{[^}]*outcome="(\w+)"[^}]*\} ([0-9.e+]+)$',
        metrics_text,
        re.MULTILINE,
    ):
        counts[match[1]] = counts.get(match[1], 0.0) + float(match[2])
    return counts


def figures(result: dict[str, Any]) -> dict[str, Any]:
    latency = harness.latency_of(result)
    good, bad = harness.ok_share(result)
    return {
        "rps": result["rps"],
        "p50_ms": latency["p50"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "ok": good,
        "failed": bad,
        "server_cpu_share": result.get("server_cpu_share", 0.0),
        "redis_cpu_share": result.get("redis_cpu_share", 0.0),
        "loadgen_cpu_share": result["cpu_share"],
        "cdf": latency["cdf"],
        "per_second": harness.throughput_series(result),
    }


def run(ctx: Context, config: Config) -> Outcome:
    prefix = ctx.prefix("cached")
    bare_bytes = answer_size(config.num)
    outcome = Outcome(
        key="cached",
        title="1. Cached path vs a bare JSON endpoint (same app, same server)",
        config={
            **asdict(config),
            "service": "bench.benchapp: create_app + GET /bench/bare, 1 worker, uvloop/httptools",
            "redis": ctx.redis_url,
            "engine": "google (sandbox, calm)",
            "bare_bytes": bare_bytes,
            "load": f"{ctx.tool}, closed loop, {config.connections} connections, 1 thread",
        },
    )
    keys = harness.create_tenants(ctx.redis_url, prefix, 1)
    paths = [
        f"/search.json?engine=google&q=cached+query+{i}&num={config.num}&api_key={keys[0]}"
        for i in range(config.queries)
    ]
    try:
        with harness.sandbox(ctx, "cached-sandbox", profile={"name": "calm"}) as world:
            env = harness.service_env(
                ctx, prefix, world.engine_urls(["google"]), **{BARE_BYTES_ENV: str(bare_bytes)}
            )
            with harness.service(ctx, "cached-service", env, bench_app=True) as svc:
                sizes = [len(harness.fetch(svc.url + path)[1]) for path in paths]
                fetched = world.fetches()
                outcome.config["cached_answer_bytes"] = sorted(sizes)[len(sizes) // 2]
                kinds = {"bare": [BARE_PATH], "cached": paths}

                def load(kind: str, seconds: float, name: str) -> dict[str, Any]:
                    return harness.cpu_share(
                        svc.pid,
                        lambda: harness.closed_load(
                            ctx,
                            svc.url,
                            kinds[kind],
                            name,
                            connections=config.connections,
                            seconds=seconds,
                        ),
                        redis_url=ctx.redis_url,
                    )

                for kind in kinds:
                    load(kind, config.warmup_seconds, f"cached-warmup-{kind}")
                for r in range(config.rounds):
                    order = ["bare", "cached"] if r % 2 == 0 else ["cached", "bare"]
                    row: dict[str, Any] = {"round": r + 1, "order": "-".join(order)}
                    for kind in order:
                        row[kind] = figures(load(kind, config.seconds, f"cached-{r}-{kind}"))
                    row["rps_ratio"] = row["cached"]["rps"] / row["bare"]["rps"]
                    row["p99_ratio"] = row["cached"]["p99_ms"] / row["bare"]["p99_ms"]
                    outcome.runs.append(row)
                    ctx.log(
                        f"  round {r + 1}: bare {row['bare']['rps']:.0f}/s, cached "
                        f"{row['cached']['rps']:.0f}/s (ratio {row['rps_ratio']:.2f}), p99 "
                        f"{row['bare']['p99_ms']:.1f} vs {row['cached']['p99_ms']:.1f} ms"
                    )
                lookups = cache_lookups(harness.fetch(f"{svc.url}/metrics")[1].decode())
                outcome.summary["cache_lookups"] = lookups
                outcome.summary["engine_fetches"] = world.fetches() - fetched
                if config.profile_seconds > 0:
                    _profile(ctx, svc, paths, config, outcome)
    finally:
        harness.delete_prefix(ctx.redis_url, prefix)
    _summarise(ctx, config, outcome)
    return outcome


def _profile(
    ctx: Context, svc: harness.Service, paths: list[str], config: Config, outcome: Outcome
) -> None:
    """py-spy on the server under each load in turn; CPU per request by component, side by side.

    A component's share of the profile's samples is the share of wall time the server spent
    in it; divided by the requests answered per second, it is microseconds of CPU per request.
    What the server's CPU time holds beyond the sampled Python is native code (uvloop, socket
    I/O, the kernel), shown as its own line.
    """
    kinds = {"bare": [BARE_PATH], "cached": paths}
    per_request: dict[str, dict[str, float]] = {}
    for kind, kind_paths in kinds.items():
        out = ctx.out / f"profile-{kind}.txt"
        result: dict[str, Any] = {}

        run = functools.partial(
            harness.closed_load,
            ctx,
            svc.url,
            kind_paths,
            f"cached-profile-{kind}",
            connections=config.connections,
            seconds=config.profile_seconds + 4,
        )

        def load(run: Callable[[], dict[str, Any]] = run, result: dict[str, Any] = result) -> None:
            result.update(harness.cpu_share(svc.pid, run))

        loader = threading.Thread(target=load)
        loader.start()
        threading.Event().wait(2.0)
        recorded = profile.record(svc.pid, config.profile_seconds, out, rate=PROFILE_RATE)
        loader.join()
        if not recorded:
            outcome.notes.append("No profile: py-spy is not installed (or could not attach).")
            return
        summary = profile.summarise(out)
        outcome.summary[f"profile_{kind}"] = summary
        wall_samples = PROFILE_RATE * config.profile_seconds
        rps, cpu = result["rps"], result["server_cpu_share"]
        shares = {name: n / wall_samples for name, n in summary["counts"]}
        shares[profile.NATIVE] = max(0.0, cpu - sum(shares.values()))
        per_request[kind] = {name: 1e6 * share / rps for name, share in shares.items()}
        per_request[kind]["total"] = 1e6 * cpu / rps
    outcome.summary["profile_us_per_request"] = per_request
    outcome.notes.append(
        f"Profiles: py-spy at {PROFILE_RATE} Hz for {config.profile_seconds:.0f} s of each load "
        f"at {config.connections} connections; raw stacks in `profile-bare.txt` and "
        "`profile-cached.txt`."
    )


def _summarise(ctx: Context, config: Config, outcome: Outcome) -> None:
    rows = [
        {
            "bare_rps": r["bare"]["rps"],
            "cached_rps": r["cached"]["rps"],
            "bare_p50_ms": r["bare"]["p50_ms"],
            "cached_p50_ms": r["cached"]["p50_ms"],
            "bare_p99_ms": r["bare"]["p99_ms"],
            "cached_p99_ms": r["cached"]["p99_ms"],
            "rps_ratio": r["rps_ratio"],
            "p99_ratio": r["p99_ratio"],
            "bare_server_cpu": r["bare"]["server_cpu_share"],
            "cached_server_cpu": r["cached"]["server_cpu_share"],
            "bare_loadgen_cpu": r["bare"]["loadgen_cpu_share"],
            "cached_loadgen_cpu": r["cached"]["loadgen_cpu_share"],
            "bare_redis_cpu": r["bare"]["redis_cpu_share"],
            "cached_redis_cpu": r["cached"]["redis_cpu_share"],
            "failed": r["bare"]["failed"] + r["cached"]["failed"],
        }
        for r in outcome.runs
    ]
    summary = spreads(rows)
    outcome.summary.update(summary)

    def s(key: str) -> Spread:
        return spread_of(summary, key)

    outcome.table = [
        [
            "endpoint",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "server CPU",
            "Redis CPU",
            f"{ctx.tool} CPU",
        ],
        [
            "bare JSON (`/bench/bare`)",
            s("bare_rps").text(0),
            s("bare_p50_ms").text(2),
            s("bare_p99_ms").text(2),
            s("bare_server_cpu").text(2),
            s("bare_redis_cpu").text(2),
            s("bare_loadgen_cpu").text(2),
        ],
        [
            "cached search (`/search.json`)",
            s("cached_rps").text(0),
            s("cached_p50_ms").text(2),
            s("cached_p99_ms").text(2),
            s("cached_server_cpu").text(2),
            s("cached_redis_cpu").text(2),
            s("cached_loadgen_cpu").text(2),
        ],
        ["cached / bare", s("rps_ratio").text(2), "", s("p99_ratio").text(2), "", "", ""],
    ]
    judged = not ctx.smoke
    ratio, p99 = s("rps_ratio"), s("p99_ratio")
    outcome.targets = [
        Target(
            "cached throughput ≥ 50% of bare",
            "≥ 0.50",
            ratio.text(2),
            ratio.median >= 0.5 if judged else None,
        ),
        Target(
            "cached p99 ≤ 2× bare p99", "≤ 2.0", p99.text(2), p99.median <= 2.0 if judged else None
        ),
    ]
    failed = int(sum(row["failed"] for row in rows))
    lookups = outcome.summary.get("cache_lookups", {})
    outcome.notes.append(
        f"Every measured search was a cache hit: the engine was asked "
        f"{outcome.summary.get('engine_fetches', '?')} times after the {config.queries} first "
        f"searches; cache lookups by outcome: {lookups}. Answers other than 200: {failed}."
    )
    load = s("cached_loadgen_cpu")
    outcome.notes.append(
        f"The load generator ({ctx.tool}) used {load.text(2)} of one core while the server used "
        f"{s('cached_server_cpu').text(2)}: the server, not the generator, is the limit."
        if load.median < 0.6
        else f"The load generator used {load.text(2)} of a core: it may be a bottleneck."
    )
    _plot(ctx, outcome)


def _plot(ctx: Context, outcome: Outcome) -> None:
    cdfs: dict[str, list[tuple[float, float]]] = {}
    rates: dict[str, list[tuple[float, float]]] = {}
    for row in outcome.runs:
        for kind in ("bare", "cached"):
            label = f"{kind}, round {row['round']}"
            cdfs[label] = [(ms, float(p)) for p, ms in row[kind]["cdf"].items() if ms > 0]
            rates[label] = row[kind]["per_second"]
    if plots.latency_cdf(ctx.out / "cached-cdf.png", outcome.title, cdfs):
        outcome.plots.append("cached-cdf.png")
    if plots.over_time(
        ctx.out / "cached-throughput.png", "Requests/s over each run", "requests/s", rates
    ):
        outcome.plots.append("cached-throughput.png")

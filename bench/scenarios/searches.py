"""Scenario 3: 100,000 searches, a Zipf mix over 10,000 distinct ones and four engines.

Search rank k (1..``distinct``) is the query ``zipf query k`` on engine k mod 4 (Google, Bing,
DuckDuckGo, Brave): 10,000 distinct searches in all. ``searches`` draws of rank, weighted
1/k^``zipf`` from a seeded generator, make the run's sequence; request i carries key i mod
``tenants``. ``serpgate serve --workers 2`` with Redis answers them; the sandbox engines are calm
but slow as real ones are (lognormal latency, median ``latency_median``). wrk sends the sequence
at ``connections`` connections and stops at the last answer.

Share answered without an upstream fetch = 1 − (searches the sandbox engines received) /
searches; the best any cache could do on the same draw is 1 − distinct drawn / searches. Each
round starts cold: a fresh key prefix (so an empty cache) and a fresh service.
"""

from __future__ import annotations

import functools
import random
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness, plots
from bench.harness import Context
from bench.scenarios import Outcome, Target
from bench.stats import spread_of, spreads

ENGINES = ("google", "bing", "duckduckgo", "brave")


@dataclass(frozen=True)
class Config:
    searches: int = 100_000
    distinct: int = 10_000
    zipf: float = 1.0
    tenants: int = 8
    workers: int = 2
    connections: int = 256
    latency_median: float = 0.25
    latency_sigma: float = 0.5
    latency_cap: float = 3.0
    rounds: int = 3
    max_seconds: float = 300.0
    seed: int = 1

    @classmethod
    def smoke(cls) -> Config:
        return cls(
            searches=2_000,
            distinct=300,
            connections=64,
            latency_median=0.02,
            rounds=1,
            max_seconds=60.0,
        )


def draw(config: Config) -> list[int]:
    ranks = range(1, config.distinct + 1)
    weights = [1 / k**config.zipf for k in ranks]
    return random.Random(config.seed).choices(ranks, weights=weights, k=config.searches)


def run(ctx: Context, config: Config) -> Outcome:
    ranks = draw(config)
    distinct_drawn = len(set(ranks))
    best = 1 - distinct_drawn / config.searches
    profile = {
        "name": "calm, realistic latency",
        "latency_median": config.latency_median,
        "latency_sigma": config.latency_sigma,
        "latency_cap": config.latency_cap,
    }
    outcome = Outcome(
        key="searches",
        title=f"3. {config.searches:,} searches: Zipf mix, {config.workers} workers, Redis",
        config={
            **asdict(config),
            "engines": ENGINES,
            "sandbox_profile": profile,
            "distinct_drawn": distinct_drawn,
            "service": f"serpgate serve --workers {config.workers}, Redis",
            "raised_for_this_scenario": {
                "SERPGATE_TRAFFIC__LIMITS__IN_FLIGHT_PER_KEY": config.connections,
                "why": "one client machine with few keys; the default (10) would refuse with 429",
            },
            "load": f"{ctx.tool}, closed loop, {config.connections} connections",
        },
    )
    for r in range(config.rounds):
        prefix = ctx.prefix(f"searches{r}")
        keys = harness.create_tenants(ctx.redis_url, prefix, config.tenants)
        paths = [
            f"/search.json?engine={ENGINES[k % len(ENGINES)]}&q=zipf+query+{k}"
            f"&api_key={keys[i % len(keys)]}"
            for i, k in enumerate(ranks)
        ]
        try:
            with harness.sandbox(ctx, f"searches-sandbox-{r}", profile=profile) as world:
                env = harness.service_env(
                    ctx,
                    prefix,
                    world.engine_urls(ENGINES),
                    SERPGATE_TRAFFIC__LIMITS__IN_FLIGHT_PER_KEY=str(config.connections),
                )
                with harness.service(
                    ctx, f"searches-service-{r}", env, workers=config.workers
                ) as svc:
                    load = functools.partial(
                        harness.closed_load,
                        ctx,
                        svc.url,
                        paths,
                        f"searches-{r}",
                        connections=config.connections,
                        seconds=config.max_seconds,
                        limit=config.searches,
                    )
                    result = harness.cpu_share(
                        svc.pid, load, sandbox_pid=world.proc.target, redis_url=ctx.redis_url
                    )
                    fetches = world.fetches()
        finally:
            harness.delete_prefix(ctx.redis_url, prefix)
        row = _figures(result, fetches, config)
        row["round"] = r + 1
        outcome.runs.append(row)
        ctx.log(
            f"  round {r + 1}: {row['answered']} answered in {row['wall_s']:.1f} s "
            f"({row['rps']:.0f}/s), no fetch {row['no_fetch_share']:.2%} (best {best:.2%}), "
            f"failed {row['failed']}"
        )
    _summarise(ctx, config, outcome, best)
    return outcome


def _figures(result: dict[str, Any], fetches: int, config: Config) -> dict[str, Any]:
    latency = harness.latency_of(result)
    good, bad = harness.ok_share(result)
    answered = int(result["counted"]) if "counted" in result else int(result["answered"])
    return {
        "answered": answered,
        "ok": good,
        "failed": bad,
        "complete": answered >= config.searches,
        "wall_s": result["wall_s"],
        "rps": result["rps"],
        "p50_ms": latency["p50"],
        "p90_ms": latency["p90"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "fetches": fetches,
        "no_fetch_share": 1 - fetches / config.searches,
        "server_cpu_share": result.get("server_cpu_share", 0.0),
        "sandbox_cpu_share": result.get("sandbox_cpu_share", 0.0),
        "redis_cpu_share": result.get("redis_cpu_share", 0.0),
        "loadgen_cpu_share": result["cpu_share"],
        "cdf": latency["cdf"],
        "per_second": harness.throughput_series(result),
    }


def _summarise(ctx: Context, config: Config, outcome: Outcome, best: float) -> None:
    keys = [
        "wall_s", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "no_fetch_share", "fetches",
        "failed", "server_cpu_share", "sandbox_cpu_share", "redis_cpu_share", "loadgen_cpu_share",
    ]  # fmt: skip
    summary = spreads([{k: float(row[k]) for k in keys} for row in outcome.runs])
    outcome.summary.update(summary)
    outcome.summary["best_no_fetch_share"] = best

    def s(key: str, digits: int = 1) -> str:
        return spread_of(summary, key).text(digits)

    wall = spread_of(summary, "wall_s")
    share = spread_of(summary, "no_fetch_share")
    outcome.table = [
        ["figure", "median over rounds (range)"],
        [f"wall time for {config.searches:,} searches", s("wall_s") + " s"],
        ["throughput", s("rps", 0) + " searches/s"],
        ["latency p50 / p90 / p99", f"{s('p50_ms')} / {s('p90_ms')} / {s('p99_ms')} ms"],
        ["latency max", s("max_ms") + " ms"],
        [
            "answered without an upstream fetch",
            f"{share.median:.2%} ({share.low:.2%}–{share.high:.2%})",
        ],
        ["theoretical best for this draw (1 − distinct/total)", f"{best:.2%}"],
        ["upstream fetches", s("fetches", 0)],
        ["failed (not 200)", s("failed", 0)],
        ["CPU: service (cores, workers + parser pools)", s("server_cpu_share", 2)],
        ["CPU: Redis server (cores)", s("redis_cpu_share", 2)],
        ["CPU: sandbox engines (cores)", s("sandbox_cpu_share", 2)],
        [f"CPU: load generator, {ctx.tool} (cores)", s("loadgen_cpu_share", 2)],
    ]
    complete = all(row["complete"] for row in outcome.runs)
    outcome.targets = [
        Target(
            f"all {config.searches:,} searches in under 60 s",
            "< 60 s, every search answered",
            wall.text(1, " s") + ("" if complete else " (incomplete)"),
            (wall.median < 60 and complete) if not ctx.smoke else None,
        )
    ]
    outcome.notes.append(
        f"{config.distinct:,} distinct searches possible, {outcome.config['distinct_drawn']:,} "
        f"drawn. Searches answered without an upstream fetch came within "
        f"{(best - share.median) * 100:.2f} points of the best any cache could do on this draw."
    )
    cdfs = {f"round {row['round']}": harness.cdf_points(row) for row in outcome.runs}
    rates = {f"round {row['round']}": row["per_second"] for row in outcome.runs}
    if plots.latency_cdf(ctx.out / "searches-cdf.png", outcome.title, cdfs):
        outcome.plots.append("searches-cdf.png")
    if plots.over_time(
        ctx.out / "searches-throughput.png", "Searches answered per second", "searches/s", rates
    ):
        outcome.plots.append("searches-throughput.png")

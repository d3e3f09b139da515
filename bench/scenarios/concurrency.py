"""Scenario 5: 2,000 uncached searches in flight at once in one process.

``serpgate serve`` with one worker and Redis; the sandbox engines answer after exactly
``latency`` seconds. ``bench.loadgen`` opens ``searches`` connections and sends one search on
each at the same moment, every one a different query, so every one holds an upstream fetch open
for the whole second. The service's memory (resident set of the process and its parser pool)
is sampled every ``sample_every`` seconds from before the burst to the end, and ``/readyz`` is
polled for the upstream fetches in flight. Memory per in-flight search = (peak − before) /
searches. Each round uses a fresh service, so no round inherits another's grown heap.

The defaults would refuse most of such a burst, by design: 10 searches in flight per key, 256
upstream fetches per process, 50 connections per engine host. For this scenario they are raised
(see ``raised``) so that all of it is admitted at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness, plots, procs
from bench.harness import Context, Sampler
from bench.scenarios import Outcome, Target
from bench.stats import spread_of, spreads


@dataclass(frozen=True)
class Config:
    searches: int = 2000
    latency: float = 1.0
    engine: str = "bing"
    rounds: int = 3
    sample_every: float = 0.05
    upstream_timeout: float = 30.0
    redis_timeout: float = 30.0

    @classmethod
    def smoke(cls) -> Config:
        return cls(searches=100, latency=0.5, rounds=1)

    def raised(self) -> dict[str, str]:
        bound = str(self.searches + 100)
        return {
            "SERPGATE_TRAFFIC__LIMITS__IN_FLIGHT_PER_KEY": bound,
            "SERPGATE_TRAFFIC__SHEDDING__MAX_UPSTREAM_IN_FLIGHT": bound,
            "SERPGATE_UPSTREAM__POOL_SIZE": bound,
            "SERPGATE_UPSTREAM__POOL_SIZE_PER_HOST": bound,
            "SERPGATE_UPSTREAM__TOTAL_TIMEOUT": str(self.upstream_timeout),
            "SERPGATE_TRAFFIC__REDIS__TIMEOUT": str(self.redis_timeout),
        }


class InFlightPoller:
    """Polls ``/readyz`` for the upstream fetches in flight; keeps the highest seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readyz", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready = harness.get_json(f"{self.url}/readyz", timeout=10)
                self.peak = max(self.peak, int(ready["traffic"]["upstream"]["in_flight"]))
            except (OSError, KeyError, TypeError, ValueError):
                pass
            self._stop.wait(0.05)

    def __enter__(self) -> InFlightPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def run(ctx: Context, config: Config) -> Outcome:
    profile = {"name": "fixed latency", "latency_median": config.latency, "latency_sigma": 0.0}
    outcome = Outcome(
        key="concurrency",
        title=f"5. {config.searches:,} uncached searches in flight in one process",
        config={
            **asdict(config),
            "service": "serpgate serve, 1 worker, Redis",
            "sandbox_profile": profile,
            "raised": config.raised(),
            "load": "bench.loadgen burst: one connection per search, all sent at once",
        },
    )
    prefix = ctx.prefix("concurrency")
    keys = harness.create_tenants(ctx.redis_url, prefix, 1)
    try:
        with harness.sandbox(ctx, "concurrency-sandbox", profile=profile) as world:
            env = harness.service_env(
                ctx, prefix, world.engine_urls([config.engine]), **config.raised()
            )
            for r in range(config.rounds):
                with harness.service(ctx, f"concurrency-service-{r}", env) as svc:
                    row = _round(ctx, config, svc, world, keys[0], r)
                outcome.runs.append(row)
                ctx.log(
                    f"  round {r + 1}: {row['ok']}/{config.searches} answered, "
                    f"{row['failed']} failed, peak {row['peak_in_flight']} fetches in flight, "
                    f"{row['kb_per_search']:.1f} KB per search"
                )
    finally:
        harness.delete_prefix(ctx.redis_url, prefix)
    _summarise(ctx, config, outcome)
    return outcome


def _round(
    ctx: Context,
    config: Config,
    svc: harness.Service,
    world: harness.Sandbox,
    key: str,
    r: int,
) -> dict[str, Any]:
    def path(q: str) -> str:
        return f"/search.json?engine={config.engine}&q={q}&api_key={key}"

    for i in range(5):  # warm: the first searches build the sessions and the parser pool
        harness.fetch(svc.url + path(f"warm+{r}+{i}"))
    fetched = world.fetches()
    paths = [path(f"burst+{ctx.run_id}+{r}+{i}") for i in range(config.searches)]
    plan = {
        "mode": "burst",
        "base": svc.url,
        "paths": paths,
        "count": config.searches,
        "timeout": config.upstream_timeout + 30,
        "max_seconds": config.upstream_timeout + 60,
    }
    sampler = Sampler(svc.pid, config.sample_every)
    before = sampler.take()
    cpu_before = procs.tree_cpu_seconds(svc.pid)
    started = time.monotonic()
    with sampler, InFlightPoller(svc.url) as poller:
        result = harness.generate(ctx, plan, f"concurrency-{r}")
    after = sampler.take()
    redis = harness.get_json(f"{svc.url}/readyz", timeout=30)["traffic"]["redis"]
    log = svc.proc.log.read_text(encoding="utf-8", errors="replace")
    cpu = procs.tree_cpu_seconds(svc.pid) - cpu_before
    good, bad = harness.ok_share(result)
    peak = max((s.rss_mb for s in sampler.samples), default=before.rss_mb)
    latency = harness.latency_of(result)
    return {
        "round": r + 1,
        "ok": good,
        "failed": bad,
        "errors": result["errors"],
        "statuses": result["statuses"],
        "fetches": world.fetches() - fetched,
        "redis_failures": int(redis.get("failures", 0)),
        "not_archived": log.count("not archived"),
        "redis_degraded": log.count("redis unavailable"),
        "peak_in_flight": poller.peak,
        "rss_before_mb": before.rss_mb,
        "rss_peak_mb": peak,
        "rss_after_mb": after.rss_mb,
        "kb_per_search": (peak - before.rss_mb) * 1024 / config.searches,
        "fds_peak": max((s.fds for s in sampler.samples), default=before.fds),
        "p50_ms": latency["p50"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "wall_s": result["wall_s"],
        "cpu_ms_per_search": cpu * 1000 / config.searches,
        "loadgen_cpu_share": result["cpu_share"],
        "memory": [(s.t - started, s.rss_mb) for s in sampler.samples],
        "fds": [(s.t - started, float(s.fds)) for s in sampler.samples],
    }


def _summarise(ctx: Context, config: Config, outcome: Outcome) -> None:
    keys = [
        "ok", "failed", "fetches", "redis_failures", "not_archived", "peak_in_flight",
        "rss_before_mb", "rss_peak_mb", "kb_per_search", "fds_peak", "p50_ms", "p99_ms", "max_ms",
        "wall_s", "cpu_ms_per_search",
    ]  # fmt: skip
    summary = spreads([{k: float(r[k]) for k in keys} for r in outcome.runs])
    outcome.summary.update(summary)

    def s(key: str, digits: int = 0) -> str:
        return spread_of(summary, key).text(digits)

    outcome.table = [
        ["figure", "median over rounds (range)"],
        ["searches answered 200", s("ok")],
        ["failed (any other status or error)", s("failed")],
        ["engine requests (1 per search = all uncached)", s("fetches")],
        ["Redis calls that failed or ran past their budget (degraded mode)", s("redis_failures")],
        ["answers not archived (Redis unavailable when writing)", s("not_archived")],
        ["upstream fetches in flight at once (peak, /readyz)", s("peak_in_flight")],
        ["resident memory before → peak (MB)", f"{s('rss_before_mb', 1)} → {s('rss_peak_mb', 1)}"],
        ["**memory per in-flight search (KB)**", s("kb_per_search", 1)],
        ["open files at the peak", s("fds_peak")],
        ["latency p50 / p99 / max (ms)", f"{s('p50_ms')} / {s('p99_ms')} / {s('max_ms')}"],
        ["service CPU per search (ms; one core serves them all)", s("cpu_ms_per_search", 2)],
    ]
    failed = sum(r["failed"] for r in outcome.runs)
    outcome.targets = [
        Target(
            f"{config.searches:,} in flight at once: zero errors",
            "0 errors",
            f"{failed} errors in {len(outcome.runs)} rounds",
            failed == 0 if not ctx.smoke else None,
        )
    ]
    outcome.notes.append(
        "Raised for this scenario only: "
        + ", ".join(f"`{k}={v}`" for k, v in config.raised().items())
        + ". Memory is the resident set of the service and its parser pool, sampled every "
        f"{config.sample_every * 1000:.0f} ms."
    )
    if any(r["redis_failures"] for r in outcome.runs):
        outcome.notes.append(
            "Redis calls failed during the burst: the store's connection pool (64 connections, "
            "a 2 s wait for one; `RedisStore.from_url` in store/redis.py, not a setting) runs "
            "dry with thousands of searches each making several Redis calls, and the traffic "
            "layer degrades as designed (limits judged locally, cache reads missed, writes "
            "dropped): clients still got their answers, but some were not archived (above)."
        )
    cpu = spread_of(summary, "cpu_ms_per_search").median
    peak = spread_of(summary, "peak_in_flight").median
    if peak < config.searches:
        outcome.notes.append(
            f"All {config.searches:,} requests were sent at once and were outstanding together,"
            f" but the upstream fetches open at one moment (polled from /readyz) peaked at "
            f"{peak:.0f}: besides the engine's {config.latency:g} s, which they all spend "
            f"concurrently, each search costs the one event loop about {cpu:.1f} ms of CPU "
            "(admission's Redis round trips, the fetch, parsing, caching, archiving), so the "
            f"last are admitted and answered some {config.searches * cpu / 1000:.0f} s of CPU "
            "after the first. That, not waiting on the engine, is the latency here."
        )
    series = {f"round {r['round']}": r["memory"] for r in outcome.runs}
    if plots.over_time(
        ctx.out / "concurrency-memory.png",
        f"Resident memory during a burst of {config.searches:,} searches",
        "MB",
        series,
    ):
        outcome.plots.append("concurrency-memory.png")

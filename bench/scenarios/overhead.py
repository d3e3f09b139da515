"""Scenario 2: what serpgate adds on top of the engine, on a 650 KB Google page.

An engine process answers every search with the captured Google page
(``google/desktop_2023-04-21_q-google.html``, read from ../shared/fixtures/serp at run time)
after exactly ``latency`` seconds. ``serpgate serve`` (one worker, Redis, default parse settings)
has Google pointed at it. An open-loop client sends ``count`` searches a round at ``rate``/s,
every one a different query (so every one is fetched, parsed, cached and archived), and in the
same round the same number of requests straight to the engine: the engine's latency as a client
sees it (the fixed wait plus sending 650 KB on loopback). The overhead of a round is serpgate's
median latency minus the engine's. Rounds alternate which goes first.

Beside the default parse mode (``process``: parsing in a pool, off the event loop) a second
service runs with ``SERPGATE_PARSE__MODE=inline``, measured in the same rounds, to show what the
pool's round trip costs a single search (and ``bench/event_loop.py`` shows what it buys).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness, plots
from bench.harness import SERP_DIR, Context
from bench.scenarios import Outcome, Target
from bench.stats import spread_of, spreads

PAGE = SERP_DIR / "google" / "desktop_2023-04-21_q-google.html"


@dataclass(frozen=True)
class Config:
    latency: float = 0.05
    rate: float = 10.0
    count: int = 60
    rounds: int = 5
    modes: tuple[str, ...] = ("process", "inline")

    @classmethod
    def smoke(cls) -> Config:
        return cls(rate=20.0, count=10, rounds=1)


def run(ctx: Context, config: Config) -> Outcome:
    outcome = Outcome(
        key="overhead",
        title="2. Uncached path: time added on top of the engine",
        config={
            **asdict(config),
            "page": str(PAGE.relative_to(SERP_DIR.parent.parent)),
            "page_kb": round(PAGE.stat().st_size / 1024) if PAGE.exists() else None,
            "service": "serpgate serve, 1 worker, Redis; one service per parse mode",
            "load": "bench.loadgen, open loop, latency from the intended send time",
        },
    )
    if not PAGE.exists():
        outcome.status = "failed"
        outcome.notes.append(f"The captured page {PAGE} is absent.")
        return outcome
    prefix = ctx.prefix("overhead")
    keys = harness.create_tenants(ctx.redis_url, prefix, 1)
    try:
        with (
            harness.sandbox(ctx, "overhead-engine", page=PAGE, latency=config.latency) as engine,
            contextlib.ExitStack() as stack,
        ):
            services = {}
            for mode in config.modes:
                env = harness.service_env(
                    ctx, prefix, engine.engine_urls(["google"]), SERPGATE_PARSE__MODE=mode
                )
                svc = stack.enter_context(harness.service(ctx, f"overhead-{mode}", env))
                harness.fetch(f"{svc.url}/search.json?engine=google&q=warm&api_key={keys[0]}")
                services[mode] = svc
            scrapes = {
                m: harness.fetch(f"{svc.url}/metrics")[1].decode() for m, svc in services.items()
            }
            for r in range(config.rounds):
                row = _round(ctx, config, engine, services, keys[0], r)
                outcome.runs.append(row)
                ctx.log(
                    f"  round {r + 1}: engine p50 {row['engine']['p50_ms']:.1f} ms, overhead "
                    + ", ".join(f"{m} {row[m]['overhead_p50_ms']:.1f} ms" for m in services)
                )
            outcome.summary["stages"] = {
                mode: _stages(scrapes[mode], harness.fetch(f"{svc.url}/metrics")[1].decode())
                for mode, svc in services.items()
            }
    finally:
        harness.delete_prefix(ctx.redis_url, prefix)
    _summarise(ctx, config, outcome)
    return outcome


def _stages(before: str, after: str) -> dict[str, float]:
    """Mean time per stage of the service's measured searches (ms), from its /metrics.

    An attempt runs from sending the engine request to the last byte of its answer; parsing is
    timed around the parser (the pool's round trip included); the rest of the request
    (admission, cache, coalescing, archive, HTTP) is what remains. Every search here makes one
    attempt (the engine is calm).
    """

    def mean(family: str, **labels: str) -> float:
        return harness.metric_mean(before, after, family, **labels)

    request = mean("serpgate_http_request_duration_seconds", route="/search.json", engine="google")
    attempt = mean("serpgate_upstream_attempt_duration_seconds", engine="google", outcome="ok")
    parse = mean("serpgate_parse_duration_seconds", engine="google")
    return {
        "request_ms": request,
        "engine_and_transfer_ms": attempt,
        "parse_ms": parse,
        "rest_ms": request - attempt - parse,
    }


def _round(
    ctx: Context,
    config: Config,
    engine: harness.Sandbox,
    services: dict[str, harness.Service],
    key: str,
    r: int,
) -> dict[str, Any]:
    plans = {"engine": (engine.url, [f"/direct/search?q=x+{i}" for i in range(config.count)])}
    for mode, svc in services.items():
        queries = [f"overhead+{ctx.run_id}+{mode}+{r}+{i}" for i in range(config.count)]
        paths = [f"/search.json?engine=google&q={q}&api_key={key}" for q in queries]
        plans[mode] = (svc.url, paths)
    row: dict[str, Any] = {"round": r + 1}
    kinds = list(plans) if r % 2 == 0 else list(reversed(plans))
    for kind in kinds:
        base, paths = plans[kind]
        before = engine.stats().get("google.requests", 0)
        name = f"overhead-{r}-{kind}"
        plan = {
            "mode": "open",
            "base": base,
            "paths": paths,
            "rate": config.rate,
            "count": config.count,
            "max_seconds": config.count / config.rate + 60,
        }
        svc = services.get(kind, next(iter(services.values())))
        result = harness.cpu_share(svc.pid, functools.partial(harness.generate, ctx, plan, name))
        latency = harness.latency_of(result)
        good, bad = harness.ok_share(result)
        row[kind] = {
            "p50_ms": latency["p50"],
            "p90_ms": latency["p90"],
            "p99_ms": latency["p99"],
            "ok": good,
            "failed": bad,
            "cdf": latency["cdf"],
            "loadgen_cpu_share": result["cpu_share"],
            "send_lag_p99_ms": result["send_lag_ms"]["p99"],
            "server_cpu_share": result["server_cpu_share"],
            # The service's process tree (its parser pool included) per request it answered:
            # what the other work on the machine does not change.
            "cpu_ms_per_request": result["server_cpu_seconds"] * 1000 / max(1, good),
            "fetches": engine.stats().get("google.requests", 0) - before,
        }
    for mode in services:
        measured, alone = row[mode], row["engine"]
        measured["overhead_p50_ms"] = measured["p50_ms"] - alone["p50_ms"]
        measured["overhead_p90_ms"] = measured["p90_ms"] - alone["p90_ms"]
        measured["overhead_vs_nominal_ms"] = measured["p50_ms"] - config.latency * 1000
    return row


def _summarise(ctx: Context, config: Config, outcome: Outcome) -> None:
    rows = []
    for r in outcome.runs:
        row = {
            "engine_p50_ms": r["engine"]["p50_ms"],
            "loadgen_cpu": r["engine"]["loadgen_cpu_share"],
        }
        failed = r["engine"]["failed"]
        for mode in config.modes:
            m = r[mode]
            failed += m["failed"]
            row.update(
                {
                    f"{mode}_p50_ms": m["p50_ms"],
                    f"{mode}_p99_ms": m["p99_ms"],
                    f"{mode}_overhead_p50_ms": m["overhead_p50_ms"],
                    f"{mode}_overhead_p90_ms": m["overhead_p90_ms"],
                    f"{mode}_overhead_vs_nominal_ms": m["overhead_vs_nominal_ms"],
                    f"{mode}_uncached_share": m["fetches"] / config.count,
                    f"{mode}_cpu_ms": m["cpu_ms_per_request"],
                }
            )
        row["failed"] = failed
        rows.append(row)
    summary = spreads(rows)
    outcome.summary.update(summary)

    def s(key: str) -> str:
        return spread_of(summary, key).text(2)

    modes = list(config.modes)
    outcome.table = [
        ["figure (ms, median over rounds, range)", *(f"parse mode `{m}`" for m in modes)],
        [
            "engine alone, p50 (fixed wait + 650 KB on loopback)",
            *(s("engine_p50_ms") for _ in modes),
        ],
        ["through serpgate, p50", *(s(f"{m}_p50_ms") for m in modes)],
        ["through serpgate, p99", *(s(f"{m}_p99_ms") for m in modes)],
        [
            "**overhead, p50** (serpgate p50 − engine p50)",
            *(s(f"{m}_overhead_p50_ms") for m in modes),
        ],
        ["overhead, p90", *(s(f"{m}_overhead_p90_ms") for m in modes)],
        [
            "service CPU per search (process tree, parser pool included)",
            *(s(f"{m}_cpu_ms") for m in modes),
        ],
        [
            f"serpgate p50 − the nominal {config.latency * 1000:.0f} ms",
            *(s(f"{m}_overhead_vs_nominal_ms") for m in modes),
        ],
    ]
    stages = outcome.summary.get("stages", {})
    if stages:
        outcome.notes.append(
            "Where a search's time goes, by the service's own histograms (mean ms over the "
            "measured searches): "
            + "; ".join(
                f"`{m}`: engine wait + transfer {st['engine_and_transfer_ms']:.1f}, parse "
                f"{st['parse_ms']:.1f}, everything else (admission, cache, coalescing, archive, "
                f"HTTP) {st['rest_ms']:.1f}, request {st['request_ms']:.1f}"
                for m, st in stages.items()
            )
            + "."
        )
    default = modes[0]
    overhead = spread_of(summary, f"{default}_overhead_p50_ms")
    outcome.targets = [
        Target(
            f"uncached p50 overhead < 10 ms (default parse mode, {default})",
            "< 10 ms",
            overhead.text(2, " ms"),
            overhead.median < 10 if not ctx.smoke else None,
        )
    ]
    shares = ", ".join(f"{m} {s(f'{m}_uncached_share')}" for m in modes)
    outcome.notes.append(
        f"Every search through serpgate was a fetch (share the engine saw: {shares}; 1.00 = all)."
        f" Failed requests: {int(sum(r['failed'] for r in rows))}. The generator used "
        f"{spread_of(summary, 'loadgen_cpu').text(2)} of a core."
    )
    cdfs = {}
    for row in outcome.runs:
        for kind in ("engine", *modes):
            cdfs[f"{kind}, round {row['round']}"] = harness.cdf_points(row[kind])
    if plots.latency_cdf(ctx.out / "overhead-cdf.png", outcome.title, cdfs):
        outcome.plots.append("overhead-cdf.png")

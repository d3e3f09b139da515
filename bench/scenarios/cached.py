"""Scenario 1: a cache hit against the real ceiling: a bare FastAPI app, and nginx below it.

Four servers answer the same number of bytes, one process each, side by side on this machine:

- ``nginx``: nginx serving the bytes as a static file, the machine's physical limit;
- ``bare``: ``bench.bareapp``, a bare FastAPI app with no serpgate code and the uvicorn options
  of ``serpgate serve`` (one worker): the framework's ceiling, and the one the targets name;
- ``inapp``: ``/bench/bare`` inside ``bench.benchapp`` (the production app, middleware and all):
  its distance to ``bare`` is what serpgate's middleware costs on its own;
- ``cached``: ``/search.json`` on the same ``bench.benchapp``, Google pointed at the sandbox,
  Redis store, rate limits on (a plan whose limits never bind, so the script still runs) and
  every answer archived. ``queries`` searches are made once (each a fetch); from then on every
  search is a cache hit.

Closed-loop load at ``connections`` connections goes to each in turn, ``rounds`` times, the order
rotated every round, so that drift on a shared machine falls on all of them. Each round gives the
ratios side by side. Then, with py-spy present, the bare app, the in-app route and the cached
path are profiled under the same load, and their CPU per request set side by side by component.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness, nginx, plots, profile
from bench.bareapp import BARE_PATH, bare_body
from bench.benchapp import BARE_BYTES_ENV
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
    # Rounds of `serpgate serve --workers 2` against `--workers 1`, cache hits both (0: none).
    worker_rounds: int = 3

    @classmethod
    def smoke(cls) -> Config:
        return cls(
            seconds=1.0,
            rounds=1,
            warmup_seconds=0.5,
            queries=5,
            profile_seconds=0.0,
            worker_rounds=1,
        )


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


# What scenario 1 measures, in the order of the table: the name in the figures and its label.
KINDS: dict[str, str] = {
    "nginx": "nginx, static file (the machine's limit)",
    "bare": "bare FastAPI app (`bench.bareapp`)",
    "inapp": "serpgate app, bare route (`/bench/bare`)",
    "cached": "cached search (`/search.json`)",
}
# Ratios taken within each round: (throughput ratio's name, p99 ratio's name, numerator,
# denominator).
RATIOS = (
    ("rps_ratio", "p99_ratio", "cached", "bare"),
    ("inapp_ratio", "inapp_p99_ratio", "inapp", "bare"),
    ("cached_inapp_ratio", "cached_inapp_p99_ratio", "cached", "inapp"),
    ("bare_nginx_ratio", "bare_nginx_p99_ratio", "bare", "nginx"),
)
PROFILED = ("bare", "inapp", "cached")


@dataclass(frozen=True)
class Server:
    """One server under load: where to send it, and which process to watch."""

    url: str
    paths: list[str]
    pid: int


def run(ctx: Context, config: Config) -> Outcome:
    prefix = ctx.prefix("cached")
    bare_bytes = answer_size(config.num)
    outcome = Outcome(
        key="cached",
        title="1. Cached path vs a bare FastAPI app and nginx (same bytes, one process each)",
        config={
            **asdict(config),
            "service": "bench.benchapp: create_app + GET /bench/bare, 1 worker, uvloop/httptools",
            "bare": "bench.bareapp: FastAPI + one route, same uvicorn options, 1 worker",
            "nginx": "nginx, master_process off (1 process), static file, access_log off",
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
    body = bare_body(bare_bytes)
    try:
        with contextlib.ExitStack() as stack:
            world = stack.enter_context(
                harness.sandbox(ctx, "cached-sandbox", profile={"name": "calm"})
            )
            env = harness.service_env(
                ctx, prefix, world.engine_urls(["google"]), **{BARE_BYTES_ENV: str(bare_bytes)}
            )
            svc = stack.enter_context(harness.service(ctx, "cached-service", env, bench_app=True))
            bare = stack.enter_context(harness.bare_app(ctx, "cached-bare", bare_bytes))
            targets = {
                "bare": Server(bare.url, [BARE_PATH], bare.pid),
                "inapp": Server(svc.url, [BARE_PATH], svc.pid),
                "cached": Server(svc.url, paths, svc.pid),
            }
            if nginx.binary() is not None:
                web = stack.enter_context(
                    harness.nginx_server(ctx, "cached-nginx", BARE_PATH, body)
                )
                targets = {"nginx": Server(web.url, [BARE_PATH], web.pid), **targets}
            else:
                outcome.notes.append("nginx is not installed: no physical-limit row.")
            sizes = [len(harness.fetch(svc.url + path)[1]) for path in paths]
            fetched = world.fetches()
            outcome.config["cached_answer_bytes"] = sorted(sizes)[len(sizes) // 2]
            _rounds(ctx, config, targets, outcome)
            lookups = cache_lookups(harness.fetch(f"{svc.url}/metrics")[1].decode())
            outcome.summary["cache_lookups"] = lookups
            outcome.summary["engine_fetches"] = world.fetches() - fetched
            if config.profile_seconds > 0:
                _profile(ctx, targets, config, outcome)
            if config.worker_rounds > 0:
                _workers(ctx, config, env, paths, outcome)
    finally:
        harness.delete_prefix(ctx.redis_url, prefix)
    _summarise(ctx, config, outcome)
    return outcome


def _load(
    ctx: Context, config: Config, target: Server, seconds: float, name: str
) -> dict[str, Any]:
    return harness.cpu_share(
        target.pid,
        lambda: harness.closed_load(
            ctx, target.url, target.paths, name, connections=config.connections, seconds=seconds
        ),
        redis_url=ctx.redis_url,
    )


def _rounds(ctx: Context, config: Config, targets: dict[str, Server], outcome: Outcome) -> None:
    kinds = list(targets)
    for kind in kinds:
        _load(ctx, config, targets[kind], config.warmup_seconds, f"cached-warmup-{kind}")
    for r in range(config.rounds):
        # Rotated each round: every kind runs first, last and in between as often as it can.
        order = kinds[r % len(kinds) :] + kinds[: r % len(kinds)]
        row: dict[str, Any] = {"round": r + 1, "order": "-".join(order)}
        for kind in order:
            row[kind] = figures(_load(ctx, config, targets[kind], config.seconds, f"c-{r}-{kind}"))
        for name, p99_name, top, bottom in RATIOS:
            if top in row and bottom in row:
                row[name] = row[top]["rps"] / row[bottom]["rps"]
                row[p99_name] = row[top]["p99_ms"] / row[bottom]["p99_ms"]
        outcome.runs.append(row)
        ctx.log(
            f"  round {r + 1}: "
            + ", ".join(f"{k} {row[k]['rps']:.0f}/s p99 {row[k]['p99_ms']:.1f} ms" for k in kinds)
            + f"; cached/bare {row['rps_ratio']:.2f}, p99 ratio {row['p99_ratio']:.2f}"
        )


def _profile(ctx: Context, targets: dict[str, Server], config: Config, outcome: Outcome) -> None:
    """py-spy on each server under its load in turn; CPU per request by component, side by side.

    A component's share of the profile's samples is the share of wall time the server spent
    in it; divided by the requests answered per second, it is microseconds of CPU per request.
    What the server's CPU time holds beyond the sampled Python is native code (uvloop, socket
    I/O, the kernel), shown as its own line.
    """
    per_request: dict[str, dict[str, float]] = {}
    for kind in PROFILED:
        target = targets[kind]
        out = ctx.out / f"profile-{kind}.txt"
        result: dict[str, Any] = {}

        def load(
            target: Server = target, result: dict[str, Any] = result, kind: str = kind
        ) -> None:
            seconds = config.profile_seconds + 4
            result.update(_load(ctx, config, target, seconds, f"cached-profile-{kind}"))

        loader = threading.Thread(target=load)
        loader.start()
        threading.Event().wait(2.0)
        recorded = profile.record(target.pid, config.profile_seconds, out, rate=PROFILE_RATE)
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
        f"at {config.connections} connections; raw stacks in "
        + ", ".join(f"`profile-{kind}.txt`" for kind in PROFILED)
        + "."
    )


def _workers(
    ctx: Context, config: Config, env: dict[str, str], paths: list[str], outcome: Outcome
) -> None:
    """Cache hits on ``serpgate serve --workers 2`` against ``--workers 1``, rounds alternated.

    Both share the Redis cache filled above, so every search is a hit from the first; each
    worker then holds the hot entries in its own memory.
    """
    rows: list[dict[str, float]] = []
    with (
        harness.service(ctx, "cached-workers-1", env, workers=1) as one,
        harness.service(ctx, "cached-workers-2", env, workers=2) as two,
    ):
        servers = {n: Server(svc.url, paths, svc.pid) for n, svc in (("one", one), ("two", two))}
        for name, server in servers.items():
            _load(ctx, config, server, config.warmup_seconds, f"workers-warmup-{name}")
        for r in range(config.worker_rounds):
            order = ["one", "two"] if r % 2 == 0 else ["two", "one"]
            measured = {
                n: _load(ctx, config, servers[n], config.seconds, f"w-{r}-{n}") for n in order
            }
            row = {f"{n}_{k}": figures(measured[n])[k] for n in order for k in ("rps", "p99_ms")}
            row.update({f"{n}_cpu": measured[n]["server_cpu_share"] for n in order})
            row["workers_ratio"] = row["two_rps"] / row["one_rps"]
            rows.append(row)
            ctx.log(
                f"  workers round {r + 1}: 1 worker {row['one_rps']:.0f}/s, 2 workers "
                f"{row['two_rps']:.0f}/s (ratio {row['workers_ratio']:.2f})"
            )
    outcome.summary["workers"] = spreads(rows)


def _summarise(ctx: Context, config: Config, outcome: Outcome) -> None:
    metrics = (
        ("rps", "rps"),
        ("p50_ms", "p50_ms"),
        ("p99_ms", "p99_ms"),
        ("server_cpu", "server_cpu_share"),
        ("loadgen_cpu", "loadgen_cpu_share"),
        ("redis_cpu", "redis_cpu_share"),
    )
    kinds = [k for k in KINDS if any(k in r for r in outcome.runs)]
    rows = []
    for r in outcome.runs:
        row = {f"{k}_{name}": r[k][field] for k in kinds for name, field in metrics}
        row.update((k, v) for k, v in r.items() if k.endswith("ratio"))
        row["failed"] = sum(r[k]["failed"] for k in kinds)
        rows.append(row)
    summary = spreads(rows)
    outcome.summary.update(summary)

    def s(key: str) -> Spread:
        return spread_of(summary, key) if key in summary else Spread.of([])

    outcome.table = [
        ["server", "requests/s", "p50 ms", "p99 ms", "server CPU", "Redis CPU", f"{ctx.tool} CPU"],
        *[
            [
                KINDS[k],
                s(f"{k}_rps").text(0),
                s(f"{k}_p50_ms").text(2),
                s(f"{k}_p99_ms").text(2),
                s(f"{k}_server_cpu").text(2),
                s(f"{k}_redis_cpu").text(2),
                s(f"{k}_loadgen_cpu").text(2),
            ]
            for k in kinds
        ],
        ["cached / bare FastAPI", s("rps_ratio").text(2), "", s("p99_ratio").text(2), "", "", ""],
        ["in-app bare / bare FastAPI (middleware)", s("inapp_ratio").text(2), "",
         s("inapp_p99_ratio").text(2), "", "", ""],
        ["cached / in-app bare", s("cached_inapp_ratio").text(2), "",
         s("cached_inapp_p99_ratio").text(2), "", "", ""],
        ["bare FastAPI / nginx", s("bare_nginx_ratio").text(2), "",
         s("bare_nginx_p99_ratio").text(2), "", "", ""],
    ]  # fmt: skip
    workers = outcome.summary.get("workers")
    if workers:

        def w(key: str) -> Spread:
            return spread_of(workers, key)

        outcome.table += [
            ["cached, `serpgate serve --workers 1`", w("one_rps").text(0), "",
             w("one_p99_ms").text(2), w("one_cpu").text(2), "", ""],
            ["cached, `serpgate serve --workers 2`", w("two_rps").text(0), "",
             w("two_p99_ms").text(2), w("two_cpu").text(2), "", ""],
            ["2 workers / 1 worker", w("workers_ratio").text(2), "", "", "", "", ""],
        ]  # fmt: skip
    judged = not ctx.smoke
    ratio, p99 = s("rps_ratio"), s("p99_ratio")
    outcome.targets = [
        Target(
            "cached throughput ≥ 50% of a bare FastAPI app's",
            "≥ 0.50",
            ratio.text(2),
            ratio.median >= 0.5 if judged else None,
        ),
        Target(
            "cached p99 ≤ 2× the bare FastAPI app's p99",
            "≤ 2.0",
            p99.text(2),
            p99.median <= 2.0 if judged else None,
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
        for kind in (k for k in KINDS if k in row):
            label = f"{kind}, round {row['round']}"
            cdfs[label] = [(ms, float(p)) for p, ms in row[kind]["cdf"].items() if ms > 0]
            rates[label] = row[kind]["per_second"]
    if plots.latency_cdf(ctx.out / "cached-cdf.png", outcome.title, cdfs):
        outcome.plots.append("cached-cdf.png")
    if plots.over_time(
        ctx.out / "cached-throughput.png", "Requests/s over each run", "requests/s", rates
    ):
        outcome.plots.append("cached-throughput.png")

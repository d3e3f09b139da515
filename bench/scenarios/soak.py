"""Scenario 6: a steady rate for a long while; does memory or the count of open files creep?

``serpgate serve`` (one worker, Redis) against calm sandbox engines with a little latency.
``bench.loadgen`` sends ``rate`` searches a second, open loop, for ``seconds``: a share
``unique_share`` are queries never seen before (each a fetch, a parse, a cache write), the rest a
Zipf mix over ``hot`` queries (mostly cache hits), with keys taken in turn from ``tenants``. The
service's resident memory and open files (process and parser pool) are sampled every
``sample_every`` seconds. After ``warmup`` (the share of the run during which caches, pools and
the allocator fill), a least-squares line through the samples gives the trend: the growth it
predicts over the rest of the run, and per hour, with a 95% interval.

The trend counts as flat when the memory growth it predicts over the measured window is under
``flat_mb`` (or its interval includes zero), and the open files' under ``flat_fds``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness, plots
from bench.harness import Context, Sampler
from bench.scenarios import Outcome, Target
from bench.stats import trend

ENGINES = ("google", "bing", "duckduckgo", "brave")


@dataclass(frozen=True)
class Config:
    seconds: float = 600.0
    rate: float = 50.0
    unique_share: float = 0.2
    hot: int = 2000
    tenants: int = 4
    latency_median: float = 0.1
    warmup: float = 0.25
    sample_every: float = 2.0
    flat_mb: float = 5.0
    flat_fds: float = 5.0

    @classmethod
    def smoke(cls) -> Config:
        return cls(seconds=3.0, rate=40.0, hot=50, latency_median=0.01, sample_every=0.2)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} seconds"


def paths(ctx: Context, config: Config, keys: list[str]) -> list[str]:
    rng = random.Random(7)
    count = int(config.rate * config.seconds)
    ranks = range(1, config.hot + 1)
    weights = [1 / k for k in ranks]
    out = []
    for i in range(count):
        if rng.random() < config.unique_share:
            engine, q = ENGINES[i % len(ENGINES)], f"soak+new+{ctx.run_id}+{i}"
        else:
            k = rng.choices(ranks, weights=weights)[0]
            engine, q = ENGINES[k % len(ENGINES)], f"soak+hot+{k}"
        out.append(f"/search.json?engine={engine}&q={q}&api_key={keys[i % len(keys)]}")
    return out


def run(ctx: Context, config: Config) -> Outcome:
    profile = {
        "name": "calm, some latency",
        "latency_median": config.latency_median,
        "latency_sigma": 0.3,
    }
    outcome = Outcome(
        key="soak",
        title=f"6. Soak: {config.rate:g} searches/s for {_duration(config.seconds)}",
        config={
            **asdict(config),
            "service": "serpgate serve, 1 worker, Redis",
            "sandbox_profile": profile,
            "load": "bench.loadgen, open loop",
        },
    )
    prefix = ctx.prefix("soak")
    keys = harness.create_tenants(ctx.redis_url, prefix, config.tenants)
    plan = {
        "mode": "open",
        "paths": paths(ctx, config, keys),
        "rate": config.rate,
        "count": int(config.rate * config.seconds),
        "max_seconds": config.seconds + 120,
        "timeout": 30,
    }
    try:
        with harness.sandbox(ctx, "soak-sandbox", profile=profile) as world:
            env = harness.service_env(ctx, prefix, world.engine_urls(ENGINES))
            with harness.service(ctx, "soak-service", env) as svc:
                harness.fetch(f"{svc.url}/search.json?engine=bing&q=warm&api_key={keys[0]}")
                sampler = Sampler(svc.pid, config.sample_every)
                with sampler:
                    result = harness.generate(ctx, {**plan, "base": svc.url}, "soak")
                fetches = world.fetches()
    finally:
        harness.delete_prefix(ctx.redis_url, prefix)
    _summarise(ctx, config, outcome, sampler, result, fetches)
    return outcome


def _summarise(
    ctx: Context,
    config: Config,
    outcome: Outcome,
    sampler: Sampler,
    result: dict[str, Any],
    fetches: int,
) -> None:
    samples = sampler.samples
    start = samples[0].t if samples else 0.0
    times = [s.t - start for s in samples]
    rss = [s.rss_mb for s in samples]
    fds = [float(s.fds) for s in samples]
    cut = config.warmup * (times[-1] if times else 0.0)
    kept = [i for i, t in enumerate(times) if t >= cut]
    window = (times[-1] - cut) if kept else 0.0
    memory = trend([times[i] for i in kept], [rss[i] for i in kept])
    files = trend([times[i] for i in kept], [fds[i] for i in kept])
    latency = harness.latency_of(result)
    good, bad = harness.ok_share(result)
    grows_mb = memory.slope * window
    grows_fds = files.slope * window
    flat_memory = grows_mb < config.flat_mb or memory.low <= 0
    flat_files = grows_fds < config.flat_fds or files.low <= 0
    outcome.runs.append(
        {
            "samples": [(t, m, f) for t, m, f in zip(times, rss, fds, strict=True)],
            "answered": result["answered"],
            "ok": good,
            "failed": bad,
            "fetches": fetches,
            "p50_ms": latency["p50"],
            "p99_ms": latency["p99"],
            "send_lag_ms": result["send_lag_ms"],
            "loadgen_cpu_share": result["cpu_share"],
        }
    )
    outcome.summary.update(
        {
            "rss_start_mb": rss[0] if rss else 0.0,
            "rss_end_mb": rss[-1] if rss else 0.0,
            "rss_slope_mb_per_hour": memory.slope * 3600,
            "rss_slope_interval_mb_per_hour": (memory.low * 3600, memory.high * 3600),
            "rss_growth_over_window_mb": grows_mb,
            "fds_start": fds[0] if fds else 0.0,
            "fds_end": fds[-1] if fds else 0.0,
            "fds_slope_per_hour": files.slope * 3600,
            "fds_growth_over_window": grows_fds,
            "window_s": window,
        }
    )
    after = rss[kept[0]] if kept else 0.0
    sent = len(result["latencies_ms"])
    memory_path = f"{rss[0]:.1f} → {after:.1f} → {rss[-1]:.1f} MB"
    outcome.table = [
        ["figure", "value"],
        ["searches sent / answered 200 / failed", f"{sent} / {good} / {bad}"],
        ["upstream fetches", f"{fetches}"],
        ["latency p50 / p99", f"{latency['p50']:.1f} / {latency['p99']:.1f} ms"],
        ["resident memory: start → after warm-up → end", memory_path],
        [
            "memory trend after warm-up",
            f"{memory.slope * 3600:+.1f} MB/hour (95%: {memory.low * 3600:+.1f} to "
            f"{memory.high * 3600:+.1f}); {grows_mb:+.2f} MB over the {window:.0f} s measured",
        ],
        ["open files: start → end", f"{fds[0]:.0f} → {fds[-1]:.0f}"],
        [
            "open files trend after warm-up",
            f"{files.slope * 3600:+.1f} per hour; {grows_fds:+.2f} over the {window:.0f} s",
        ],
    ]
    judged = not ctx.smoke
    outcome.targets = [
        Target(
            "no upward memory trend after warm-up",
            f"growth over the window < {config.flat_mb:g} MB",
            f"{grows_mb:+.2f} MB ({memory.slope * 3600:+.1f} MB/h)",
            flat_memory if judged else None,
        ),
        Target(
            "no upward trend in open files after warm-up",
            f"growth over the window < {config.flat_fds:g}",
            f"{grows_fds:+.2f} ({files.slope * 3600:+.1f}/h)",
            flat_files if judged else None,
        ),
    ]
    outcome.notes.append(
        f"One run (its {len(samples)} samples are the repeated measurements); warm-up: the first "
        f"{config.warmup:.0%} ({cut:.0f} s). Open loop: the generator's sends left at most "
        f"{result['send_lag_ms']['max']:.1f} ms late (p99 {result['send_lag_ms']['p99']:.1f} ms), "
        f"using {result['cpu_share']:.2f} of a core."
    )
    if plots.over_time(
        ctx.out / "soak.png",
        outcome.title,
        "resident memory (MB)",
        {"memory (MB)": list(zip(times, rss, strict=True))},
        second=("open files", {"open files": list(zip(times, fds, strict=True))}),
    ):
        outcome.plots.append("soak.png")

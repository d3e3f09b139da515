"""Scenario 4: the hostile world, with the resilience off and on (``bench/reliability.py``).

``bench/reliability.py`` (the resilient-upstream work's benchmark) starts a fresh
``serpgate demo --profile hostile`` per run (the ``hostile`` fault profile and forward proxies of
which a share is bad, the service wired to them) and sends the same open-loop searches over HTTP
twice: naive (one attempt, no ejection) and resilient (every setting at its default). This
scenario runs it as it is, as a process of its own: ``repeats`` seeds at the default share of
bad proxies, and one seed at each of the other ``bad_shares``, for the curve of success rate
against the upstream failure rate (the share of single attempts that fail: the naive run's
failure rate). Until that script exists the scenario is a marked placeholder.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from bench import plots, procs
from bench.harness import Context
from bench.scenarios import Outcome, Target
from bench.stats import spread_of, spreads

SCRIPT = procs.ROOT / "bench" / "reliability.py"


@dataclass(frozen=True)
class Config:
    searches: int = 600
    rate: float = 40.0
    default_bad_share: float = 0.3
    bad_shares: tuple[float, ...] = (0.0, 0.6)
    repeats: int = 3
    max_seconds: float = 120.0

    @classmethod
    def smoke(cls) -> Config:
        return cls(searches=30, rate=60.0, bad_shares=(), repeats=1, max_seconds=30.0)


def _rate(row: dict[str, Any]) -> float:
    """Success rate (0-1) of one reliability.py row."""
    searches, succeeded = row.get("searches"), row.get("succeeded")
    if isinstance(searches, int | float) and isinstance(succeeded, int | float) and searches:
        return float(succeeded) / float(searches)
    text = str(row.get("success rate", "nan")).rstrip("%")
    try:
        return float(text) / 100
    except ValueError:
        return math.nan


def _number(row: dict[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else math.nan


def run(ctx: Context, config: Config) -> Outcome:
    outcome = Outcome(
        key="hostile",
        title="4. Hostile world: resilience off and on",
        config={**asdict(config), "script": "bench/reliability.py (run as it is)"},
    )
    if not SCRIPT.exists():
        outcome.status = "placeholder"
        outcome.notes.append(
            "**Placeholder**: `bench/reliability.py` does not exist yet. Once it does, this "
            "scenario runs it and reports success rate and attempts per search, naive against "
            "resilient, and the plot of success rate against upstream failure rate."
        )
        return outcome
    plan = [(config.default_bad_share, seed) for seed in range(1, config.repeats + 1)]
    plan += [(share, 1) for share in config.bad_shares if share != config.default_bad_share]
    for share, seed in plan:
        rows = _reliability(ctx, config, share, seed)
        naive, resilient = rows["naive"], rows["resilient"]
        row: dict[str, Any] = {
            "bad_share": share,
            "seed": seed,
            "naive_success": _rate(naive),
            "resilient_success": _rate(resilient),
            "naive_attempts": _number(naive, "attempts per search"),
            "resilient_attempts": _number(resilient, "attempts per search"),
            "naive_p50_ms": _number(naive, "p50 latency ms"),
            "resilient_p50_ms": _number(resilient, "p50 latency ms"),
            "naive_p95_ms": _number(naive, "p95 latency ms"),
            "resilient_p95_ms": _number(resilient, "p95 latency ms"),
            "raw": rows,
        }
        row["upstream_failure_rate"] = 1 - row["naive_success"]
        outcome.runs.append(row)
        ctx.log(
            f"  bad share {share:.0%}, seed {seed}: naive {row['naive_success']:.1%}, "
            f"resilient {row['resilient_success']:.1%} "
            f"({row['resilient_attempts']:.2f} attempts a search)"
        )
    _summarise(ctx, config, outcome)
    return outcome


def _reliability(
    ctx: Context, config: Config, share: float, seed: int
) -> dict[str, dict[str, Any]]:
    name = f"hostile-{share:g}-{seed}"
    out = ctx.work / f"{name}.json"
    command = [
        procs.PYTHON,
        str(SCRIPT),
        "--searches",
        str(config.searches),
        "--rate",
        str(config.rate),
        "--bad-share",
        str(share),
        "--seed",
        str(seed),
        "--max-seconds",
        str(config.max_seconds),
        "--json",
        str(out),
    ]
    code, _ = procs.run_tool(command, ctx.work / f"{name}.log", 2 * config.max_seconds + 60)
    if code != 0 or not out.exists():
        tail = (ctx.work / f"{name}.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"bench/reliability.py failed (exit {code}):\n{tail}")
    rows: dict[str, dict[str, Any]] = orjson.loads(out.read_bytes())
    return rows


def _summarise(ctx: Context, config: Config, outcome: Outcome) -> None:
    keys = [
        "naive_success", "resilient_success", "naive_attempts", "resilient_attempts",
        "naive_p50_ms", "resilient_p50_ms", "naive_p95_ms", "resilient_p95_ms",
    ]  # fmt: skip
    default = [r for r in outcome.runs if r["bad_share"] == config.default_bad_share]
    summary = spreads([{k: r[k] for k in keys} for r in default])
    outcome.summary.update(summary)

    def s(key: str, digits: int = 2, scale: float = 1.0) -> str:
        spread = spread_of(summary, key)
        if scale != 1.0:
            spread = type(spread)(
                spread.median * scale, spread.low * scale, spread.high * scale, spread.runs
            )
        return spread.text(digits)

    outcome.table = [
        [f"{config.default_bad_share:.0%} bad proxies, {len(default)} seeds", "naive", "resilient"],
        ["searches answered (%)", s("naive_success", 1, 100), s("resilient_success", 1, 100)],
        ["upstream attempts per search", s("naive_attempts"), s("resilient_attempts")],
        ["latency p50 (ms)", s("naive_p50_ms", 0), s("resilient_p50_ms", 0)],
        ["latency p95 (ms)", s("naive_p95_ms", 0), s("resilient_p95_ms", 0)],
    ]
    resilient = spread_of(summary, "resilient_success")
    naive = spread_of(summary, "naive_success")
    outcome.targets = [
        Target(
            "resilience answers more searches than naive fetching, same hostile load",
            "resilient > naive",
            f"{resilient.median:.1%} vs {naive.median:.1%}",
            resilient.median > naive.median if not ctx.smoke else None,
        )
    ]
    curve = sorted(outcome.runs, key=lambda r: r["upstream_failure_rate"])
    outcome.notes.append(
        "Success rate against the upstream failure rate (one run per point): "
        + "; ".join(
            f"{r['bad_share']:.0%} bad proxies (seed {r['seed']}): {r['upstream_failure_rate']:.1%}"
            f" of single attempts fail, resilient answers {r['resilient_success']:.1%}"
            for r in curve
        )
        + ". The sandbox's own counts of what it injected are in results.json (`raw`)."
    )
    points = {
        "naive (one attempt)": [
            (100 * r["upstream_failure_rate"], 100 * r["naive_success"]) for r in curve
        ],
        "resilient": [
            (100 * r["upstream_failure_rate"], 100 * r["resilient_success"]) for r in curve
        ],
    }
    if plots.success_vs_failure(ctx.out / "hostile-success.png", outcome.title, points):
        outcome.plots.append("hostile-success.png")

"""``python -m bench``: every scenario against the sandbox on loopback, then one report.

    .venv/bin/python -m bench                      # the full run (about 20 minutes)
    .venv/bin/python -m bench --smoke              # seconds: small counts, no thresholds
    .venv/bin/python -m bench --only cached,soak --soak-seconds 120

Writes ``bench/results/<timestamp>/``: ``report.md``, ``results.json`` (every figure, the
configuration of every scenario, the machine) and the PNG plots. A scenario that fails is
reported as failed with its error, and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import harness, machine, plots, procs, report, wrk
from bench.harness import Context
from bench.scenarios import (
    Outcome,
    batch,
    cached,
    concurrency,
    hostile,
    overhead,
    searches,
    soak,
)

RESULTS = procs.ROOT / "bench" / "results"

Runner = Callable[[Context, Any], Outcome]
SCENARIOS: dict[str, tuple[Runner, Callable[[bool], Any]]] = {
    "cached": (cached.run, lambda smoke: cached.Config.smoke() if smoke else cached.Config()),
    "overhead": (
        overhead.run,
        lambda smoke: overhead.Config.smoke() if smoke else overhead.Config(),
    ),
    "searches": (
        searches.run,
        lambda smoke: searches.Config.smoke() if smoke else searches.Config(),
    ),
    "hostile": (hostile.run, lambda smoke: hostile.Config.smoke() if smoke else hostile.Config()),
    "concurrency": (
        concurrency.run,
        lambda smoke: concurrency.Config.smoke() if smoke else concurrency.Config(),
    ),
    "soak": (soak.run, lambda smoke: soak.Config.smoke() if smoke else soak.Config()),
    "batch": (batch.run, lambda smoke: batch.Config.smoke() if smoke else batch.Config()),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small counts, no thresholds")
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: new)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    parser.add_argument(
        "--tool", choices=["auto", "wrk", "loadgen"], default="auto", help="closed-loop load"
    )
    parser.add_argument("--soak-seconds", type=float, default=None, help="soak duration")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SCENARIO.FIELD=VALUE",
        help="override one configuration field, e.g. cached.rounds=3 (repeatable)",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep the logs of the run")
    return parser.parse_args(argv)


def configure(name: str, args: argparse.Namespace) -> Any:
    config = SCENARIOS[name][1](args.smoke)
    if name == "soak" and args.soak_seconds is not None:
        config = replace(config, seconds=args.soak_seconds)
    for item in args.set:
        target, _, value = item.partition("=")
        scenario, _, name_ = target.partition(".")
        if scenario != name:
            continue
        current = getattr(config, name_)
        config = replace(config, **{name_: type(current)(orjson.loads(value))})
    return config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    procs.raise_fd_limit()
    started = datetime.now(UTC)
    out = args.out or RESULTS / started.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="serpgate-bench-"))
    tool = args.tool if args.tool != "auto" else ("wrk" if wrk.available() else "loadgen")
    ctx = Context(
        out=out,
        work=work,
        redis_url=args.redis,
        run_id=started.strftime("%Y%m%d%H%M%S"),
        smoke=args.smoke,
        tool=tool,
        log=lambda line: print(line, flush=True),
    )
    run: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "-m", "bench", *(argv or sys.argv[1:])]),
        "smoke": args.smoke,
        "tool": tool,
        "machine": machine.describe(harness.redis_version(args.redis)),
        "plots": plots.available(),
    }
    outcomes = []
    clock = time.monotonic()
    for name in names:
        config = configure(name, args)
        ctx.log(f"{name}: {config}")
        begun = time.monotonic()
        try:
            outcome = SCENARIOS[name][0](ctx, config)
        except Exception as exc:  # a failed scenario is reported, and the others still run
            outcome = Outcome(key=name, title=name, config=vars(config), status="failed")
            outcome.notes.append(f"```\n{traceback.format_exc()[-3000:]}\n```")
            ctx.log(f"{name} failed: {exc!r}")
        outcome.summary["scenario_seconds"] = time.monotonic() - begun
        # Other work on a shared machine shows here: the 1-minute load average at the end.
        outcome.summary["load_average_at_end"] = os.getloadavg()[0]
        outcomes.append(outcome)
    run["seconds"] = time.monotonic() - clock
    if not plots.available():
        run["note"] = "matplotlib is not installed: no PNG plots"
    report.write_json(out / "results.json", run, outcomes)
    report.write_markdown(out / "report.md", run, outcomes)
    if args.keep_work:
        ctx.log(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    ctx.log(f"report: {out / 'report.md'}")
    return 1 if any(o.status == "failed" for o in outcomes) else 0

"""The run's report: ``report.md`` for people, ``results.json`` with every figure for machines."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from bench.scenarios import Outcome


def _default(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_json(path: Path, run: dict[str, Any], outcomes: list[Outcome]) -> None:
    document = {**run, "scenarios": {o.key: asdict(o) for o in outcomes}}
    path.write_bytes(
        orjson.dumps(
            document,
            default=_default,
            option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        )
    )


def _table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return lines


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not judged (smoke)"}[met]


def targets_table(outcomes: list[Outcome]) -> list[str]:
    rows = [["scenario", "target", "goal", "this run (median, range)", "verdict"]]
    for outcome in outcomes:
        if outcome.status != "ok":
            rows.append([outcome.title, "", "", outcome.status, ""])
        rows.extend(
            [outcome.title, t.name, t.goal, t.value, _verdict(t.met)] for t in outcome.targets
        )
    return _table(rows)


def _config_lines(config: dict[str, Any]) -> list[str]:
    return [f"- `{k}`: {orjson.dumps(v, default=_default).decode()}" for k, v in config.items()]


def write_markdown(path: Path, run: dict[str, Any], outcomes: list[Outcome]) -> None:
    machine = run["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    kind = "smoke: small counts, no thresholds" if run["smoke"] else "full run"
    lines = [
        f"# serpgate benchmark report, {run['started']}",
        "",
        f"Command: `{run['command']}` ({kind}), {run['seconds']:.0f} s in all.",
        "",
        "## Machine",
        "",
        f"- {machine['usable_cores']} usable cores ({machine['cpu']}), {machine['memory_gib']} GiB,"
        f" Linux {machine['kernel']}, load average at start {machine['load_average_at_start']}",
        f"- Python {machine['python']}; {packages}",
        f"- Redis {machine['redis_server']}; wrk: {machine['wrk']}; py-spy: {machine['py_spy']}",
        f"- commit {machine['commit']}; load generator for closed-loop scenarios: {run['tool']}",
        "",
        "Every figure is the median over the scenario's repeated runs, with the range (min–max) "
        "over those runs in brackets; ratios are taken within one round, side by side.",
        "",
        "## Targets",
        "",
        *targets_table(outcomes),
        "",
    ]
    for outcome in outcomes:
        lines += [f"## {outcome.title}", ""]
        if outcome.status != "ok":
            lines += [f"**{outcome.status}**", ""]
        lines += _table(outcome.table)
        if outcome.table:
            lines.append("")
        for note in outcome.notes:
            lines += [note, ""]
        if "scenario_seconds" in outcome.summary:
            lines += [
                f"Scenario time {outcome.summary['scenario_seconds']:.0f} s; 1-minute load "
                f"average at its end {outcome.summary.get('load_average_at_end', 0):.2f} "
                f"(on {machine['usable_cores']} cores).",
                "",
            ]
        per_request = outcome.summary.get("profile_us_per_request")
        if isinstance(per_request, dict):
            own = outcome.summary.get("profile_cached", {}).get("self", [])
            lines += _profile_lines(per_request, own)
        for plot in outcome.plots:
            lines += [f"![{plot}]({plot})", ""]
        lines += ["<details><summary>configuration</summary>", "", *_config_lines(outcome.config)]
        lines += ["", "</details>", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _profile_lines(per_request: dict[str, dict[str, float]], own: list[Any]) -> list[str]:
    kinds = list(per_request)
    names = {name for figures in per_request.values() for name in figures} - {"total"}
    last = per_request[kinds[-1]]
    rows = [
        [
            "component (innermost non-generic frame)",
            *(f"{kind} µs/request" for kind in kinds),
            f"{kinds[-1]} − {kinds[0]}",
        ]
    ]
    for name in [*sorted(names, key=lambda n: -last.get(n, 0.0)), "total"]:
        values = [per_request[kind].get(name, 0.0) for kind in kinds]
        if max(values) < 1 and name != "total":
            continue
        label = "**total CPU per request**" if name == "total" else name
        rows.append([label, *(f"{v:.0f}" for v in values), f"{values[-1] - values[0]:+.0f}"])
    top = [[f"{kinds[-1]}: function with the most self time", "share of samples"]]
    top += [[name.replace("|", "/"), f"{share:.1%}"] for name, share in own]
    return [
        "Where the CPU of one request goes, side by side, from py-spy profiles of each server "
        "under its load:",
        "",
        *_table(rows),
        "",
        *_table(top),
        "",
    ]

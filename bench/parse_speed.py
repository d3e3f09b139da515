"""Median parse time of every captured result page, per engine parser.

Reads the pages from ../shared/fixtures/serp (never copies them), parses each one ``--runs``
times after a warm-up, and prints a Markdown table of median and interquartile range. Block
pages are timed too: recognising a block is part of the parser's job, and so is refusing a page
it does not know (``unrecognized``). Google's tab pages are parsed as the tab they were fetched
from (``news_*`` with ``tbm=nws``, ``images_*`` with ``udm=2``, ``videos_*`` with ``udm=7``).

    .venv/bin/python bench/parse_speed.py [--runs 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import orjson

from serpgate.engines.registry import build_engines
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams

SERP_DIR = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "serp"
# The Google tab each captured tab page was fetched as, by the page's name.
_GOOGLE_TABS: dict[str, dict[str, object]] = {
    "news_": {"tbm": "nws"},
    "images_": {"udm": 2},
    "videos_": {"udm": 7},
}


def measure(runs: int) -> list[dict[str, object]]:
    engines = build_engines({})
    rows: list[dict[str, object]] = []
    for path in sorted(SERP_DIR.glob("*/*.html")):
        engine = engines.get(path.parent.name)
        if engine is None:
            continue
        html = path.read_text(encoding="utf-8")
        tab = next(
            (asked for prefix, asked in _GOOGLE_TABS.items() if path.name.startswith(prefix)),
            {},
        )
        params = SearchParams.model_validate({"engine": engine.name, "q": "benchmark", **tab})
        outcome = "parsed"
        times = []
        for i in range(runs + 3):
            started = time.perf_counter()
            try:
                data = engine.parse(html, params)
                results = len(
                    data.organic_results
                    or data.news_results
                    or data.images_results
                    or data.video_results
                    or []
                )
            except BlockedError:
                outcome, results = "blocked", 0
            except UnrecognizedPage:
                outcome, results = "unrecognized", 0
            if i >= 3:  # the first runs warm caches and are not what a server sees
                times.append((time.perf_counter() - started) * 1000)
        quartiles = statistics.quantiles(times, n=4)
        rows.append(
            {
                "page": f"{path.parent.name}/{path.name}",
                "kb": round(len(html.encode()) / 1024),
                "outcome": outcome,
                "organic": results,
                "median_ms": round(statistics.median(times), 3),
                "iqr_ms": round(quartiles[2] - quartiles[0], 3),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    if not SERP_DIR.is_dir():
        raise SystemExit(f"no captured pages at {SERP_DIR}")
    rows = measure(args.runs)
    print(f"median of {args.runs} parses per page (after 3 warm-up runs)\n")
    print("| page | KB | outcome | organic | median ms | IQR ms |")
    print("|---|---:|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['page']} | {row['kb']} | {row['outcome']} | {row['organic']} "
            f"| {row['median_ms']:.2f} | {row['iqr_ms']:.2f} |"
        )
    if args.json:
        args.json.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

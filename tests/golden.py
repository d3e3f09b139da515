"""Reviewed snapshots of parser output: a change in what a parser extracts shows up as a diff.

``assert_golden("bing/nojs_2021", data)`` compares ``data`` with ``golden/bing/nojs_2021.json``.
Run with ``SERPGATE_UPDATE_GOLDEN=1`` to write the snapshots anew, then review ``git diff``.
A missing snapshot fails rather than being written silently, so none lands unreviewed.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_golden(name: str, data: object) -> None:
    path = GOLDEN_DIR / f"{name}.json"
    rendered = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if os.environ.get("SERPGATE_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rendered)
        return
    if not path.is_file():
        pytest.fail(f"no golden snapshot {path}; write it with SERPGATE_UPDATE_GOLDEN=1 and review")
    expected = orjson.loads(path.read_bytes())
    assert orjson.loads(rendered) == expected, f"parser output differs from {path}"

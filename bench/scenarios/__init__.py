"""The scenarios of the suite, and the one shape each reports in.

Every scenario module has a ``Config`` (a dataclass, recorded in the report as it was run, with a
``smoke()`` variant of small counts) and ``run(ctx, config) -> Outcome``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Target:
    """One claim of the issue, and whether this run met it (None: not judged, e.g. smoke)."""

    name: str
    goal: str
    value: str
    met: bool | None


@dataclass
class Outcome:
    key: str
    title: str
    config: dict[str, Any]
    # The figures that matter, each a spread over runs ({"median", "min", "max", "runs"}), plus
    # plain numbers where one figure is all there is.
    summary: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    # A Markdown table: header, then rows.
    table: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    status: Literal["ok", "placeholder", "failed"] = "ok"

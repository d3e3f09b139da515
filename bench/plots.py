"""PNG plots of the report, with matplotlib when it is installed (the report says when it is not).

Each function takes plain series and a path and returns whether it wrote the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # optional: the report lists the plots it could not draw
    plt = None  # type: ignore[assignment]  # the module is absent; every function checks

Series = Mapping[str, Sequence[tuple[float, float]]]


def available() -> bool:
    return plt is not None


def _save(fig: Any, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def latency_cdf(path: Path, title: str, series: Series) -> bool:
    """Lines of (latency ms, percentile) per label; log-scaled latency."""
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, points in series.items():
        if points:
            xs, ys = zip(*sorted(points), strict=True)
            ax.plot(xs, ys, label=label, linewidth=1.4)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("percentile")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def over_time(
    path: Path, title: str, ylabel: str, series: Series, second: tuple[str, Series] | None = None
) -> bool:
    """Lines of (seconds, value) per label; ``second`` adds a right-hand axis."""
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, points in series.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, label=label, linewidth=1.2)
    ax.set_xlabel("seconds")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if second is not None:
        right_label, right_series = second
        right = ax.twinx()
        for label, points in right_series.items():
            if points:
                xs, ys = zip(*points, strict=True)
                right.plot(xs, ys, label=label, linewidth=1.2, linestyle="--", color="tab:red")
        right.set_ylabel(right_label)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, fontsize=8)
    return _save(fig, path)


def success_vs_failure(path: Path, title: str, series: Series) -> bool:
    """Points of (upstream failure rate %, success rate %) per label."""
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, points in series.items():
        if points:
            xs, ys = zip(*sorted(points), strict=True)
            ax.plot(xs, ys, marker="o", label=label)
    ax.set_xlabel("upstream failure rate: share of single attempts that fail (%)")
    ax.set_ylabel("searches answered (%)")
    ax.set_ylim(0, 101)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)

"""The arithmetic of the report: percentiles, medians over repeated runs with their spread, trends.

Nothing here knows about HTTP; every function takes plain numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The quantiles every latency distribution is reduced to (for tables and CDF plots).
CDF_POINTS = (
    0.1, 1, 5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 97.5, 98, 99, 99.5, 99.9,
    99.99,
)  # fmt: skip


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def cdf(values: Sequence[float]) -> dict[str, float]:
    """Latency quantiles keyed by percentile (as text, as wrk reports them)."""
    ordered = sorted(values)
    return {f"{p:g}": percentile(ordered, p) for p in CDF_POINTS}


@dataclass(frozen=True, slots=True)
class Spread:
    """A figure over repeated runs: the median, the extremes and how many runs."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(finite), min(finite), max(finite), len(finite))

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "runs": self.runs}

    def text(self, digits: int = 1, unit: str = "") -> str:
        """``12.3 (11.9–12.8)``: the median, then the range over the runs."""
        if self.runs == 0:
            return "n/a"
        if self.runs == 1:
            return f"{self.median:.{digits}f}{unit}"
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def spreads(rows: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per key, the ``Spread`` of that key over ``rows`` (one row per repeated run)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    return {k: Spread.of([row[k] for row in rows if k in row]).as_dict() for k in keys}


def spread_of(summary: Mapping[str, Mapping[str, float]], key: str) -> Spread:
    entry = summary[key]
    return Spread(entry["median"], entry["min"], entry["max"], int(entry["runs"]))


@dataclass(frozen=True, slots=True)
class Trend:
    """A least-squares line through samples: slope per second, and its 95% interval."""

    slope: float
    low: float
    high: float
    intercept: float
    samples: int


def trend(times: Sequence[float], values: Sequence[float]) -> Trend:
    """Ordinary least squares of ``values`` on ``times``, with a normal-approximation interval.

    Serial correlation in the samples makes the interval optimistic; the report reads it together
    with the total change over the window, not alone.
    """
    n = len(times)
    if n < 3:
        return Trend(math.nan, math.nan, math.nan, math.nan, n)
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    sxx = sum((t - mean_t) ** 2 for t in times)
    if sxx == 0:
        return Trend(math.nan, math.nan, math.nan, math.nan, n)
    slope = sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / sxx
    intercept = mean_v - slope * mean_t
    residual = sum(
        (v - (intercept + slope * t)) ** 2 for t, v in zip(times, values, strict=True)
    ) / (n - 2)
    error = math.sqrt(residual / sxx)
    return Trend(slope, slope - 1.96 * error, slope + 1.96 * error, intercept, n)

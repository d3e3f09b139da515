"""``UpstreamStats``: what every attempt and every search came to, for operators and Prometheus.

Plain counters in process memory, keyed by engine, exit and outcome, read through ``snapshot()``;
the metrics endpoint renders them, so this module knows nothing of any exposition format. Latency
is a histogram with fixed bucket bounds (Prometheus ``le`` semantics, cumulative in the snapshot),
so a p95 can be read off without storing every sample.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

# Seconds. Engines answer in 0.2-2 s; the tail past 5 s is what timeouts are made of.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HistogramSnapshot(TypedDict):
    buckets: dict[str, int]
    count: int
    sum: float


class LatencySnapshot(HistogramSnapshot):
    engine: str
    outcome: str


class AttemptCount(TypedDict):
    engine: str
    exit: str
    outcome: str
    count: int


class SearchCount(TypedDict):
    engine: str
    outcome: str
    count: int


class StatsSnapshot(TypedDict):
    attempts: list[AttemptCount]
    searches: list[SearchCount]
    search_attempts: dict[str, int]
    latency: list[LatencySnapshot]


@dataclass(slots=True)
class LatencyHistogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def snapshot(self) -> HistogramSnapshot:
        cumulative: dict[str, int] = {}
        running = 0
        for bound, count in zip((*LATENCY_BUCKETS, "+Inf"), self.counts, strict=True):
            running += count
            cumulative[str(bound)] = running
        return HistogramSnapshot(buckets=cumulative, count=running, sum=round(self.total, 6))


AttemptObserver = Callable[[str, str, str, float], None]


class UpstreamStats:
    def __init__(self, on_attempt: AttemptObserver | None = None) -> None:
        # Told of every attempt as it is counted (Prometheus, for one).
        self._on_attempt = on_attempt
        self.attempts: Counter[tuple[str, str, str]] = Counter()
        self.searches: Counter[tuple[str, str]] = Counter()
        self.search_attempts: Counter[str] = Counter()
        self.latency: dict[tuple[str, str], LatencyHistogram] = {}

    def attempt(self, engine: str, exit_label: str, outcome: str, latency: float) -> None:
        self.attempts[engine, exit_label, outcome] += 1
        key = (engine, outcome)
        histogram = self.latency.get(key)
        if histogram is None:
            histogram = self.latency[key] = LatencyHistogram()
        histogram.observe(latency)
        if self._on_attempt is not None:
            self._on_attempt(engine, exit_label, outcome, latency)

    def search(self, engine: str, outcome: str, attempts: int) -> None:
        """One search ended: ``outcome`` is ok, or the kind of error the client got."""
        self.searches[engine, outcome] += 1
        self.search_attempts[engine] += attempts

    def snapshot(self) -> StatsSnapshot:
        latency: list[LatencySnapshot] = []
        for (engine, outcome), histogram in sorted(self.latency.items()):
            counts = histogram.snapshot()
            latency.append(
                LatencySnapshot(
                    engine=engine,
                    outcome=outcome,
                    buckets=counts["buckets"],
                    count=counts["count"],
                    sum=counts["sum"],
                )
            )
        return StatsSnapshot(
            attempts=[
                AttemptCount(engine=e, exit=x, outcome=o, count=n)
                for (e, x, o), n in sorted(self.attempts.items())
            ],
            searches=[
                SearchCount(engine=e, outcome=o, count=n)
                for (e, o), n in sorted(self.searches.items())
            ],
            search_attempts=dict(sorted(self.search_attempts.items())),
            latency=latency,
        )

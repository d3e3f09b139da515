"""``Metrics``: what serpgate counts for Prometheus, and the one method per event that counts it.

The pipeline never touches a metric object: it calls ``record_attempt``, ``record_cache`` and the
like, so metric names, labels and buckets are decided here, once, and a test can read them back.

Under ``serpgate serve --workers N`` each worker is its own process; prometheus-client's
multiprocess mode has every worker write its values to files in ``PROMETHEUS_MULTIPROC_DIR``
(the library reads that variable when it is imported, so ``serve`` sets it before the workers
start) and a scrape, whichever worker answers it, merges them all. Counters and histograms add up
across workers. Gauges that describe one worker's own state (its breakers, its proxy pool) keep a
``pid`` label, because summing two workers' views of a breaker means nothing; alert rules take the
``max`` or ``min`` over it. In a single process, values live in memory in a private registry.

Labels stay bounded: routes are the matched route templates, engines are the configured ones
(anything else is ``other``), proxies are their labels without credentials.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Breaker states as numbers, so that max() over workers gives the worst: 2 means open somewhere.
BREAKER_LEVELS: Mapping[str, int] = {"closed": 0, "half_open": 1, "open": 2}

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
PARSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^@/]*@", re.IGNORECASE)


def multiprocess_dir() -> str | None:
    """Where workers share their values, when they do (the variable prometheus-client reads)."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: Path) -> None:
    """Create ``path`` or empty it of value files: an earlier run's would be counted again."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def proxy_label(proxy: str) -> str:
    """A proxy as a label: its URL without user and password."""
    return _USERINFO.sub(r"\1", proxy)


class Metrics:
    """Every serpgate metric family, in a private registry or in the workers' shared files."""

    def __init__(self, engines: Iterable[str]) -> None:
        self.engines = frozenset(engines)
        self._shared_dir = multiprocess_dir()
        # In multiprocess mode values go to the shared files; a registry would count them twice.
        self._registry = None if self._shared_dir else CollectorRegistry()
        registry = self._registry
        self._proxy_states: dict[str, set[str]] = {}
        # (route, engine, status) -> its request counter and histogram, looked up once: the
        # label sets are bounded, and labels() costs more than the observation itself.
        self._request_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

        self.requests = Counter(
            "serpgate_http_requests",
            "HTTP requests answered, by route template, engine and status",
            ["route", "engine", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "serpgate_http_request_duration_seconds",
            "Time from request to the end of the response, by route template, engine and status",
            ["route", "engine", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "serpgate_http_requests_in_flight",
            "HTTP requests being answered now",
            registry=registry,
            multiprocess_mode="livesum",
        )
        # The same, for this process alone and as a plain number (what ``PageParser`` asks).
        self.requests_here = 0
        self.cache = Counter(
            "serpgate_cache_lookups",
            "Cache lookups by engine and outcome (hit, stale, miss)",
            ["engine", "outcome"],
            registry=registry,
        )
        self.coalesced = Counter(
            "serpgate_coalesced_waits",
            "Searches that waited for an identical search's fetch instead of fetching, by scope "
            "(process: the same worker; cluster: another replica)",
            ["engine", "scope"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "serpgate_rate_limited",
            "Requests refused by a rate limit or quota, by the limit that refused them",
            ["limit"],
            registry=registry,
        )
        self.fetches = Counter(
            "serpgate_upstream_fetches",
            "Upstream answers by engine and the way they were fetched (http, impersonate, "
            "browser, or cookie: a browser-earned cookie on the cheap path)",
            ["engine", "via"],
            registry=registry,
        )
        self.attempts = Counter(
            "serpgate_upstream_attempts",
            "Upstream attempts by engine, proxy and outcome (ok, blocked, transient, fatal)",
            ["engine", "proxy", "outcome"],
            registry=registry,
        )
        self.attempt_seconds = Histogram(
            "serpgate_upstream_attempt_duration_seconds",
            "Duration of one upstream attempt, by engine and outcome",
            ["engine", "outcome"],
            buckets=ATTEMPT_BUCKETS,
            registry=registry,
        )
        self.proxies = Gauge(
            "serpgate_proxies",
            "Exits by engine and state (healthy, probation, ejected, pruned), per worker",
            ["engine", "state"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.breaker = Gauge(
            "serpgate_breaker_state",
            "Circuit breaker per engine: 0 closed, 1 half-open, 2 open, as one worker sees it",
            ["engine"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.unrecognized = Counter(
            "serpgate_unrecognized_pages",
            "Pages an engine's parser did not recognise (a new layout?), by engine",
            ["engine"],
            registry=registry,
        )
        self.capacity = Gauge(
            "serpgate_upstream_capacity_per_second",
            "Requests a second per engine: what the exits sustain (kind=sustainable, the "
            "capacity model; absent until bans were seen) and what is asked (kind=demand)",
            ["engine", "kind"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.parse_seconds = Histogram(
            "serpgate_parse_duration_seconds",
            "Time to parse one result page, by engine",
            ["engine"],
            buckets=PARSE_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "serpgate_event_loop_lag_seconds",
            "How late the event loop woke a sleeping task: time it was busy with something else",
            buckets=LAG_BUCKETS,
            registry=registry,
        )

    def engine_label(self, engine: str | None) -> str:
        """The engine as a label: a configured engine, ``other``, or empty when none was named."""
        if not engine:
            return ""
        return engine if engine in self.engines else "other"

    # Requests and the event loop: recorded by the app's middleware and lifespan.

    def observe_request(self, route: str, engine: str, status: int, seconds: float) -> None:
        labels = (route, engine, str(status))
        series = self._request_series.get(labels)
        if series is None:
            series = (self.requests.labels(*labels), self.request_seconds.labels(*labels))
            self._request_series[labels] = series
        series[0].inc()
        series[1].observe(seconds)

    async def watch_event_loop(self, interval: float) -> None:
        """Sample the loop's lag every ``interval`` seconds until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(interval)
            self.loop_lag.observe(max(0.0, loop.time() - started - interval))

    # The pipeline's events: called by the search path, the upstream layer and the traffic layer.

    def record_cache(self, engine: str, outcome: str) -> None:
        """One cache lookup: ``hit``, ``stale`` (served, refreshing) or ``miss``."""
        self.cache.labels(self.engine_label(engine), outcome).inc()

    def record_coalesced(self, engine: str, scope: str = "process") -> None:
        """A search that waited for an identical one's fetch (``process`` or ``cluster``)."""
        self.coalesced.labels(self.engine_label(engine), scope).inc()

    def record_rate_limited(self, limit: str) -> None:
        """A request refused by ``limit`` (``minute``, ``hour``, ``month``, ``concurrency``…)."""
        self.rate_limited.labels(limit).inc()

    def record_attempt(self, engine: str, proxy: str, outcome: str, seconds: float) -> None:
        """One upstream attempt through ``proxy`` (an exit label or ``direct``) and its outcome."""
        engine = self.engine_label(engine)
        self.attempts.labels(engine, proxy_label(proxy), outcome).inc()
        self.attempt_seconds.labels(engine, outcome).observe(seconds)

    def record_fetch(self, engine: str, via: str) -> None:
        """One answer fetched through ``via``: the browser's share of an engine's fetches."""
        self.fetches.labels(self.engine_label(engine), via).inc()

    def set_proxy_states(self, engine: str, counts: Mapping[str, int]) -> None:
        """How many exits are in each state for ``engine``; states left out are now empty."""
        engine = self.engine_label(engine)
        known = self._proxy_states.setdefault(engine, set())
        known.update(counts)
        for state in known:
            self.proxies.labels(engine, state).set(counts.get(state, 0))

    def set_breaker_state(self, engine: str, state: str) -> None:
        """The engine's breaker is now ``closed``, ``half_open`` or ``open``."""
        try:
            level = BREAKER_LEVELS[state]
        except KeyError:
            raise ValueError(f"unknown breaker state {state!r}") from None
        self.breaker.labels(self.engine_label(engine)).set(level)

    def record_unrecognized(self, engine: str) -> None:
        """A page the engine's parser did not recognise, answered as a 502 and kept."""
        self.unrecognized.labels(self.engine_label(engine)).inc()

    def set_capacity(self, engine: str, sustainable: float | None, demand: float) -> None:
        """The capacity model's rate for ``engine`` (None: not known yet) and the demand."""
        engine = self.engine_label(engine)
        if sustainable is not None:
            self.capacity.labels(engine, "sustainable").set(sustainable)
        self.capacity.labels(engine, "demand").set(demand)

    def observe_parse(self, engine: str, seconds: float) -> None:
        self.parse_seconds.labels(self.engine_label(engine)).observe(seconds)

    # Exposition.

    def render(self) -> bytes:
        """The text exposition of every family, merged across workers in multiprocess mode."""
        if self._registry is not None:
            return generate_latest(self._registry)
        merged = CollectorRegistry()
        # prometheus-client's multiprocess module carries no annotations.
        multiprocess.MultiProcessCollector(merged, path=self._shared_dir)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def close(self) -> None:
        """At a worker's exit: drop its per-worker gauges, which would otherwise outlive it."""
        if self._shared_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), self._shared_dir)  # type: ignore[no-untyped-call]

"""``ProxyPool``: which exit (proxy, or the server's own address) the next attempt goes out through.

Engines judge clients by address, so health is kept per (exit, engine): a proxy Google has
CAPTCHA'd may still be fine for Bing. Two ways take an exit out of rotation for an engine.

Ejection is our inference from failures, after Envoy's outlier detection and
scrapy-rotating-proxies:

- ``eject_after`` consecutive failures set the exit aside for ``eject_base`` × its ejections
  within ``prune_window`` (at most ``eject_max``);
- it comes back on probation, where one more failure sets it aside again;
- ``prune_after`` ejections within ``prune_window`` drop it for that engine for good: it is
  broken;
- ejection never takes more than ``max_ejected_fraction`` of the exits, since when that many
  fail at once the engine is the likelier culprit, and never the last one, because a pool with
  no exit fails every search, which is worse than trying a doubtful one.

A rest is the engine's own word about one address, and it is learnt, since engines do not say
how long their bans last: a block (CAPTCHA, ban page, 403/429) rests the exit for that engine
alone, for its ``Retry-After`` or else for the engine's learnt rest (``rest_initial`` to begin
with). Then one probe goes through it: a block again doubles the exit's rest (at most
``rest_max``) and lengthens the engine's learnt rest to match, an answer ends the rest and
shortens the learnt one (to ``REST_SHRINK`` × the rest that worked, at least ``rest_min``), so
it settles near the engine's real ban length. A ban counts once however many attempts were in
flight through the exit when it landed: a block on an attempt sent before the ban was counted is
the same ban. Rests are not capped by the pool's size: sending through an address the engine
has refused only keeps its ban alive, so when every exit rests, searches wait for the first to
come back or are refused with a ``Retry-After``, rather than hammer one. A ban lifts in time,
so blocks prune only an exit that never recovers: ``block_prune_after`` blocked probes in a row
of an exit that has never delivered a page to any engine (a proxy forbidding everything), or as
many in a row at ``rest_max`` of any exit.

An exit back from a rest takes one probe at a time until it answers, so the searches that waited
for it spread over the exits as they come back instead of herding onto the first one.

Selection is the power of two choices among the exits neither ejected nor resting: two random
candidates, the cheaper wins. Cost is latency (EWMA) × load, where load is requests in flight
plus requests sent recently (a count decaying over ``RATE_WINDOW``). Engines ban an address for
its request rate, so load must count rate and not only open connections: with it, traffic
settles where every exit's rate is in inverse proportion to its latency, instead of the fastest
exit taking every pair it is drawn into until an engine bans it. Failures do not weigh in the
cost: a penalty there would starve an exit of the very traffic that could clear it, so judging
failures is left to ejection alone.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from serpgate.settings import ProxySettings
from serpgate.upstream.capacity import CapacityMeter, CapacitySnapshot

# The latency average is kept over logarithms (a moving geometric mean): engines' answer times are
# heavy-tailed, and one 3 s answer among 30 ms ones would otherwise make an exit look a hundred
# times slower than its neighbours and starve it, while they take its traffic and, with it, the
# engines' rate bans. Weight 0.1: a proxy that really slows down shows it within a few answers
# (and at once through its attempts still out; see ``_cost``).
EWMA_ALPHA = 0.1
# Cost of an exit nothing is known about yet, before any exit has answered: one second.
UNKNOWN_LATENCY = 1.0
# Seconds over which an exit's recent requests fade from its load: the scale of the windows
# engines count an address's requests in.
RATE_WINDOW = 5.0
# After a probe answers, the engine's learnt rest becomes this share of the rest that worked:
# bans shorter than the rest would otherwise never be found out.
REST_SHRINK = 0.75
# The shortest wait for a probe's answer: a search waiting on one looks again no sooner.
PROBE_POLL = 0.05
# Seconds over which requests and bans are counted for the capacity model: several ban lengths.
CAPACITY_WINDOW = 1800.0


@dataclass(frozen=True, slots=True)
class Exit:
    """One way out to the engines. ``url`` carries credentials and stays out of reprs and logs."""

    label: str
    url: str | None = field(default=None, repr=False)

    @classmethod
    def direct(cls) -> Exit:
        return cls("direct")

    @classmethod
    def proxy(cls, url: str) -> Exit:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a proxy is an http:// or https:// URL with a host, not {url!r}")
        user = f"{parts.username}:***@" if parts.username else ""
        port = f":{parts.port}" if parts.port else ""
        return cls(f"{parts.scheme}://{user}{parts.hostname}{port}", url.strip())


def load_exits(settings: ProxySettings) -> list[Exit]:
    """The configured exits: the URL list, then the file's lines, then direct where allowed."""
    urls = [secret.get_secret_value() for secret in settings.urls]
    if settings.file is not None:
        urls += _read_proxy_file(settings.file)
    exits = list(dict.fromkeys(Exit.proxy(url) for url in urls))
    direct = settings.direct if settings.direct is not None else not exits
    if direct:
        exits.append(Exit.direct())
    if not exits:
        raise ValueError("no exits: configure proxies or allow direct connections")
    return exits


def _read_proxy_file(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


class ExitSnapshot(TypedDict):
    state: str
    in_flight: int
    consecutive_failures: int
    latency_ms: float | None
    ejected_for: float
    resting_for: float
    recent_ejections: int
    consecutive_blocks: int
    rest: float
    picks: int
    successes: int
    failures: int
    blocks: int


class PoolSnapshot(TypedDict):
    exits: list[str]
    engines: dict[str, dict[str, ExitSnapshot]]
    # Per engine, the rest a newly blocked exit gets: what the pool has learnt of its bans.
    learnt_rest: dict[str, float]


class ExitState(StrEnum):
    HEALTHY = "healthy"
    PROBATION = "probation"
    EJECTED = "ejected"
    RESTING = "resting"
    PROBING = "probing"
    PRUNED = "pruned"


@dataclass(slots=True)
class ExitHealth:
    """What the pool knows about one exit for one engine."""

    in_flight: int = 0
    consecutive_failures: int = 0
    # Moving average of log(seconds): see EWMA_ALPHA.
    log_latency: float | None = None
    ejected_until: float | None = None
    resting_until: float = 0.0
    probation: bool = False
    pruned: bool = False
    # When it was ejected, within the last ``prune_window``.
    ejections: deque[float] = field(default_factory=deque)
    consecutive_blocks: int = 0
    # The current ban's rest (0 when the exit last answered), and when that ban was counted: a
    # block on an attempt sent before then is the same ban, counted already.
    rest: float = 0.0
    blocked_at: float = -math.inf
    # When the current ban was first counted: its time out of rotation runs from then.
    banned_since: float = 0.0
    # Blocks in a row that found the rest already at its longest.
    blocks_at_max: int = 0
    # Back from a rest but not yet answered: one attempt at a time goes through it.
    probing: bool = False
    # Sum of the start times of the attempts in flight: their mean age is now - this / in_flight.
    pending_since: float = 0.0
    picks: int = 0
    sent: float = 0.0
    sent_at: float = 0.0
    successes: int = 0
    failures: int = 0
    blocks: int = 0

    def state(self, now: float) -> ExitState:
        if self.pruned:
            return ExitState.PRUNED
        if self.ejected_until is not None:
            return ExitState.EJECTED
        if self.resting_until > now:
            return ExitState.RESTING
        if self.probing:
            return ExitState.PROBING
        return ExitState.PROBATION if self.probation else ExitState.HEALTHY

    def ready_at(self) -> float:
        return max(self.ejected_until or 0.0, self.resting_until)

    def busy_probing(self) -> bool:
        return self.probing and self.in_flight > 0

    def pending_age(self, now: float) -> float:
        """How long the attempts in flight have been out, on average."""
        return now - self.pending_since / self.in_flight if self.in_flight else 0.0

    def recent(self, now: float) -> float:
        """Requests sent lately, each fading with time constant ``RATE_WINDOW``."""
        return self.sent * math.exp((self.sent_at - now) / RATE_WINDOW)

    @property
    def latency(self) -> float | None:
        """Typical seconds to an answer (the geometric mean), None before the first."""
        return None if self.log_latency is None else math.exp(self.log_latency)

    def observe(self, latency: float | None) -> None:
        if latency is None:
            return
        # A floor keeps log() finite for an answer timed at zero on a coarse clock.
        sample = math.log(max(latency, 1e-4))
        previous = self.log_latency
        self.log_latency = (
            sample if previous is None else previous + EWMA_ALPHA * (sample - previous)
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """One attempt's hold on an exit for an engine, from ``begin`` to its one ``record_*``."""

    via: Exit
    engine: str
    started: float


@dataclass(frozen=True, slots=True)
class Choice:
    """The exit for the next attempt; ``wait`` > 0 when every exit is resting for this engine."""

    via: Exit
    wait: float = 0.0


class ProxyPool:
    def __init__(
        self,
        exits: Sequence[Exit],
        settings: ProxySettings,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not exits:
            raise ValueError("a proxy pool needs at least one exit")
        self.exits = tuple(exits)
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._health: dict[str, dict[Exit, ExitHealth]] = {}
        self._learnt_rest: dict[str, float] = {}
        # Exits that have delivered a page to some engine: one that never has and is blocked
        # at every probe is refused by the proxy itself, not banned by an engine.
        self._delivered: set[Exit] = set()
        self._meters: dict[str, CapacityMeter] = {}

    @classmethod
    def from_settings(
        cls,
        settings: ProxySettings,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> ProxyPool:
        return cls(load_exits(settings), settings, clock, rng)

    def health(self, via: Exit, engine: str) -> ExitHealth:
        return self._engine(engine)[via]

    def state(self, via: Exit, engine: str) -> ExitState:
        return self.health(via, engine).state(self._clock())

    def choose(self, engine: str, avoid: Collection[Exit] = ()) -> Choice:
        """The exit for the next attempt at ``engine``, other than ``avoid`` where possible."""
        now = self._clock()
        live = [(e, h) for e, h in self._engine(engine).items() if not h.pruned]
        usable = [(e, h) for e, h in live if h.ready_at() <= now and not h.busy_probing()]
        if not usable:
            fresh = [(e, h) for e, h in live if e not in avoid] or live
            via, wait = min(((e, self._wait(h, now)) for e, h in fresh), key=lambda p: p[1])
            return Choice(via, wait)
        candidates = [(e, h) for e, h in usable if e not in avoid] or usable
        if len(candidates) == 1:
            return Choice(candidates[0][0])
        default = self._mean_latency(live)
        first, second = self._rng.sample(candidates, 2)
        cheaper = min(first, second, key=lambda pair: self._cost(pair[1], default, now))
        return Choice(cheaper[0])

    def _wait(self, health: ExitHealth, now: float) -> float:
        """How long until ``health``'s exit may take an attempt: its rest, or its probe's answer."""
        ready = health.ready_at() - now
        if ready > 0:
            return ready
        # Its probe is out: its answer is about one typical latency away, less what has passed.
        typical = health.latency if health.latency is not None else UNKNOWN_LATENCY
        return max(PROBE_POLL, typical - health.pending_age(now))

    def begin(self, via: Exit, engine: str) -> Lease:
        """An attempt goes out through ``via``; settle the lease with exactly one ``record_*``."""
        health = self.health(via, engine)
        now = self._clock()
        self._meter(engine).sent(now)
        health.in_flight += 1
        health.pending_since += now
        health.picks += 1
        health.sent = health.recent(now) + 1
        health.sent_at = now
        return Lease(via, engine, now)

    def record_success(self, lease: Lease, latency: float) -> None:
        health = self._end(lease)
        health.successes += 1
        health.consecutive_failures = 0
        health.probation = False
        health.observe(latency)
        self._delivered.add(lease.via)
        if lease.started < health.blocked_at:
            # Sent before the ban landed: it says nothing of whether the ban has lifted.
            return
        if health.rest:
            # A probe answered: the ban was no longer than this rest, maybe shorter.
            learnt = self.learnt_rest(lease.engine)
            shorter = max(self._settings.rest_min, min(learnt, health.rest) * REST_SHRINK)
            self._learnt_rest[lease.engine] = shorter
            now = self._clock()
            self._meter(lease.engine).ended(now, now - health.banned_since)
        health.consecutive_blocks = 0
        health.blocks_at_max = 0
        health.rest = 0.0
        health.probing = False

    def record_neutral(
        self, lease: Lease, latency: float | None, retry_after: float | None = None
    ) -> None:
        """The exit delivered an answer that speaks only of the engine: a 5xx, a fatal 4xx."""
        health = self._end(lease)
        health.observe(latency)
        self._rest(health, retry_after)

    def record_failure(
        self, lease: Lease, latency: float | None, retry_after: float | None = None
    ) -> None:
        health = self._end(lease)
        health.failures += 1
        health.consecutive_failures += 1
        health.observe(latency)
        self._rest(health, retry_after)
        threshold = 1 if health.probation else self._settings.eject_after
        if health.consecutive_failures >= threshold:
            self._eject(lease.engine, health)

    def record_block(self, lease: Lease, retry_after: float | None = None) -> None:
        """The engine has refused this exit: rest it for this engine only, at once."""
        health = self._end(lease)
        health.blocks += 1
        if not self._settings.eject or lease.started < health.blocked_at:
            # Off; or sent before the ban was counted: the same ban, told again.
            return
        now = self._clock()
        settings = self._settings
        learnt = self.learnt_rest(lease.engine)
        delivered = lease.via in self._delivered
        if health.rest:
            # Blocked again after a rest: the ban outlasts it (or our probe renewed it). Only
            # an exit that has had pages teaches the engine's ban length: a proxy refusing
            # everything says nothing of the engine.
            rest = min(settings.rest_max, max(health.rest * 2, learnt))
            if delivered:
                self._learnt_rest[lease.engine] = max(learnt, rest)
        else:
            rest = learnt
            health.banned_since = now
        health.rest = rest
        health.consecutive_blocks += 1
        health.blocked_at = now
        if delivered:
            self._meter(lease.engine).banned(now)
        health.probing = True
        health.resting_until = max(health.resting_until, now + (retry_after or rest))
        health.blocks_at_max = health.blocks_at_max + 1 if rest >= settings.rest_max else 0
        blocked = health.blocks_at_max if delivered else health.consecutive_blocks
        if blocked >= settings.block_prune_after:
            self._prune(lease.engine, health)

    def _meter(self, engine: str) -> CapacityMeter:
        meter = self._meters.get(engine)
        if meter is None:
            meter = self._meters[engine] = CapacityMeter(CAPACITY_WINDOW)
        return meter

    def capacity(self, engine: str) -> CapacitySnapshot:
        """The requests a second the live exits sustain to ``engine`` (``upstream.capacity``),
        beside the demand lately."""
        live = sum(not h.pruned for h in self._engine(engine).values())
        return self._meter(engine).snapshot(self._clock(), live, self.learnt_rest(engine))

    def saturated(self, engine: str) -> float | None:
        """Seconds until an exit is back, when ``engine`` is asked for more than the pool's
        ceiling and fewer than ``saturation_reserve`` of its exits are left; else None."""
        now = self._clock()
        table = self._engine(engine)
        live = [h for h in table.values() if not h.pruned]
        usable = [h for h in live if h.ready_at() <= now and not h.busy_probing()]
        if len(usable) > self._settings.saturation_reserve * len(live):
            return None
        meter = self._meter(engine)
        p = meter.ban_rate(now)
        if p is None:
            return None
        # Past the ceiling (every exit out on average), not the sustainable rate: between the
        # two most searches still find an exit, and refusing them all would lose more.
        capacity = self.capacity(engine)["ceiling"]
        if capacity is None or meter.demand(now) <= capacity:
            return None
        waits = [h.ready_at() - now for h in live if h.ready_at() > now]
        return min(waits) if waits else PROBE_POLL

    def learnt_rest(self, engine: str) -> float:
        """The rest a newly blocked exit gets for ``engine``: what its bans have shown so far."""
        return self._learnt_rest.get(engine, self._settings.rest_initial)

    def _engine(self, engine: str) -> dict[Exit, ExitHealth]:
        table = self._health.get(engine)
        if table is None:
            table = self._health[engine] = {via: ExitHealth() for via in self.exits}
        now = self._clock()
        for health in table.values():
            self._refresh(health, now)
        return table

    def _refresh(self, health: ExitHealth, now: float) -> None:
        if health.ejected_until is not None and health.ejected_until <= now:
            health.ejected_until = None
            health.probation = True
            health.consecutive_failures = 0
        horizon = now - self._settings.prune_window
        while health.ejections and health.ejections[0] <= horizon:
            health.ejections.popleft()

    def _end(self, lease: Lease) -> ExitHealth:
        health = self.health(lease.via, lease.engine)
        health.in_flight -= 1
        # Back to exactly zero when idle, so float rounding cannot build up over months.
        health.pending_since = health.pending_since - lease.started if health.in_flight else 0.0
        return health

    def _rest(self, health: ExitHealth, retry_after: float | None) -> None:
        if retry_after and self._settings.eject:
            health.resting_until = max(health.resting_until, self._clock() + retry_after)

    def _eject(self, engine: str, health: ExitHealth) -> None:
        if not self._settings.eject or health.ejected_until is not None:
            return
        if not self._may_eject(engine):
            return
        now = self._clock()
        health.ejections.append(now)
        health.probation = False
        health.consecutive_failures = 0
        if len(health.ejections) >= self._settings.prune_after:
            self._prune(engine, health)
            return
        duration = min(self._settings.eject_max, self._settings.eject_base * len(health.ejections))
        health.ejected_until = now + duration

    def _prune(self, engine: str, health: ExitHealth) -> None:
        """Drop the exit for ``engine`` for good, unless it is the last one alive."""
        live = [h for h in self._health[engine].values() if not h.pruned]
        if len(live) > 1:
            health.pruned = True

    def _may_eject(self, engine: str) -> bool:
        live = [h for h in self._health[engine].values() if not h.pruned]
        ejected = sum(h.ejected_until is not None for h in live)
        allowed = max(1, math.floor(self._settings.max_ejected_fraction * len(live)))
        return ejected + 1 <= allowed and len(live) - ejected - 1 >= 1

    @staticmethod
    def _mean_latency(live: list[tuple[Exit, ExitHealth]]) -> float:
        known = [h.latency for _, h in live if h.latency is not None]
        return sum(known) / len(known) if known else UNKNOWN_LATENCY

    @staticmethod
    def _cost(health: ExitHealth, default_latency: float, now: float) -> float:
        latency = health.latency if health.latency is not None else default_latency
        # "Peak" EWMA: attempts still out count with their age, so a proxy that has stopped
        # answering looks slow at once, not after its first timeout comes back.
        latency = max(latency, health.pending_age(now))
        return latency * (1 + health.in_flight + health.recent(now))

    def state_counts(self, engine: str) -> dict[str, int]:
        """How many exits are in each state for ``engine``."""
        now = self._clock()
        counts: dict[str, int] = {}
        for health in self._engine(engine).values():
            state = health.state(now).value
            counts[state] = counts.get(state, 0) + 1
        return counts

    def snapshot(self) -> PoolSnapshot:
        """Every exit's state per engine, for operators: labels only, never credentials."""
        now = self._clock()
        engines: dict[str, dict[str, ExitSnapshot]] = {}
        for engine in sorted(self._health):
            engines[engine] = {
                via.label: ExitSnapshot(
                    state=h.state(now).value,
                    in_flight=h.in_flight,
                    consecutive_failures=h.consecutive_failures,
                    latency_ms=None if h.latency is None else round(h.latency * 1000, 1),
                    ejected_for=round(max(0.0, (h.ejected_until or now) - now), 3),
                    resting_for=round(max(0.0, h.resting_until - now), 3),
                    recent_ejections=len(h.ejections),
                    consecutive_blocks=h.consecutive_blocks,
                    rest=round(h.rest, 3),
                    picks=h.picks,
                    successes=h.successes,
                    failures=h.failures,
                    blocks=h.blocks,
                )
                for via, h in self._engine(engine).items()
            }
        return PoolSnapshot(
            exits=[via.label for via in self.exits],
            engines=engines,
            learnt_rest={engine: round(self.learnt_rest(engine), 3) for engine in engines},
        )

"""Fault profiles: how hostile the sandbox's engines are, and the injector that carries it out.

A profile is data (a frozen Pydantic model, so the CLI, settings or a test can build a custom one
from plain values); ``calm`` and ``hostile`` are the named ones. What each fault imitates:

- a per-address ban: more than ``ban_after`` requests from one client address to one engine
  within ``ban_window`` seconds earn that address the engine's CAPTCHA page, and so, at random,
  does any one request with probability ``flag_rate`` (an engine's bot classifier, which does not
  only count). The ban lasts until the address has been quiet for ``ban_for`` seconds, as real
  engines keep a ban alive while an address keeps knocking: a client that rests a banned
  address gets it back, one that hammers it does not. Engines differ, so ``bans`` may set the
  threshold, window and length per engine; ``hostile``'s last minutes, as real ones do;
- random 5xx (``error_rate``), 503s carrying ``retry_after`` when it is set;
- heavy-tailed latency: lognormal around ``latency_median`` with shape ``latency_sigma``, capped;
- connection resets before any answer (``reset_rate``) and bodies cut off mid-way
  (``truncate_rate``).

One seeded random source draws every decision, so a run's faults depend only on the seed and the
order requests arrive in. Time is the shared ``Clock``'s (see ``serpgate.clock``).
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Rate = Annotated[float, Field(ge=0, le=1)]
Seconds = Annotated[float, Field(ge=0)]

# An answer delayed this long counts as "slow" in the stats: past a typical client's patience.
SLOW_AFTER = 1.0
_ERROR_STATUSES = (500, 502, 503)


class BanRule(BaseModel):
    """One engine's ban, where it differs from the profile's: unset fields are the profile's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ban_after: Annotated[int | None, Field(ge=1)] = None
    ban_window: Annotated[float | None, Field(gt=0)] = None
    ban_for: Annotated[float | None, Field(gt=0)] = None


@dataclass(frozen=True, slots=True)
class Ban:
    """The ban rule in force for one engine."""

    after: int | None
    window: float
    length: float


class FaultProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "custom"
    ban_after: Annotated[int | None, Field(ge=1)] = None
    ban_window: Annotated[float, Field(gt=0)] = 10.0
    ban_for: Annotated[float, Field(gt=0)] = 30.0
    bans: Mapping[str, BanRule] = {}
    ban_status: Annotated[int, Field(ge=200, le=599)] = 429
    flag_rate: Rate = 0.0
    error_rate: Rate = 0.0
    retry_after: Seconds | None = None
    reset_rate: Rate = 0.0
    truncate_rate: Rate = 0.0
    latency_median: Seconds = 0.0
    latency_sigma: Seconds = 0.0
    latency_cap: Annotated[float, Field(gt=0)] = 10.0
    seed: int = 0

    def ban(self, engine: str) -> Ban:
        rule = self.bans.get(engine, BanRule())
        return Ban(
            after=rule.ban_after if rule.ban_after is not None else self.ban_after,
            window=rule.ban_window if rule.ban_window is not None else self.ban_window,
            length=rule.ban_for if rule.ban_for is not None else self.ban_for,
        )


PROFILES: Mapping[str, FaultProfile] = MappingProxyType(
    {
        "calm": FaultProfile(name="calm"),
        "hostile": FaultProfile(
            name="hostile",
            ban_after=80,
            ban_window=2.0,
            # Minutes, renewed by every request while banned, as the real engines do.
            ban_for=180.0,
            bans={
                "google": BanRule(ban_after=60, ban_for=600.0),
                "bing": BanRule(ban_for=300.0),
                "duckduckgo": BanRule(ban_for=120.0),
                "brave": BanRule(ban_for=240.0),
            },
            flag_rate=0.01,
            error_rate=0.02,
            reset_rate=0.01,
            truncate_rate=0.01,
            latency_median=0.03,
            latency_sigma=1.4,
            latency_cap=5.0,
        ),
    }
)


def fault_profile(name: str, **overrides: object) -> FaultProfile:
    """A named profile, with any of its fields overridden (and validated)."""
    try:
        base = PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"no fault profile {name!r}; profiles: {known}") from None
    return FaultProfile.model_validate({**base.model_dump(), **overrides})


class Fault(StrEnum):
    CAPTCHA = "captcha"
    ERROR = "error"
    RESET = "reset"
    TRUNCATE = "truncate"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to one request: wait ``delay`` seconds, then suffer ``fault`` (None: answer)."""

    fault: Fault | None = None
    delay: float = 0.0
    status: int = 200
    # Why a new ban began with this request: "flag" (at random) or "rate" (over the threshold).
    ban: str | None = None


class FaultInjector:
    """Draws each request's fate from a profile; keeps the per-address request windows and bans."""

    def __init__(self, profile: FaultProfile, clock: Callable[[], float] = time.monotonic) -> None:
        self.profile = profile
        self._clock = clock
        self._rng = random.Random(profile.seed)
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self._banned_until: dict[tuple[str, str], float] = {}

    def banned(self, engine: str, address: str) -> bool:
        return self._banned_until.get((engine, address), 0.0) > self._clock()

    def plan(self, engine: str, address: str) -> FaultPlan:
        banned, reason = self._ban(engine, address)
        if banned:
            return FaultPlan(Fault.CAPTCHA, status=self.profile.ban_status, ban=reason)
        profile, rng = self.profile, self._rng
        # Draw every number each time, so one fault's rate never shifts another's sequence.
        reset, error, truncate = rng.random(), rng.random(), rng.random()
        delay = self._latency()
        status = rng.choice(_ERROR_STATUSES)
        if reset < profile.reset_rate:
            return FaultPlan(Fault.RESET, delay)
        if error < profile.error_rate:
            return FaultPlan(Fault.ERROR, delay, status)
        if truncate < profile.truncate_rate:
            return FaultPlan(Fault.TRUNCATE, delay)
        return FaultPlan(None, delay)

    def _ban(self, engine: str, address: str) -> tuple[bool, str | None]:
        """Whether the request is refused, and why a ban began with it (None: it had already)."""
        rule = self.profile.ban(engine)
        if rule.after is None and not self.profile.flag_rate:
            return False, None
        now = self._clock()
        key = (engine, address)
        if self._banned_until.get(key, 0.0) > now:
            self._banned_until[key] = now + rule.length
            return True, None
        flagged = self._rng.random() < self.profile.flag_rate
        recent = self._recent.setdefault(key, deque())
        recent.append(now)
        while recent and recent[0] <= now - rule.window:
            recent.popleft()
        over = rule.after is not None and len(recent) > rule.after
        if flagged or over:
            recent.clear()
            self._banned_until[key] = now + rule.length
            return True, "rate" if over else "flag"
        return False, None

    def _latency(self) -> float:
        profile = self.profile
        if profile.latency_median <= 0:
            return 0.0
        sample = self._rng.lognormvariate(math.log(profile.latency_median), profile.latency_sigma)
        return min(sample, profile.latency_cap)

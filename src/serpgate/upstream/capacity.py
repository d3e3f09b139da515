"""How many searches a second the exits can carry to one engine, said out loud.

Engines ban addresses, so a pool of exits has a rate it can sustain per engine, and no retry
policy gets more out of it. The model (``docs/capacity.md``): each request through an exit gets
it banned with probability ``p`` (an engine's classifier flags at random; a rate threshold bans
for certain past it), and a banned exit is out of rotation for the ban's length ``L`` (the rest
the pool has learnt). By Little's law, at ``R`` requests a second ``R·p`` exits get banned a
second and each stays out ``L`` seconds, so ``R·p·L`` exits are banned at any moment: a pool of
``N`` exits sustains at most ``R = N / (p·L)``, and a target rate needs ``N = R·p·L`` exits, plus
enough besides to keep each exit's own rate under the engine's threshold.

``CapacityMeter`` keeps, per engine, what the model needs as counts that fade over
``window`` seconds: requests sent and bans begun (one ban counted once), and the requests sent
over the last ``DEMAND_WINDOW`` seconds for the demand it compares them against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

# Seconds over which the demand (requests a second) is averaged: short, so a surge shows at once.
DEMAND_WINDOW = 30.0
# Fewer bans than this in the window, and the ban rate is too uncertain to say anything with.
MIN_BANS = 3.0


def sustainable_rate(exits: float, ban_rate: float, ban_length: float) -> float:
    """Requests a second ``exits`` sustain when each is banned with probability ``ban_rate`` a
    request, for ``ban_length`` seconds: ``N / (p·L)``; unbounded when nothing bans."""
    exposure = ban_rate * ban_length
    return math.inf if exposure <= 0 else exits / exposure


def exits_needed(rate: float, ban_rate: float, ban_length: float, per_exit_limit: float) -> int:
    """Exits a target ``rate`` needs: those banned at any moment (``R·p·L``) plus those carrying
    the traffic, each below ``per_exit_limit`` requests a second (the engine's threshold)."""
    banned = rate * ban_rate * ban_length
    carrying = rate / per_exit_limit if per_exit_limit > 0 else 0.0
    return math.ceil(banned + carrying)


class CapacitySnapshot(TypedDict):
    exits: int
    ban_rate: float | None
    ban_length: float
    sustainable_rate: float | None
    demand: float


@dataclass(slots=True)
class _Fading:
    """A count that fades with time constant ``tau``: a recent rate times ``tau``."""

    tau: float
    value: float = 0.0
    at: float = 0.0

    def add(self, now: float, amount: float = 1.0) -> None:
        self.value = self.read(now) + amount
        self.at = now

    def read(self, now: float) -> float:
        return self.value * math.exp((self.at - now) / self.tau)


class CapacityMeter:
    """One engine's requests and bans, as the capacity model reads them."""

    def __init__(self, window: float) -> None:
        self._sent = _Fading(window)
        self._bans = _Fading(window)
        self._demand = _Fading(DEMAND_WINDOW)

    def sent(self, now: float) -> None:
        self._sent.add(now)
        self._demand.add(now)

    def banned(self, now: float) -> None:
        self._bans.add(now)

    def ban_rate(self, now: float) -> float | None:
        """Bans a request, lately; None while too few bans have been seen to tell."""
        bans, sent = self._bans.read(now), self._sent.read(now)
        if bans < MIN_BANS or sent <= 0:
            return None
        return bans / sent

    def demand(self, now: float) -> float:
        """Requests a second, lately."""
        return self._demand.read(now) / DEMAND_WINDOW

    def snapshot(self, now: float, exits: int, ban_length: float) -> CapacitySnapshot:
        p = self.ban_rate(now)
        rate = None if p is None else sustainable_rate(exits, p, ban_length)
        return CapacitySnapshot(
            exits=exits,
            ban_rate=None if p is None else round(p, 5),
            ban_length=round(ban_length, 1),
            sustainable_rate=None if rate is None else round(rate, 2),
            demand=round(self.demand(now), 2),
        )

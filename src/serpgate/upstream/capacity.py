"""How many searches a second the exits can carry to one engine, said out loud.

Engines ban addresses, so a pool of exits has a rate it can sustain per engine, and no retry
policy gets more out of it. The model (``docs/capacity.md``): each request through an exit gets
it banned with probability ``p`` (an engine's classifier flags at random; a rate threshold bans
for certain past it), and a banned exit is out of rotation for a time ``L``. At ``R`` requests a
second, ``R·p`` exits get banned a second and each stays out ``L`` seconds, so ``A = R·p·L``
exits are out on average (Little's law). A search fails when every exit is out at once, and the
share of time that happens is Erlang's loss formula ``B(N, A)`` (exits are the servers, bans
the calls; it holds whatever the spread of ``L``). So a pool of ``N`` exits sustains the
highest ``R`` with ``B(N, R·p·L) ≤ 1 − SUCCESS``: well under ``N / (p·L)``, where every exit
would be out on average, and the further under the smaller the pool (7 exits keep all of them
out 0.1% of the time at ``A`` = 1.6, 140 exits at ``A`` = 111).

``L`` is not the engine's ban length: the pool probes a banned exit after its learnt rest, and
a probe renews the ban, so an exit stays out for the sum of its rests until one outlasts the
ban, about twice the ban once the learnt rest has settled. The pool measures ``L`` itself, per
ban, from the block that began it to the probe that answered; until a ban has ended it takes
``RENEWAL`` × its learnt rest.

``CapacityMeter`` keeps, per engine, what the model needs as counts that fade over
``window`` seconds: requests sent, bans begun (one ban counted once) and bans ended with the
time each kept its exit out, and the requests sent over the last ``DEMAND_WINDOW`` seconds for
the demand it compares them against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

# Seconds over which the demand (requests a second) is averaged: short, so a surge shows at once.
DEMAND_WINDOW = 30.0
# Fewer bans than this in the window, and the ban rate is too uncertain to say anything with.
MIN_BANS = 3.0
# The share of searches the sustainable rate keeps succeeding: all exits out at once no more
# than this share of the time.
SUCCESS = 0.999
# Time out of rotation per ban over the rest it begins with, until bans have been seen to end:
# probes renew a ban, so an exit is out about twice the ban (measured, docs/capacity.md).
RENEWAL = 2.0


def all_out(exits: int, load: float) -> float:
    """Erlang's loss formula ``B(N, A)``: the share of time all ``exits`` are out of rotation
    when ``load`` of them are out on average, were there no limit (the recurrence
    ``B(n) = A·B(n−1) / (n + A·B(n−1))``, stable for any ``N``)."""
    blocked = 1.0
    for n in range(1, exits + 1):
        blocked = load * blocked / (n + load * blocked)
    return blocked


def _load_for(exits: int, success: float) -> float:
    """The highest mean load ``A`` (exits out) at which all ``exits`` are out no more than
    ``1 − success`` of the time: ``all_out`` rises with the load, so bisect it."""
    low, high = 0.0, float(exits)
    for _ in range(50):
        middle = (low + high) / 2
        if all_out(exits, middle) > 1 - success:
            high = middle
        else:
            low = middle
    return low


def ceiling(exits: int, ban_rate: float, out_time: float) -> float:
    """Requests a second at which every one of ``exits`` is out on average, ``N / (p·L)``:
    past it, more attempts only ban the exits that are left; unbounded when nothing bans."""
    exposure = ban_rate * out_time
    return math.inf if exposure <= 0 else exits / exposure


def sustainable_rate(
    exits: int, ban_rate: float, out_time: float, success: float = SUCCESS
) -> float:
    """Requests a second ``exits`` sustain at ``success`` when each request bans its exit with
    probability ``ban_rate`` for ``out_time`` seconds; unbounded when nothing bans."""
    exposure = ban_rate * out_time
    return math.inf if exposure <= 0 else _load_for(exits, success) / exposure


def exits_needed(
    rate: float,
    ban_rate: float,
    out_time: float,
    per_exit_limit: float,
    success: float = SUCCESS,
) -> int:
    """Exits a target ``rate`` needs: enough that all of them are out of rotation no more than
    ``1 − success`` of the time, plus those carrying the traffic, each below ``per_exit_limit``
    requests a second (the engine's threshold)."""
    load = rate * ban_rate * out_time
    banned = 0
    while load > 0 and all_out(banned, load) > 1 - success:
        banned += 1
    carrying = rate / per_exit_limit if per_exit_limit > 0 else 0.0
    return banned + math.ceil(carrying)


class CapacitySnapshot(TypedDict):
    exits: int
    ban_rate: float | None
    ban_length: float
    out_time: float
    sustainable_rate: float | None
    ceiling: float | None
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
        self._ended = _Fading(window)
        self._out = _Fading(window)
        self._demand = _Fading(DEMAND_WINDOW)

    def sent(self, now: float) -> None:
        self._sent.add(now)
        self._demand.add(now)

    def banned(self, now: float) -> None:
        self._bans.add(now)

    def ended(self, now: float, out: float) -> None:
        """A ban ended (a probe answered) after keeping its exit out ``out`` seconds."""
        self._ended.add(now)
        self._out.add(now, out)

    def out_time(self, now: float, rest: float) -> float:
        """Seconds a ban keeps its exit out, lately; ``RENEWAL`` × ``rest`` before any ended."""
        ended = self._ended.read(now)
        return self._out.read(now) / ended if ended >= 1 else RENEWAL * rest

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
        """``ban_length`` is the learnt rest; the model reads the time out measured."""
        p = self.ban_rate(now)
        out = self.out_time(now, ban_length)
        rate = None if p is None else sustainable_rate(exits, p, out)
        return CapacitySnapshot(
            exits=exits,
            ban_rate=None if p is None else round(p, 5),
            ban_length=round(ban_length, 1),
            out_time=round(out, 1),
            sustainable_rate=None if rate is None else round(rate, 2),
            ceiling=None if p is None else round(ceiling(exits, p, out), 2),
            demand=round(self.demand(now), 2),
        )

"""``QuotaMeter``: the monthly searches a plan includes, and the usage figures ``/account`` shows.

Rate limits count every request; the quota counts only searches that needed an upstream fetch and
succeeded. Cached answers, answers shared with an identical search in flight, and failures are
free, as users of such services expect. So ``check`` runs before any work and ``record`` only after
a successful fetch. Between the two, a key can overshoot its quota by at most the number of its
searches in flight at once (the in-flight cap bounds that): the price of not reserving a search up
front and refunding it whenever it turns out cached or failed.

Counts live in the ``Store`` (memory or Redis) per API key, per calendar month and per hour (UTC),
so every replica reads the same figures. If the store cannot answer, ``check`` admits (a month is
long; a short outage costs little) unless the limits fail closed, and ``record`` drops the count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from serpgate.errors import QuotaExceeded, ServiceUnavailable
from serpgate.settings import Plan
from serpgate.store.base import Store, StoreUnavailable
from serpgate.traffic.health import OnStoreError, StoreHealth

# Counters outlive the period they count by a margin, so the hour before stays readable.
_MONTH_TTL = 32 * 24 * 3600.0
_HOUR_TTL = 3 * 3600.0


@dataclass(frozen=True, slots=True)
class Usage:
    """Searches that cost an upstream fetch, for ``/account``."""

    this_hour: int
    last_hour: int
    this_month: int
    month_limit: int | None
    month_resets_at: datetime

    @property
    def month_remaining(self) -> int | None:
        return None if self.month_limit is None else max(0, self.month_limit - self.this_month)

    def as_dict(self) -> dict[str, object]:
        return {
            "this_hour_searches": self.this_hour,
            "last_hour_searches": self.last_hour,
            "this_month_usage": self.this_month,
            "searches_per_month": self.month_limit,
            "plan_searches_left": self.month_remaining,
            "month_resets_at": self.month_resets_at.isoformat(),
        }


def _next_month(now: datetime) -> datetime:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=32)).replace(day=1)


class QuotaMeter:
    def __init__(
        self,
        store: Store,
        health: StoreHealth,
        on_error: OnStoreError = "local",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._health = health
        self._on_error = on_error
        self._clock = clock

    def _keys(self, subject: str) -> tuple[str, str, str]:
        """Keys of this month, this hour and last hour; {subject} keeps them in one Cluster slot."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        hour = now.replace(minute=0, second=0, microsecond=0)
        before = hour - timedelta(hours=1)
        base = f"quota:{{{subject}}}"
        return (
            f"{base}:month:{now:%Y-%m}",
            f"{base}:hour:{hour:%Y-%m-%dT%H}",
            f"{base}:hour:{before:%Y-%m-%dT%H}",
        )

    async def check(self, subject: str, plan: Plan) -> None:
        """Raise ``QuotaExceeded`` (402) when the plan's monthly searches are spent."""
        if plan.per_month is None:
            return
        month, _, _ = self._keys(subject)
        try:
            raw = await self._health.call(lambda: self._store.get(month))
        except StoreUnavailable:
            if self._on_error == "closed":
                raise ServiceUnavailable(
                    "Usage cannot be checked right now; try again shortly",
                    retry_after=self._health.retry_after,
                ) from None
            return
        used = int(raw) if raw else 0
        if used >= plan.per_month:
            resets = _next_month(datetime.fromtimestamp(self._clock(), UTC))
            raise QuotaExceeded(
                f"Your {plan.name} plan's {plan.per_month} searches this month are used up; "
                f"searches are available again on {resets:%Y-%m-%d} (UTC) or with a larger plan"
            )

    async def record(self, subject: str, searches: int = 1) -> None:
        """Count searches that fetched upstream and succeeded; a store outage loses the count.

        Both counters in one round trip: this is on the way of every uncached answer."""
        month, hour, _ = self._keys(subject)
        counts = [(month, searches, _MONTH_TTL), (hour, searches, _HOUR_TTL)]
        try:
            await self._health.call(lambda: self._store.incr_many(counts))
        except StoreUnavailable:
            return

    async def usage(self, subject: str, plan: Plan) -> Usage:
        """Live figures; raises ``ServiceUnavailable`` while the store cannot answer."""
        keys = list(self._keys(subject))
        try:
            raw = await self._health.call(lambda: self._store.get_many(keys))
        except StoreUnavailable:
            raise ServiceUnavailable(
                "Usage figures are unavailable right now; try again shortly",
                retry_after=self._health.retry_after,
            ) from None
        month, hour, before = (int(value) if value else 0 for value in raw)
        return Usage(
            this_hour=hour,
            last_hour=before,
            this_month=month,
            month_limit=plan.per_month,
            month_resets_at=_next_month(datetime.fromtimestamp(self._clock(), UTC)),
        )

"""``UsageMeter``: searches counted per tenant per UTC hour and month, for ``/account``.

Counters live in the store, so every replica adds to the same figures; each expires a little
after its period ends, so nothing needs cleaning up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from serpgate.store.base import Store

_HOUR_TTL = 3 * 3600.0
_MONTH_TTL = 35 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Usage:
    this_hour: int
    last_hour: int
    this_month: int


class UsageMeter:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def _keys(self, tenant_id: str) -> tuple[str, str, str]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        hour = f"usage:{tenant_id}:h:{now:%Y%m%d%H}"
        last = f"usage:{tenant_id}:h:{now - timedelta(hours=1):%Y%m%d%H}"
        month = f"usage:{tenant_id}:m:{now:%Y%m}"
        return hour, last, month

    async def record(self, tenant_id: str) -> None:
        hour, _, month = self._keys(tenant_id)
        await self._store.incr(hour, ttl=_HOUR_TTL)
        await self._store.incr(month, ttl=_MONTH_TTL)

    async def read(self, tenant_id: str) -> Usage:
        values = await self._store.get_many(list(self._keys(tenant_id)))
        this_hour, last_hour, this_month = (int(v) if v else 0 for v in values)
        return Usage(this_hour=this_hour, last_hour=last_hour, this_month=this_month)

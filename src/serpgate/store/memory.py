"""``MemoryStore``: the ``Store`` protocol inside one process, for the embedded default and tests.

Expiry is lazy (checked on read) plus a sweep whenever the store passes ``max_entries``, after
which the least recently written entries go first, so an embedded server cannot grow without bound.
The clock is injectable so that tests can move time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence


class MemoryStore:
    def __init__(
        self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._data: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self._clock():
            del self._data[key]
            return None
        return value

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        expires = None if ttl is None else self._clock() + ttl
        self._data[key] = (value, expires)
        self._data.move_to_end(key)
        if len(self._data) > self._max_entries:
            self._evict()

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
            del self._data[key]
        while len(self._data) > self._max_entries:
            self._data.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [self._live(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._put(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._data.pop(key, None)
        return existed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        current = self._live(key)
        if current is None:
            self._put(key, str(amount).encode(), ttl)
            return amount
        total = int(current) + amount
        _, expires = self._data[key]
        self._data[key] = (str(total).encode(), expires)
        return total

    async def incr_many(self, counts: Sequence[tuple[str, int, float | None]]) -> list[int]:
        return [await self.incr(key, amount, ttl) for key, amount, ttl in counts]

    async def scan(self, prefix: str) -> list[str]:
        return [key for key in list(self._data) if key.startswith(prefix) and self._live(key)]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()

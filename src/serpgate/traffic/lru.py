"""``LocalLRU``: a small in-process layer for the hottest cache entries, in front of Redis.

A hot query answered from Redis still costs a round trip per request; this keeps the most recently
used answers in the process, bounded both by count and by bytes so a few huge pages cannot crowd
out memory. Entries live only ``ttl`` seconds here, so a replica never serves for long what another
replica has since refreshed: the replicas converge within ``ttl``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LocalLRU(Generic[K, V]):
    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._clock = clock
        # key -> (value, size in bytes, expires at)
        self._items: OrderedDict[K, tuple[V, int, float]] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, _, expires = item
        if expires <= self._clock():
            self.discard(key)
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V, size: int, ttl: float | None = None) -> None:
        """Keep ``value`` for ``ttl`` (at most the layer's own); too big a value is not kept."""
        self.discard(key)
        if size > self._max_bytes or self._max_entries == 0:
            return
        life = self._ttl if ttl is None else min(ttl, self._ttl)
        if life <= 0:
            return
        self._items[key] = (value, size, self._clock() + life)
        self.nbytes += size
        while len(self._items) > self._max_entries or self.nbytes > self._max_bytes:
            _, (_, evicted, _) = self._items.popitem(last=False)
            self.nbytes -= evicted

    def discard(self, key: K) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.nbytes -= item[1]

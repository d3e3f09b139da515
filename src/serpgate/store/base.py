"""The storage protocol every shared-state part of serpgate is written against.

Two implementations keep it: ``MemoryStore`` (one process, the embedded default) and
``RedisStore`` (any number of replicas). Keys are plain strings that the store namespaces with its
prefix; values are bytes (orjson, never pickle). One contract test suite runs against both, so a
part that works on one works on the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SharedValue:
    """A value several ``StoreWrite`` values refer to, stored once under its own key.

    ``value`` None: the sender believes it stored already and sends only the key, to have its
    expiry extended; the write that needs it is then made only if it is still there.
    """

    key: str
    value: bytes | None
    ttl: float


@dataclass(frozen=True, slots=True)
class StoreWrite:
    """A ``set`` to make later, or together with another command in the same round trip.

    With ``needs``, the value refers to a shared one: that is stored (or kept alive to outlive
    this value) first, and where it is found missing and not sent, nothing is written.
    """

    key: str
    value: bytes
    ttl: float
    needs: SharedValue | None = None


class StoreUnavailable(Exception):
    """The backing service did not answer; callers decide whether to fail open or closed."""


class Store(Protocol):
    async def get(self, key: str) -> bytes | None:
        """The value at ``key``, or None when absent or expired."""

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """Values for several keys in one round trip, in the order asked."""

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` in seconds, None for no expiry."""

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent; True when this call stored it."""

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer at ``key`` (0 when absent); ``ttl`` set on creation."""

    async def incr_many(self, counts: Sequence[tuple[str, int, float | None]]) -> list[int]:
        """``incr`` of each (key, amount, ttl), in one round trip (one more where it created a
        counter with a ttl, to set it); the totals in the order given."""

    async def scan(self, prefix: str) -> list[str]:
        """Every live key that starts with ``prefix`` (unprefixed, as callers named them)."""

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers."""

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

"""``SearchCache``: finished answers, keyed by what changes the result page, shared by all replicas.

The key is the engine plus a digest of the canonical form of ``SearchParams.result_fields()``:
sorted keys, defaults filled in, values already normalised by validation (``gl=US`` is ``gl=us``),
and the service-only fields (``api_key``, ``no_cache``, ``async``, ``output``) left out. So
``?q=coffee&engine=bing`` and ``?engine=bing&num=10&q=coffee&api_key=…`` share an entry.

Values are the ready-to-send orjson bytes of the response (never pickle), zlib-compressed above a
size threshold, behind a fixed binary header that says when the answer was stored and until when it
is fresh. Freshness follows RFC 5861: ``fresh`` for ``ttl`` (± jitter, so entries written together
do not all expire together), then ``stale`` for ``stale_while_revalidate`` (answer at once, refresh
in the background), then ``expired`` until ``stale_if_error`` (served only when a fetch fails). The
store keeps an entry for the longest of those windows.

A small ``LocalLRU`` holds the hottest fresh entries in the process, so a hit on a hot query costs
no Redis round trip. The store is optional equipment: if it fails or is slow, a read is a miss and a
write is dropped, never an exception to the caller.
"""

from __future__ import annotations

import hashlib
import logging
import random
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import orjson

from serpgate.models.params import SearchParams
from serpgate.settings import CacheSettings
from serpgate.store.base import Store, StoreUnavailable
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.lru import LocalLRU

log = logging.getLogger("serpgate.traffic")

# magic, flags, stored at (unix seconds), fresh until (unix seconds)
_HEADER = struct.Struct("!4sBdd")
_MAGIC = b"sgc1"
_ZLIB = 1

Freshness = Literal["fresh", "stale", "expired"]


def cache_key(params: SearchParams) -> str:
    """The cache (and coalescing) key of a search: same result page, same key."""
    canonical = orjson.dumps(params.result_fields(), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(canonical, digest_size=16).hexdigest()
    # The digest is the hash tag, so the entry and its flight lease share a Cluster slot.
    return f"cache:{params.engine}:{{{digest}}}"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """One stored answer, and how fresh it was when read."""

    body: bytes
    stored_at: float
    fresh_until: float
    freshness: Freshness
    age: float


@dataclass(frozen=True, slots=True)
class _Entry:
    body: bytes
    stored_at: float
    fresh_until: float


class SearchCache:
    def __init__(
        self,
        store: Store,
        settings: CacheSettings,
        health: StoreHealth,
        clock: Callable[[], float] = time.time,
        local_clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._health = health
        self._clock = clock
        self._rng = rng or random.Random()
        self._local: LocalLRU[str, _Entry] = LocalLRU(
            settings.local_entries, settings.local_bytes, settings.local_ttl, local_clock
        )
        self.local_hits = 0

    def peek(self, key: str) -> CachedAnswer | None:
        """A fresh answer held in this process, at no I/O; None sends the caller to ``get``."""
        entry = self._local.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now >= entry.fresh_until:
            return None
        self.local_hits += 1
        return self._answer(entry, now)

    async def get(self, key: str, *, local: bool = True) -> CachedAnswer | None:
        """The stored answer, unless absent or past every window; ``local=False`` asks the store."""
        if local:
            held = self.peek(key)
            if held is not None:
                return held
        now = self._clock()
        try:
            raw = await self._health.call(lambda: self._store.get(key))
        except StoreUnavailable:
            return None
        entry = self._decode(key, raw) if raw is not None else None
        if entry is None:
            return None
        answer = self._answer(entry, now)
        if answer is None:
            return None
        if answer.freshness == "fresh":
            self._local.put(key, entry, len(entry.body), entry.fresh_until - now)
        return answer

    async def put(self, key: str, body: bytes) -> None:
        """Store ``body`` as a fresh answer; a store outage leaves only the local copy."""
        settings = self._settings
        now = self._clock()
        fresh_for = settings.ttl * self._rng.uniform(
            1 - settings.ttl_jitter, 1 + settings.ttl_jitter
        )
        entry = _Entry(body, now, now + fresh_for)
        keep_for = fresh_for + max(settings.stale_while_revalidate, settings.stale_if_error)
        raw = self._encode(entry)
        self._local.put(key, entry, len(body), fresh_for)
        try:
            await self._health.call(lambda: self._store.set(key, raw, ttl=keep_for))
        except StoreUnavailable:
            return

    def _answer(self, entry: _Entry, now: float) -> CachedAnswer | None:
        late = now - entry.fresh_until
        freshness: Freshness
        if late < 0:
            freshness = "fresh"
        elif late < self._settings.stale_while_revalidate:
            freshness = "stale"
        elif late < self._settings.stale_if_error:
            freshness = "expired"
        else:
            return None
        return CachedAnswer(
            entry.body,
            entry.stored_at,
            entry.fresh_until,
            freshness,
            max(0.0, now - entry.stored_at),
        )

    def _encode(self, entry: _Entry) -> bytes:
        threshold = self._settings.compress_above
        if threshold is not None and len(entry.body) > threshold:
            header = _HEADER.pack(_MAGIC, _ZLIB, entry.stored_at, entry.fresh_until)
            return header + zlib.compress(entry.body)
        return _HEADER.pack(_MAGIC, 0, entry.stored_at, entry.fresh_until) + entry.body

    @staticmethod
    def _decode(key: str, raw: bytes) -> _Entry | None:
        # Anything unreadable (another version's format, a stray write) is a miss, not an error.
        try:
            magic, flags, stored_at, fresh_until = _HEADER.unpack_from(raw)
            if magic != _MAGIC:
                raise ValueError(f"unknown format {magic!r}")
            body = raw[_HEADER.size :]
            if flags & _ZLIB:
                body = zlib.decompress(body)
        except (struct.error, zlib.error, ValueError) as exc:
            log.warning("unreadable cache entry %s: %s", key, exc)
            return None
        return _Entry(body, stored_at, fresh_until)

"""``SearchArchive``: every answered search, kept by id for ``GET /searches/{id}``, and the page
each was read from, for ``GET /searches/{id}.html``.

Entries are the exact response bytes (a cache hit's in two parts, below), keyed by tenant and
id, so that another tenant's id is simply absent (a 404, revealing nothing) and an archived answer
is served without re-encoding. The tenant is the key's hash tag, as it is of the tenant's
rate-limit counters: the rate limiter can then admit a cache hit and archive its answer in one
script (``write_hit``), on one Cluster slot.

A cache hit's answer is its own metadata (the head) before a tail that every hit of one cache
entry shares (its parameters, pagination and results: ``render_tail``), so a hit is kept as its
head and a reference to its tail, and the tail once, under its digest (``Tail``, ``write_hit``):
a few hundred bytes per hit instead of the whole 15 KB answer. The tail's key has the tenant as
hash tag too (one script writes both), and its expiry is raised by every hit that refers to it,
so it outlives them all; a record is never written when its tail is found missing and was not
sent (the rate limiter's script, then ``save_hit``). Reading puts head and tail back together;
a record whose tail is gone (evicted) reads as absent, never as half an answer.

Pages are kept once per upstream fetch, zlib-compressed, under their own id, and an archived
search names the page it was read from on a line before its JSON: a search answered from the
cache points at the page of the fetch that filled the cache, so the page is never stored again
per search. A page outlives every search that can point at it: the archive's lifetime plus as
long as the cache may still hand out the entry that names it (``page_ttl``).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from isal import isal_zlib

from serpgate.errors import NotFound
from serpgate.store.base import SharedValue, Store, StoreWrite
from serpgate.traffic.lru import LocalLRU

# Compressed by ISA-L, whose output is zlib's format (``zlib.decompress`` reads it): level 1
# shrinks the 650 KB Google page about 2.7-fold in 1.2 ms, where zlib's own level 1 takes 6-9 ms
# for the same size (docs/performance.md).
_LEVEL = 1


# How many tails this process remembers having stored (one per tenant and hot cache entry): one
# forgotten is only sent again with its next hit.
TAILS_REMEMBERED = 65536


def pack_page(page: bytes) -> bytes:
    """A page (UTF-8) as the archive keeps it. ``SearchService`` packs it while the page parses
    in the pool, or before an inline parse (``PageParser``)."""
    return isal_zlib.compress(page, _LEVEL)


@dataclass(frozen=True, slots=True)
class Tail:
    """An answer after its metadata, as every hit of one cache entry renders it, and its digest."""

    body: bytes
    digest: str

    @classmethod
    def of(cls, body: bytes) -> Tail:
        return cls(body, hashlib.blake2b(body, digest_size=16).hexdigest())


@dataclass(frozen=True, slots=True)
class _Record:
    """A record as stored: the page it names, the answer (or its head), its tail's digest."""

    page_id: str | None
    body: bytes
    tail: str | None

    @classmethod
    def parse(cls, value: bytes) -> _Record:
        # A JSON answer starts with "{"; a page id line with a hex digit; a tail reference with "@".
        if value.startswith(b"{"):
            return cls(None, value, None)
        first, _, body = value.partition(b"\n")
        if not first.startswith(b"@"):
            return cls(first.decode(), body, None)
        digest, _, page_id = first[1:].decode().partition(" ")
        return cls(page_id or None, body, digest)


class SearchArchive:
    def __init__(self, store: Store, ttl: float, page_ttl: float | None = None) -> None:
        self._store = store
        self._ttl = ttl
        self._page_ttl = max(page_ttl or ttl, ttl)
        # Tails stored by this process, by key: a hit then sends only their key. Remembered no
        # longer than a tail lives without hits.
        self._stored_tails: LocalLRU[str, bool] = LocalLRU(TAILS_REMEMBERED, TAILS_REMEMBERED, ttl)

    @staticmethod
    def _key(tenant_id: str, search_id: str) -> str:
        return f"search:{{{tenant_id}}}:{search_id}"

    @staticmethod
    def _tail_key(tenant_id: str, digest: str) -> str:
        return f"tail:{{{tenant_id}}}:{digest}"

    @staticmethod
    def _page_key(page_id: str) -> str:
        return f"page:{page_id}"

    @staticmethod
    def _value(body: bytes, page_id: str | None) -> bytes:
        # A JSON answer starts with "{", so a leading page id line is never mistaken for it.
        return f"{page_id}\n".encode() + body if page_id else body

    def write_hit(
        self, tenant_id: str, search_id: str, head: bytes, tail: Tail, page_id: str | None
    ) -> StoreWrite:
        """A cache hit's record (the answer is ``head + tail.body``): its head and a reference
        to its tail, which is sent along unless this process remembers storing it.

        Only a store write that honours ``needs`` may make it (the rate limiter's script);
        otherwise the caller makes it with ``save_hit``, and reports a write made with
        ``stored``.
        """
        tail_key = self._tail_key(tenant_id, tail.digest)
        sent = None if self._stored_tails.get(tail_key) else tail.body
        reference = f"@{tail.digest} {page_id}\n" if page_id else f"@{tail.digest}\n"
        return StoreWrite(
            self._key(tenant_id, search_id),
            reference.encode() + head,
            self._ttl,
            SharedValue(tail_key, sent, self._ttl),
        )

    def stored(self, write: StoreWrite) -> None:
        """``write`` (of ``write_hit``) was made: its tail is in the store."""
        if write.needs is not None:
            self._stored_tails.put(write.needs.key, True, 1)

    async def save_hit(self, write: StoreWrite, tail: Tail) -> None:
        """Make ``write`` (of ``write_hit``) here: its tail first, so it never points at none."""
        needs = write.needs
        assert needs is not None
        self._stored_tails.discard(needs.key)
        await self._store.set(needs.key, tail.body, ttl=max(needs.ttl, write.ttl))
        await self._store.set(write.key, write.value, ttl=write.ttl)
        self.stored(write)

    async def save(
        self, tenant_id: str, search_id: str, body: bytes, page_id: str | None = None
    ) -> None:
        value = self._value(body, page_id)
        await self._store.set(self._key(tenant_id, search_id), value, ttl=self._ttl)

    async def load(self, tenant_id: str, search_id: str) -> bytes:
        return (await self._entry(tenant_id, search_id))[1]

    async def save_page(self, page_id: str, packed: bytes) -> None:
        """Keep a page as ``pack_page`` made it."""
        await self._store.set(self._page_key(page_id), packed, ttl=self._page_ttl)

    async def load_page(self, tenant_id: str, search_id: str) -> bytes:
        """The page the search was read from, as the engine answered it (UTF-8)."""
        page_id, _ = await self._entry(tenant_id, search_id)
        page = await self._store.get(self._page_key(page_id)) if page_id else None
        if page is None:
            raise NotFound(f"no page is kept for search {search_id!r}")
        return zlib.decompress(page)

    async def _entry(self, tenant_id: str, search_id: str) -> tuple[str | None, bytes]:
        value = await self._store.get(self._key(tenant_id, search_id))
        record = None if value is None else _Record.parse(value)
        if record is not None and record.tail is not None:
            tail = await self._store.get(self._tail_key(tenant_id, record.tail))
            record = None if tail is None else _Record(record.page_id, record.body + tail, None)
        if record is None:
            raise NotFound(f"no search with id {search_id!r} for this API key")
        return record.page_id, record.body

    async def load_many(self, tenant_id: str, search_ids: list[str]) -> list[bytes | None]:
        """Several answers in one round trip (two with tails); None for an id absent or expired."""
        values = await self._store.get_many([self._key(tenant_id, i) for i in search_ids])
        records = [None if v is None else _Record.parse(v) for v in values]
        digests = sorted({r.tail for r in records if r is not None and r.tail is not None})
        found = await self._store.get_many([self._tail_key(tenant_id, d) for d in digests])
        tails = dict(zip(digests, found, strict=True))
        bodies: list[bytes | None] = []
        for record in records:
            if record is None or record.tail is None:
                bodies.append(None if record is None else record.body)
            else:
                tail = tails[record.tail]
                bodies.append(None if tail is None else record.body + tail)
        return bodies

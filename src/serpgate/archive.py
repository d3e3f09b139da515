"""``SearchArchive``: every answered search, kept by id for ``GET /searches/{id}``, and the page
each was read from, for ``GET /searches/{id}.html``.

Entries are the exact response bytes, keyed by tenant and id, so that another tenant's id is
simply absent (a 404, revealing nothing) and an archived answer is served without re-encoding.
The tenant is the key's hash tag, as it is of the tenant's rate-limit counters: the rate limiter
can then admit a cache hit and archive its answer in one script (``write``), on one Cluster slot.

Pages are kept once per upstream fetch, zlib-compressed, under their own id, and an archived
search names the page it was read from on a line before its JSON: a search answered from the
cache points at the page of the fetch that filled the cache, so the page is never stored again
per search. A page outlives every search that can point at it: the archive's lifetime plus as
long as the cache may still hand out the entry that names it (``page_ttl``).
"""

from __future__ import annotations

import zlib

from isal import isal_zlib

from serpgate.errors import NotFound
from serpgate.store.base import Store, StoreWrite

# Compressed by ISA-L, whose output is zlib's format (``zlib.decompress`` reads it): level 1
# shrinks the 650 KB Google page about 2.7-fold in 1.5 ms, where zlib's own level 1 takes 6-9 ms
# for the same size, on the event loop of every uncached search (docs/performance.md).
_LEVEL = 1


class SearchArchive:
    def __init__(self, store: Store, ttl: float, page_ttl: float | None = None) -> None:
        self._store = store
        self._ttl = ttl
        self._page_ttl = max(page_ttl or ttl, ttl)

    @staticmethod
    def _key(tenant_id: str, search_id: str) -> str:
        return f"search:{{{tenant_id}}}:{search_id}"

    @staticmethod
    def _page_key(page_id: str) -> str:
        return f"page:{page_id}"

    @staticmethod
    def _value(body: bytes, page_id: str | None) -> bytes:
        # A JSON answer starts with "{", so a leading page id line is never mistaken for it.
        return f"{page_id}\n".encode() + body if page_id else body

    def write(
        self, tenant_id: str, search_id: str, body: bytes, page_id: str | None = None
    ) -> StoreWrite:
        """The store write that ``save`` makes, for a caller that sends it with other commands."""
        return StoreWrite(self._key(tenant_id, search_id), self._value(body, page_id), self._ttl)

    async def save(
        self, tenant_id: str, search_id: str, body: bytes, page_id: str | None = None
    ) -> None:
        value = self._value(body, page_id)
        await self._store.set(self._key(tenant_id, search_id), value, ttl=self._ttl)

    async def load(self, tenant_id: str, search_id: str) -> bytes:
        return (await self._entry(tenant_id, search_id))[1]

    async def save_page(self, page_id: str, html: str) -> None:
        page = isal_zlib.compress(html.encode(), _LEVEL)
        await self._store.set(self._page_key(page_id), page, ttl=self._page_ttl)

    async def load_page(self, tenant_id: str, search_id: str) -> bytes:
        """The page the search was read from, as the engine answered it (UTF-8)."""
        page_id, _ = await self._entry(tenant_id, search_id)
        page = await self._store.get(self._page_key(page_id)) if page_id else None
        if page is None:
            raise NotFound(f"no page is kept for search {search_id!r}")
        return zlib.decompress(page)

    async def _entry(self, tenant_id: str, search_id: str) -> tuple[str | None, bytes]:
        value = await self._store.get(self._key(tenant_id, search_id))
        if value is None:
            raise NotFound(f"no search with id {search_id!r} for this API key")
        if value.startswith(b"{"):
            return None, value
        page_id, _, body = value.partition(b"\n")
        return page_id.decode(), body

    async def load_many(self, tenant_id: str, search_ids: list[str]) -> list[bytes | None]:
        """Several answers in one round trip; None for an id that is absent or expired."""
        values = await self._store.get_many([self._key(tenant_id, i) for i in search_ids])
        return [
            None if v is None else v if v.startswith(b"{") else v.partition(b"\n")[2]
            for v in values
        ]

"""``SearchArchive``: every answered search, kept by id for ``GET /searches/{id}``.

Entries are the exact response bytes, keyed by tenant and id, so that another tenant's id is
simply absent (a 404, revealing nothing) and an archived answer is served without re-encoding.
The tenant is the key's hash tag, as it is of the tenant's rate-limit counters: the rate limiter
can then admit a cache hit and archive its answer in one script (``write``), on one Cluster slot.
"""

from __future__ import annotations

from serpgate.errors import NotFound
from serpgate.store.base import Store, StoreWrite


class SearchArchive:
    def __init__(self, store: Store, ttl: float) -> None:
        self._store = store
        self._ttl = ttl

    @staticmethod
    def _key(tenant_id: str, search_id: str) -> str:
        return f"search:{{{tenant_id}}}:{search_id}"

    def write(self, tenant_id: str, search_id: str, body: bytes) -> StoreWrite:
        """The store write that ``save`` makes, for a caller that sends it with other commands."""
        return StoreWrite(self._key(tenant_id, search_id), body, self._ttl)

    async def save(self, tenant_id: str, search_id: str, body: bytes) -> None:
        await self._store.set(self._key(tenant_id, search_id), body, ttl=self._ttl)

    async def load(self, tenant_id: str, search_id: str) -> bytes:
        body = await self._store.get(self._key(tenant_id, search_id))
        if body is None:
            raise NotFound(f"no search with id {search_id!r} for this API key")
        return body

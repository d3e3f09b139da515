"""``BatchLog``: which searches one batch became, kept so ``GET /searches?batch=ID`` can page them.

A batch is only a list of search ids (and the refused entries with their reasons) under the
tenant's name; each search's state is its own archive record, read a page at a time.
"""

from __future__ import annotations

import orjson

from serpgate.errors import NotFound
from serpgate.store.base import Store


class BatchLog:
    def __init__(self, store: Store, ttl: float) -> None:
        self._store = store
        self._ttl = ttl

    @staticmethod
    def _key(tenant_id: str, batch_id: str) -> str:
        return f"batch:{tenant_id}:{batch_id}"

    async def save(
        self, tenant_id: str, batch_id: str, ids: list[str], refused: list[dict[str, object]]
    ) -> None:
        record = orjson.dumps({"ids": ids, "refused": refused})
        await self._store.set(self._key(tenant_id, batch_id), record, ttl=self._ttl)

    async def load(self, tenant_id: str, batch_id: str) -> dict[str, list[object]]:
        raw = await self._store.get(self._key(tenant_id, batch_id))
        if raw is None:
            raise NotFound(f"no batch with id {batch_id!r} for this API key")
        record: dict[str, list[object]] = orjson.loads(raw)
        return record

"""``TenantWebhooks``: each tenant's signing secret and default webhook, kept in the store.

The secret is made the first time it is needed (``add`` makes two replicas racing to make it
agree on one) and shown to the tenant at ``GET /account/webhook``. It is per tenant, so one
tenant's receiver cannot forge deliveries to another's.
"""

from __future__ import annotations

import secrets

from serpgate.store.base import Store

_SECRET = "webhook:secret:"  # noqa: S105  # a key's name, not a secret
_DEFAULT = "webhook:default:"


class TenantWebhooks:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def secret(self, tenant_id: str) -> str:
        key = _SECRET + tenant_id
        found = await self._store.get(key)
        if found is None:
            await self._store.add(key, ("whsec_" + secrets.token_hex(24)).encode())
            found = await self._store.get(key)
            assert found is not None  # just added, or added by a racing replica
        return found.decode()

    async def default_url(self, tenant_id: str) -> str | None:
        found = await self._store.get(_DEFAULT + tenant_id)
        return found.decode() if found else None

    async def set_default_url(self, tenant_id: str, url: str | None) -> None:
        if url is None:
            await self._store.delete(_DEFAULT + tenant_id)
        else:
            await self._store.set(_DEFAULT + tenant_id, url.encode())

"""Tenants and their API keys: who is asking, and under which plan.

A key is shown once, when it is created; the store keeps only its SHA-256 (keys are 256 random
bits, so a fast hash is as safe as a slow one and costs nothing per request). Lookups go by hash
and the final comparison is constant-time. Keys given in settings (``SERPGATE_API_KEYS``) are
hashed at start and held only in memory, for deployments without Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, ConfigDict

from serpgate.errors import AuthenticationError, InvalidRequest, NotFound
from serpgate.settings import Plan
from serpgate.store.base import Store, StoreUnavailable

KEY_BYTES = 32
_TENANT = "tenant:"
# A revoked key keeps working at most this long on replicas that had it cached.
AUTH_CACHE_SECONDS = 5.0


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    plan: str
    key_hash: str
    created_at: str
    revoked: bool = False


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_bootstrap_keys(spec: str, plans: Mapping[str, Plan]) -> list[Tenant]:
    """Tenants from ``name:plan:key[,name:plan:key...]`` (the ``SERPGATE_API_KEYS`` format)."""
    tenants = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, rest = entry.partition(":")
        plan, sep2, key = rest.partition(":")
        if not (sep and sep2 and name and key):
            raise ValueError("SERPGATE_API_KEYS entries must read name:plan:key")
        if plan not in plans:
            raise ValueError(f"SERPGATE_API_KEYS names unknown plan {plan!r}")
        digest = hash_key(key)
        tenants.append(
            Tenant(id=f"cfg_{digest[:12]}", name=name, plan=plan, key_hash=digest, created_at="")
        )
    return tenants


class TenantRegistry:
    def __init__(
        self,
        store: Store,
        plans: Mapping[str, Plan],
        bootstrap: list[Tenant] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.plans = plans
        self._fixed = {t.key_hash: t for t in bootstrap or []}
        self._clock = clock
        self._recent: dict[str, tuple[Tenant, float]] = {}

    def plan_of(self, tenant: Tenant) -> Plan:
        return self.plans[tenant.plan]

    async def create(self, name: str, plan: str) -> tuple[str, Tenant]:
        """A new tenant and its key; the key is returned here and never again."""
        if plan not in self.plans:
            raise InvalidRequest(f"unknown plan {plan!r}; plans: {', '.join(self.plans)}")
        if any(t.name == name and not t.revoked for t in await self.list()):
            raise InvalidRequest(f"a tenant named {name!r} exists already; names are unique")
        key = "sg_" + secrets.token_urlsafe(KEY_BYTES)
        tenant = Tenant(
            id="tn_" + secrets.token_hex(8),
            name=name,
            plan=plan,
            key_hash=hash_key(key),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        await self._store.set(_TENANT + tenant.key_hash, tenant.model_dump_json().encode())
        return key, tenant

    async def authenticate(self, key: str | None) -> Tenant:
        if not key:
            raise AuthenticationError(
                "missing API key: pass api_key=... or an Authorization: Bearer header"
            )
        digest = hash_key(key)
        tenant = self._remembered(digest) or await self._lookup(digest)
        if tenant is None or not hmac.compare_digest(tenant.key_hash, digest):
            raise AuthenticationError("invalid API key")
        if tenant.revoked:
            raise AuthenticationError("this API key was revoked; ask for a new one")
        return tenant

    def remembered(self, key: str) -> Tenant | None:
        """The tenant ``authenticate`` answers for ``key`` where this process can tell without
        the store (a fixed key, or one looked up in the last ``AUTH_CACHE_SECONDS``); None for
        every other key, which ``authenticate`` must judge. No coroutine: a cache hit is made of
        few enough steps that one more costs it."""
        digest = hash_key(key)
        tenant = self._remembered(digest)
        if tenant is None or tenant.revoked or not hmac.compare_digest(tenant.key_hash, digest):
            return None
        return tenant

    def _remembered(self, digest: str) -> Tenant | None:
        tenant = self._fixed.get(digest)
        if tenant is not None:
            return tenant
        hit = self._recent.get(digest)
        return hit[0] if hit is not None and hit[1] > self._clock() else None

    async def _lookup(self, digest: str) -> Tenant | None:
        try:
            raw = await self._store.get(_TENANT + digest)
        except StoreUnavailable:
            hit = self._recent.get(digest)
            if hit is not None:
                return hit[0]  # known a moment ago: keep serving it through a store outage
            raise
        if raw is None:
            return None
        tenant = Tenant.model_validate(orjson.loads(raw))
        if len(self._recent) > 10_000:
            self._recent.clear()
        self._recent[digest] = (tenant, self._clock() + AUTH_CACHE_SECONDS)
        return tenant

    async def list(self) -> list[Tenant]:
        keys = await self._store.scan(_TENANT)
        raws = await self._store.get_many(keys)
        stored = [Tenant.model_validate(orjson.loads(r)) for r in raws if r is not None]
        return sorted([*self._fixed.values(), *stored], key=lambda t: (t.created_at, t.id))

    async def revoke(self, tenant_id: str) -> Tenant:
        for tenant in await self.list():
            if tenant.id == tenant_id and tenant.id not in {t.id for t in self._fixed.values()}:
                revoked = tenant.model_copy(update={"revoked": True})
                await self._store.set(_TENANT + tenant.key_hash, revoked.model_dump_json().encode())
                self._recent.pop(tenant.key_hash, None)
                return revoked
        raise NotFound(f"no revocable tenant {tenant_id!r} (keys from settings are revoked there)")

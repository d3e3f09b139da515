"""API keys: shown once, kept as hashes, checked on every request, revocable."""

from __future__ import annotations

import pytest

from serpgate.errors import AuthenticationError, InvalidRequest, NotFound
from serpgate.settings import DEFAULT_PLANS, Plan
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.tenants import (
    AUTH_CACHE_SECONDS,
    TenantRegistry,
    hash_key,
    parse_bootstrap_keys,
)


async def test_created_key_authenticates_and_only_its_hash_is_stored(
    redis_store: RedisStore,
) -> None:
    registry = TenantRegistry(redis_store, DEFAULT_PLANS)
    key, tenant = await registry.create("acme", "developer")
    assert key.startswith("sg_")
    assert len(key) > 40
    assert (await registry.authenticate(key)).id == tenant.id
    raw = [v async for v in redis_store.client.scan_iter(match=f"{redis_store.prefix}*")]
    stored: list[bytes] = []
    for k in raw:
        value = await redis_store.client.get(k)
        assert isinstance(value, bytes)  # the store's client does not decode responses
        stored.append(value)
    values = b"".join(stored)
    assert key.encode() not in values
    assert hash_key(key).encode() in values


async def test_wrong_and_missing_keys_are_refused() -> None:
    registry = TenantRegistry(MemoryStore(), DEFAULT_PLANS)
    await registry.create("acme", "free")
    with pytest.raises(AuthenticationError, match="invalid"):
        await registry.authenticate("sg_not-a-key")
    with pytest.raises(AuthenticationError, match="missing"):
        await registry.authenticate(None)


async def test_revoked_key_stops_working_and_list_shows_it() -> None:
    registry = TenantRegistry(MemoryStore(), DEFAULT_PLANS)
    key, tenant = await registry.create("acme", "free")
    await registry.authenticate(key)
    await registry.revoke(tenant.id)
    with pytest.raises(AuthenticationError, match="was revoked"):
        await registry.authenticate(key)
    assert [(t.id, t.revoked) for t in await registry.list()] == [(tenant.id, True)]
    with pytest.raises(NotFound):
        await registry.revoke("tn_unknown")


async def test_a_name_in_use_is_refused_until_its_tenant_is_revoked() -> None:
    registry = TenantRegistry(MemoryStore(), DEFAULT_PLANS)
    _, first = await registry.create("acme", "free")
    with pytest.raises(InvalidRequest, match="'acme' exists already"):
        await registry.create("acme", "developer")
    await registry.revoke(first.id)
    _, second = await registry.create("acme", "developer")
    assert second.id != first.id


async def test_unknown_plan_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="unknown plan"):
        await TenantRegistry(MemoryStore(), DEFAULT_PLANS).create("acme", "platinum")


async def test_bootstrap_keys_from_settings() -> None:
    tenants = parse_bootstrap_keys("alice:free:k1, bob:unlimited:k2", DEFAULT_PLANS)
    registry = TenantRegistry(MemoryStore(), DEFAULT_PLANS, tenants)
    assert (await registry.authenticate("k2")).name == "bob"
    assert registry.plan_of(await registry.authenticate("k1")).per_month == 250
    with pytest.raises(ValueError, match="unknown plan"):
        parse_bootstrap_keys("a:gold:k", DEFAULT_PLANS)
    with pytest.raises(ValueError, match="name:plan:key"):
        parse_bootstrap_keys("justakey", DEFAULT_PLANS)


async def test_a_key_is_remembered_only_where_authenticate_would_not_ask_the_store() -> None:
    now = [100.0]
    fixed = parse_bootstrap_keys("fixed:free:k1", DEFAULT_PLANS)
    registry = TenantRegistry(MemoryStore(), DEFAULT_PLANS, fixed, clock=lambda: now[0])
    key, tenant = await registry.create("acme", "free")
    assert registry.remembered(key) is None  # not looked up yet: only the store can say
    assert (await registry.authenticate(key)).id == tenant.id
    remembered = registry.remembered(key)
    assert remembered is not None
    assert remembered.id == tenant.id
    fixed_tenant = registry.remembered("k1")
    assert fixed_tenant is not None
    assert fixed_tenant.name == "fixed"
    assert registry.remembered("sg_not-a-key") is None
    now[0] += AUTH_CACHE_SECONDS
    assert registry.remembered(key) is None  # as long as authenticate trusts its memory
    await registry.authenticate(key)
    await registry.revoke(tenant.id)
    assert registry.remembered(key) is None


def test_in_flight_caps_are_per_plan_and_unlimited_means_unlimited() -> None:
    assert DEFAULT_PLANS["free"].in_flight_cap(None) == 2
    assert DEFAULT_PLANS["production"].in_flight_cap(None) == 40
    assert DEFAULT_PLANS["unlimited"].in_flight_cap(None) is None
    # A deployment-wide ceiling caps every plan, never raises one.
    assert DEFAULT_PLANS["unlimited"].in_flight_cap(100) == 100
    assert DEFAULT_PLANS["free"].in_flight_cap(100) == 2
    assert Plan(name="Custom", per_minute=5).describe() == (
        "5 a minute, unlimited an hour, unlimited a month, unlimited in flight"
    )

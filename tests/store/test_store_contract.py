"""One contract, two stores: whatever passes here on memory passes on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from serpgate.store.base import Store, StoreUnavailable
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from tests.conftest import isolated_redis_store
from tests.redis_server import free_port


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_url: str, key_prefix: str
) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    async with isolated_redis_store(redis_url, key_prefix) as redis_store:
        yield redis_store


async def test_get_returns_what_set_stored(store: Store) -> None:
    assert await store.get("a") is None
    await store.set("a", b"\x00binary\xff")
    assert await store.get("a") == b"\x00binary\xff"
    await store.set("a", b"replaced")
    assert await store.get("a") == b"replaced"


async def test_values_expire_after_their_ttl(store: Store) -> None:
    await store.set("short", b"v", ttl=0.05)
    await store.set("long", b"v", ttl=60)
    assert await store.get("short") == b"v"
    await asyncio.sleep(0.12)
    assert await store.get("short") is None
    assert await store.get("long") == b"v"


async def test_add_stores_only_when_absent(store: Store) -> None:
    assert await store.add("lease", b"first", ttl=5) is True
    assert await store.add("lease", b"second", ttl=5) is False
    assert await store.get("lease") == b"first"


async def test_add_succeeds_again_after_expiry(store: Store) -> None:
    assert await store.add("lease", b"first", ttl=0.05)
    await asyncio.sleep(0.12)
    assert await store.add("lease", b"second", ttl=5)


async def test_delete_reports_whether_the_key_existed(store: Store) -> None:
    await store.set("k", b"v")
    assert await store.delete("k") is True
    assert await store.delete("k") is False
    assert await store.get("k") is None


async def test_incr_counts_from_zero_and_keeps_the_first_ttl(store: Store) -> None:
    assert await store.incr("n") == 1
    assert await store.incr("n", 5) == 6
    assert await store.get("n") == b"6"
    assert await store.incr("t", ttl=0.05) == 1
    assert await store.incr("t", ttl=60) == 2  # a later ttl does not extend the first
    await asyncio.sleep(0.12)
    assert await store.incr("t") == 1


async def test_incr_many_counts_each_and_sets_only_a_created_counters_ttl(store: Store) -> None:
    await store.incr("old", 4)  # no ttl: incr_many must not give it one
    assert await store.incr_many([("old", 2, 0.05), ("new", 3, 0.05), ("forever", 1, None)]) == [
        6,
        3,
        1,
    ]
    assert await store.incr_many([("new", 1, 60)]) == [4]  # a later ttl does not extend the first
    await asyncio.sleep(0.12)
    assert await store.get_many(["old", "new", "forever"]) == [b"6", None, b"1"]


async def test_concurrent_incr_loses_no_update(store: Store) -> None:
    await asyncio.gather(*(store.incr("race") for _ in range(200)))
    assert await store.get("race") == b"200"


async def test_get_many_keeps_order_and_gaps(store: Store) -> None:
    await store.set("x", b"1")
    await store.set("z", b"3")
    assert await store.get_many(["x", "y", "z"]) == [b"1", None, b"3"]
    assert await store.get_many([]) == []


async def test_scan_finds_live_keys_by_prefix_unprefixed(store: Store) -> None:
    await store.set("tenant:a", b"1")
    await store.set("tenant:b", b"2")
    await store.set("other:c", b"3")
    await store.set("tenant:gone", b"4", ttl=0.05)
    await asyncio.sleep(0.12)
    assert sorted(await store.scan("tenant:")) == ["tenant:a", "tenant:b"]


async def test_ping_answers(store: Store) -> None:
    await store.ping()


async def test_redis_prefixes_isolate_deployments(redis_url: str, key_prefix: str) -> None:
    one = RedisStore.from_url(redis_url, key_prefix + "-one")
    two = RedisStore.from_url(redis_url, key_prefix + "-two")
    try:
        await one.set("shared-name", b"one", ttl=10)
        assert await two.get("shared-name") is None
        assert await one.scan("shared") == ["shared-name"]
    finally:
        await one.delete("shared-name")
        await one.close()
        await two.close()


async def test_unreachable_redis_raises_store_unavailable() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", "x", timeout=0.5)
    try:
        with pytest.raises(StoreUnavailable):
            await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.get("k")
    finally:
        await store.close()


async def test_memory_store_evicts_oldest_beyond_its_bound() -> None:
    store = MemoryStore(max_entries=3)
    for name in "abcd":
        await store.set(name, name.encode())
    assert await store.get("a") is None
    assert await store.get_many(["b", "c", "d"]) == [b"b", b"c", b"d"]

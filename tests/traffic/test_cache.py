"""The result cache: its key, its stored form, freshness windows, the local layer, Redis trouble."""

from __future__ import annotations

import random
import zlib

import orjson
import pytest

from serpgate.models.params import SearchParams
from serpgate.settings import CacheSettings
from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.cache import SearchCache, cache_key
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.lru import LocalLRU
from tests.fake_clock import FakeClock

SETTINGS = CacheSettings(
    ttl=100, ttl_jitter=0.1, stale_while_revalidate=50, stale_if_error=500, compress_above=1000
)
BODY = orjson.dumps({"search_metadata": {"id": "x"}, "organic_results": [{"title": "t" * 50}]})


class CountingStore:
    """A real store, with its reads counted, to see which reads the local layer saves."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self.inner.set(key, value, ttl)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def make_cache(
    store: Store,
    clock: FakeClock,
    local_clock: FakeClock | None = None,
    settings: CacheSettings = SETTINGS,
) -> SearchCache:
    return SearchCache(
        store,
        settings,
        StoreHealth(timeout=5.0),
        clock=clock,
        local_clock=local_clock or FakeClock(0.0),
        rng=random.Random(7),
    )


# ---- the key -------------------------------------------------------------------------------------


def params(**fields: object) -> SearchParams:
    return SearchParams.model_validate({"engine": "bing", "q": "coffee", **fields})


def test_the_key_ignores_order_defaults_spacing_case_and_service_fields() -> None:
    plain = cache_key(params())
    assert cache_key(params(num=10, start=0, device="desktop")) == plain
    assert cache_key(params(q="  coffee ")) == plain
    assert cache_key(params(api_key="secret", no_cache=True, output="html", **{"async": True})) == (
        plain
    )
    assert cache_key(SearchParams.model_validate({"q": "coffee", "engine": "bing"})) == plain
    assert cache_key(params(gl="US")) == cache_key(params(gl="us"))
    assert plain.startswith("cache:bing:{")
    assert plain.endswith("}")


def test_the_key_tells_apart_what_changes_the_page() -> None:
    keys = {
        cache_key(params()),
        cache_key(params(q="tea")),
        cache_key(params(engine="duckduckgo")),
        cache_key(params(start=10)),
        cache_key(params(gl="de")),
        cache_key(params(device="mobile")),
        cache_key(params(location="Berlin")),
    }
    assert len(keys) == 7


# ---- stored form and freshness -------------------------------------------------------------------


async def test_an_answer_comes_back_byte_for_byte_and_fresh(store: Store, clock: FakeClock) -> None:
    cache = make_cache(store, clock)
    await cache.put("cache:bing:{a}", BODY)
    clock.advance(5)
    answer = await cache.get("cache:bing:{a}", local=False)
    assert answer is not None
    assert answer.body == BODY
    assert answer.freshness == "fresh"
    assert answer.age == pytest.approx(5)
    assert await cache.get("cache:bing:{other}") is None


async def test_large_answers_are_stored_compressed(store: Store, clock: FakeClock) -> None:
    cache = make_cache(store, clock)
    big = orjson.dumps({"organic_results": [{"title": f"result {i}"} for i in range(500)]})
    await cache.put("big", big)
    await cache.put("small", BODY)
    raw_big, raw_small = await store.get("big"), await store.get("small")
    assert raw_big is not None
    assert raw_small is not None
    assert len(raw_big) < len(big) / 3
    assert zlib.decompress(raw_big[21:]) == big  # after the 21-byte header
    assert raw_small.endswith(BODY)
    answer = await cache.get("big", local=False)
    assert answer is not None
    assert answer.body == big


async def test_freshness_runs_fresh_stale_expired_gone(store: Store, clock: FakeClock) -> None:
    cache = make_cache(store, clock)
    await cache.put("k", BODY)
    entry = await cache.get("k", local=False)
    assert entry is not None
    fresh_for = entry.fresh_until - entry.stored_at
    assert 90 <= fresh_for <= 110
    seen: list[str | None] = []
    for at in (fresh_for - 1, fresh_for + 1, fresh_for + 49, fresh_for + 51, fresh_for + 499):
        clock.now = entry.stored_at + at
        got = await cache.get("k", local=False)
        seen.append(got.freshness if got else None)
    clock.now = entry.stored_at + fresh_for + 501
    seen.append(None if await cache.get("k", local=False) is None else "present")
    assert seen == ["fresh", "stale", "stale", "expired", "expired", None]


async def test_ttls_are_jittered(clock: FakeClock) -> None:
    cache = make_cache(MemoryStore(), clock)
    lives = set()
    for i in range(50):
        await cache.put(f"k{i}", BODY)
        entry = await cache.get(f"k{i}", local=False)
        assert entry is not None
        lives.add(round(entry.fresh_until - entry.stored_at, 3))
    assert len(lives) > 40
    assert min(lives) >= 90
    assert max(lives) <= 110


async def test_redis_keeps_an_entry_for_its_longest_window(
    redis_store: RedisStore, clock: FakeClock
) -> None:
    cache = make_cache(redis_store, clock)
    await cache.put("k", BODY)
    entry = await cache.get("k", local=False)
    assert entry is not None
    ttl_ms = await redis_store.client.pttl(redis_store.key("k"))
    expected = (entry.fresh_until - entry.stored_at + 500) * 1000
    assert expected - 1000 < ttl_ms <= expected + 1


async def test_an_unreadable_entry_is_a_miss(store: Store, clock: FakeClock) -> None:
    await store.set("k", b"not a cache entry at all")
    await store.set("short", b"x")
    cache = make_cache(store, clock)
    assert await cache.get("k") is None
    assert await cache.get("short") is None


# ---- the local layer ----------------------------------------------------------------------------


async def test_hot_fresh_answers_are_served_without_a_store_read(
    store: Store, clock: FakeClock
) -> None:
    counting = CountingStore(store)
    local_clock = FakeClock(0.0)
    cache = make_cache(counting, clock, local_clock)  # type: ignore[arg-type]
    await cache.put("k", BODY)
    for _ in range(10):
        answer = await cache.get("k")
        assert answer is not None
        assert answer.body == BODY
    assert counting.gets == 0
    assert cache.local_hits == 10
    local_clock.advance(SETTINGS.local_ttl + 0.1)  # replicas converge: ask the store again
    assert await cache.get("k") is not None
    assert counting.gets == 1
    await cache.get("k", local=False)
    assert counting.gets == 2


async def test_a_stale_answer_is_never_served_from_the_local_layer(clock: FakeClock) -> None:
    counting = CountingStore(MemoryStore())
    settings = SETTINGS.model_copy(update={"local_ttl": 1000.0})
    cache = make_cache(counting, clock, settings=settings)  # type: ignore[arg-type]
    await cache.put("k", BODY)
    clock.advance(111)  # past any jittered ttl
    answer = await cache.get("k")
    assert answer is not None
    assert answer.freshness == "stale"
    assert counting.gets == 1


def test_the_local_layer_is_bounded_by_entries_and_bytes() -> None:
    clock = FakeClock(0.0)
    lru: LocalLRU[str, str] = LocalLRU(max_entries=3, max_bytes=100, ttl=5.0, clock=clock)
    for key in "abcd":
        lru.put(key, key, 10)
    assert len(lru) == 3
    assert lru.get("a") is None  # least recently used went first
    assert lru.get("b") == "b"
    lru.put("big", "big", 80)  # 80 + 3 × 10 > 100: the oldest go until it fits
    assert lru.nbytes <= 100
    assert lru.get("c") is None
    assert lru.get("b") == "b"
    lru.put("huge", "huge", 101)
    assert lru.get("huge") is None
    lru.put("short", "short", 1, ttl=1.0)
    clock.advance(1.0)
    assert lru.get("short") is None
    assert lru.get("b") == "b"
    clock.advance(4.0)
    assert lru.get("b") is None


# ---- Redis trouble ------------------------------------------------------------------------------


async def test_with_redis_down_reads_miss_and_writes_are_dropped(
    dead_redis: RedisStore, clock: FakeClock
) -> None:
    health = StoreHealth(timeout=1.0)
    cache = SearchCache(dead_redis, SETTINGS, health, clock=clock)
    assert await cache.get("k") is None
    await cache.put("k", BODY)
    assert await cache.get("k", local=False) is None
    answer = await cache.get("k")  # this process's own copy still answers
    assert answer is not None
    assert answer.body == BODY
    assert not health.up
    assert health.snapshot()["status"] == "down"

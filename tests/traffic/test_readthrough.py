"""The cache policy the pipeline calls: hits, shared fetches, stale-while-revalidate,
stale-if-error, no_cache, load shedding; in memory and across replicas on the real Redis."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from types import TracebackType

import pytest

from serpgate.errors import ServiceUnavailable, TransientUpstreamError, UpstreamError
from serpgate.settings import CacheSettings
from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.cache import SearchCache
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.lease import Leases, MemoryLeases, RedisLeases
from serpgate.traffic.readthrough import ReadThroughCache
from serpgate.traffic.shedding import LoadShedder
from tests.fake_clock import FakeClock

SETTINGS = CacheSettings(ttl=100, ttl_jitter=0, stale_while_revalidate=50, stale_if_error=500)
KEY = "cache:bing:{abc}"


class Engine:
    """The fetch the pipeline would pass: counts calls, can be slowed down or made to fail."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.calls = 0
        self.failure: UpstreamError | ServiceUnavailable | None = None

    async def fetch(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        return f"answer {self.calls}".encode()


class Replicas:
    """Read-through caches as separate replicas would have them, over one shared store."""

    def __init__(self, backend: str, clock: FakeClock, url: str, prefix: str) -> None:
        self.backend = backend
        self.clock = clock
        self.url = url
        self.prefix = prefix
        self.shared_memory: Store = MemoryStore()
        self.memory_leases = MemoryLeases()
        self.opened: list[tuple[ReadThroughCache, Store, Leases]] = []

    def make(self, shedder: LoadShedder | None = None) -> ReadThroughCache:
        store: Store
        leases: Leases
        health = StoreHealth(timeout=5.0)
        if self.backend == "redis":
            redis = RedisStore.from_url(self.url, self.prefix)
            store, leases = redis, RedisLeases(redis, health)
        else:
            store, leases = self.shared_memory, self.memory_leases
        cache = SearchCache(store, SETTINGS, health, clock=self.clock, rng=random.Random(1))
        answers = ReadThroughCache(cache, shedder, leases)
        self.opened.append((answers, store, leases))
        return answers

    async def close(self) -> None:
        for answers, store, leases in self.opened:
            await answers.aclose()
            await leases.aclose()
            if isinstance(store, RedisStore):
                keys = [k async for k in store.client.scan_iter(match=f"{self.prefix}:*")]
                if keys:
                    await store.client.delete(*keys)
                await store.close()


@pytest.fixture
async def replicas(
    backend: str, clock: FakeClock, redis_url: str, key_prefix: str
) -> AsyncIterator[Replicas]:
    made = Replicas(backend, clock, redis_url, key_prefix)
    yield made
    await made.close()


async def settle(answers: ReadThroughCache) -> None:
    """Wait for background refreshes to land."""
    for _ in range(200):
        if answers.in_flight == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a background refresh never finished")


async def test_a_miss_fetches_and_the_next_search_is_a_hit(replicas: Replicas) -> None:
    answers, engine = replicas.make(), Engine()
    first = await answers.get(KEY, engine.fetch)
    assert (first.origin, first.body, first.fetched, first.from_cache) == (
        "fetch",
        b"answer 1",
        True,
        False,
    )
    second = await answers.get(KEY, engine.fetch)
    assert (second.origin, second.body, second.fetched) == ("cache", b"answer 1", False)
    assert engine.calls == 1


async def test_200_concurrent_identical_searches_fetch_once(replicas: Replicas) -> None:
    answers, engine = replicas.make(), Engine(delay=0.2)
    results = await asyncio.gather(*(answers.get(KEY, engine.fetch) for _ in range(200)))
    assert engine.calls == 1
    assert [r.origin for r in results].count("fetch") == 1  # charged once
    assert {r.origin for r in results} == {"fetch", "shared"}
    assert {r.body for r in results} == {b"answer 1"}


async def test_200_searches_across_two_replicas_fetch_once(replicas: Replicas) -> None:
    first, second, engine = replicas.make(), replicas.make(), Engine(delay=0.2)
    results = await asyncio.gather(
        *((first if i % 2 else second).get(KEY, engine.fetch) for i in range(200))
    )
    assert engine.calls == 1
    assert sum(r.fetched for r in results) == 1
    assert {r.body for r in results} == {b"answer 1"}


async def test_a_stale_answer_comes_at_once_and_is_refreshed_once(
    replicas: Replicas, clock: FakeClock
) -> None:
    answers, engine = replicas.make(), Engine(delay=0.1)
    await answers.get(KEY, engine.fetch)
    clock.advance(120)  # past the ttl of 100, inside stale-while-revalidate
    results = await asyncio.gather(*(answers.get(KEY, engine.fetch) for _ in range(50)))
    assert {(r.origin, r.body) for r in results} == {("stale", b"answer 1")}
    # The refresh runs in the background, started by the first stale answer, not by a later
    # search; it may still be taking its lease when the 50 answers are out.
    for _ in range(100):
        if engine.calls == 2:
            break
        await asyncio.sleep(0.01)
    assert engine.calls == 2  # and only one
    await settle(answers)
    refreshed = await answers.get(KEY, engine.fetch)
    assert (refreshed.origin, refreshed.body) == ("cache", b"answer 2")
    assert engine.calls == 2


async def test_stale_readers_on_two_replicas_refresh_once(
    replicas: Replicas, clock: FakeClock
) -> None:
    first, second, engine = replicas.make(), replicas.make(), Engine(delay=0.1)
    await first.get(KEY, engine.fetch)
    clock.advance(120)
    results = await asyncio.gather(
        *((first if i % 2 else second).get(KEY, engine.fetch) for i in range(40))
    )
    assert {r.origin for r in results} == {"stale"}
    await settle(first)
    await settle(second)
    assert engine.calls == 2
    # Readers arriving after the refresh landed find it fresh and start none.
    later = await second.get(KEY, engine.fetch)
    assert (later.origin, later.body) == ("cache", b"answer 2")
    assert engine.calls == 2


@pytest.mark.parametrize(
    "failure",
    [
        TransientUpstreamError("engine timed out"),
        ServiceUnavailable("bing is failing; breaker open", retry_after=30),
    ],
)
async def test_a_failed_fetch_serves_the_stale_copy_marked(
    replicas: Replicas, clock: FakeClock, failure: UpstreamError | ServiceUnavailable
) -> None:
    answers, engine = replicas.make(), Engine()
    await answers.get(KEY, engine.fetch)
    clock.advance(300)  # past stale-while-revalidate, inside stale-if-error
    engine.failure = failure
    answer = await answers.get(KEY, engine.fetch)
    assert (answer.origin, answer.body, answer.error) == (
        "stale-if-error",
        b"answer 1",
        failure.message,
    )
    assert answer.age == pytest.approx(300)
    assert answer.from_cache
    assert not answer.fetched
    assert engine.calls == 2


async def test_a_failed_fetch_without_a_copy_fails(replicas: Replicas, clock: FakeClock) -> None:
    answers, engine = replicas.make(), Engine()
    engine.failure = TransientUpstreamError("engine reset the connection")
    with pytest.raises(TransientUpstreamError):
        await answers.get(KEY, engine.fetch)
    await answers.get("cache:bing:{other}", Engine().fetch)
    clock.advance(100 + 501)  # past every window
    with pytest.raises(TransientUpstreamError):
        await answers.get("cache:bing:{other}", engine.fetch)


async def test_no_cache_skips_the_answer_but_refreshes_the_entry(replicas: Replicas) -> None:
    answers, engine = replicas.make(), Engine()
    await answers.get(KEY, engine.fetch)
    forced = await answers.get(KEY, engine.fetch, refresh=True)
    assert (forced.origin, forced.body) == ("fetch", b"answer 2")
    assert (await answers.get(KEY, engine.fetch)).body == b"answer 2"
    engine.failure = TransientUpstreamError("down")
    with pytest.raises(TransientUpstreamError):
        await answers.get(KEY, engine.fetch, refresh=True)  # no stale copy for no_cache


async def test_past_the_shedding_bound_uncached_searches_fail_at_once(
    replicas: Replicas, clock: FakeClock
) -> None:
    shedder = LoadShedder(1, retry_after=2.0)
    answers = replicas.make(shedder)
    await answers.get("cache:bing:{cached}", Engine().fetch)
    await answers.get("cache:bing:{old}", Engine().fetch)
    clock.advance(300)
    await answers.get("cache:bing:{cached}", Engine().fetch, refresh=True)  # fresh again
    slow = Engine(delay=0.5)
    busy = asyncio.create_task(answers.get("cache:bing:{slow}", slow.fetch))
    await asyncio.sleep(0.05)
    assert shedder.in_flight == 1

    never = Engine()
    with pytest.raises(ServiceUnavailable) as shed:
        await answers.get("cache:bing:{new}", never.fetch)
    assert shed.value.retry_after == 2.0
    assert never.calls == 0
    joined = asyncio.create_task(answers.get("cache:bing:{slow}", slow.fetch))  # adds no work
    hit = await answers.get("cache:bing:{cached}", never.fetch)
    assert hit.origin == "cache"
    old = await answers.get("cache:bing:{old}", never.fetch)
    assert old.origin == "stale-if-error"
    assert (await busy).body == (await joined).body
    assert shedder.snapshot()["shed"] == 2


class Admission:
    """Stands in for the per-key in-flight slot, to see when the pipeline's slot is taken."""

    def __init__(self) -> None:
        self.entered = 0

    async def __aenter__(self) -> None:
        self.entered += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


async def test_the_admission_slot_is_taken_only_by_searches_that_wait_for_a_fetch(
    replicas: Replicas,
) -> None:
    answers, engine, admission = replicas.make(), Engine(), Admission()
    await answers.get(KEY, engine.fetch, admit=admission)
    await answers.get(KEY, engine.fetch, admit=admission)
    assert admission.entered == 1


async def test_a_cancelled_client_cancels_nothing_for_the_others(replicas: Replicas) -> None:
    answers, engine = replicas.make(), Engine(delay=0.2)
    first = asyncio.create_task(answers.get(KEY, engine.fetch))
    await asyncio.sleep(0.02)
    rest = [asyncio.create_task(answers.get(KEY, engine.fetch)) for _ in range(10)]
    await asyncio.sleep(0.02)
    first.cancel()
    results = await asyncio.gather(*rest)
    assert first.cancelled()
    assert {r.body for r in results} == {b"answer 1"}
    assert engine.calls == 1
    assert (await answers.get(KEY, engine.fetch)).origin == "cache"


async def test_with_redis_down_searches_still_get_answers(
    dead_redis: RedisStore, clock: FakeClock
) -> None:
    health = StoreHealth(timeout=1.0)
    answers = ReadThroughCache(
        SearchCache(dead_redis, SETTINGS, health, clock=clock),
        leases=RedisLeases(dead_redis, health),
    )
    engine = Engine(delay=0.1)
    results = await asyncio.gather(*(answers.get(KEY, engine.fetch) for _ in range(20)))
    assert {r.body for r in results} == {b"answer 1"}
    assert engine.calls == 1
    assert not health.up


class SlowAdmission:
    """An admission (the per-key in-flight slot) that takes a while, as a Redis call does."""

    def __init__(self, entered: list[int]) -> None:
        self.entered = entered

    async def __aenter__(self) -> None:
        self.entered.append(1)
        await asyncio.sleep(0.01)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def test_identical_searches_arriving_during_admission_join_without_a_slot(
    replicas: Replicas,
) -> None:
    answers, engine = replicas.make(), Engine()
    entered: list[int] = []
    served = await asyncio.gather(
        *(answers.get(KEY, engine.fetch, admit=SlowAdmission(entered)) for _ in range(50))
    )
    assert engine.calls == 1
    assert len(entered) == 1
    assert sum(s.fetched for s in served) == 1
    assert {s.body for s in served} == {b"answer 1"}

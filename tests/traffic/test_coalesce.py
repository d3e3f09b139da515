"""Singleflight: one fetch for many identical searches, in one process and across replicas."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from serpgate.errors import TransientUpstreamError
from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.coalesce import Coalescer, Shared
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.lease import Leases, MemoryLeases, RedisLeases


class Upstream:
    """A fetch that takes a while, counts its calls, and leaves its result where followers look."""

    def __init__(self, results: Store, delay: float = 0.2) -> None:
        self.results = results
        self.delay = delay
        self.calls = 0
        self.completed = 0

    def lead(self, key: str) -> Callable[[], Awaitable[bytes]]:
        async def fetch() -> bytes:
            self.calls += 1
            await asyncio.sleep(self.delay)
            body = f"result of {key}".encode()
            await self.results.set(key, body)
            self.completed += 1
            return body

        return fetch

    def follow(self, key: str) -> Callable[[], Awaitable[bytes | None]]:
        async def look() -> bytes | None:
            return await self.results.get(key)

        return look


class Replica:
    """One process's coalescer, with its own connection to the shared store when on Redis."""

    def __init__(self, upstream: Upstream, leases: Leases | None = None, lease_ttl: float = 5.0):
        self.coalescer: Coalescer[bytes] = Coalescer(leases, lease_ttl=lease_ttl)
        self.upstream = upstream
        self.leases = leases

    async def search(self, key: str) -> Shared[bytes]:
        return await self.coalescer.run(key, self.upstream.lead(key), self.upstream.follow(key))


@pytest.fixture
async def replicas(
    backend: str, redis_url: str, key_prefix: str
) -> AsyncIterator[Callable[..., list[Replica]]]:
    """Factory: n replicas sharing one upstream and one lease space (memory or Redis)."""
    opened: list[Leases] = []
    stores: list[RedisStore] = []

    def make(n: int, delay: float = 0.2, lease_ttl: float = 5.0) -> list[Replica]:
        if backend == "redis":
            mine = [RedisStore.from_url(redis_url, key_prefix) for _ in range(n)]
            stores.extend(mine)
            upstream = Upstream(mine[0], delay)
            leases: list[Leases] = [RedisLeases(s, StoreHealth(timeout=5.0)) for s in mine]
        else:
            upstream = Upstream(MemoryStore(), delay)
            shared = MemoryLeases()
            leases = [shared] * n
        opened.extend(leases)
        return [Replica(upstream, lease, lease_ttl) for lease in leases]

    yield make
    for lease in opened:
        await lease.aclose()
    if stores:
        keys = [k async for k in stores[0].client.scan_iter(match=f"{stores[0].prefix}*")]
        if keys:
            await stores[0].client.delete(*keys)
    for s in stores:
        await s.close()


async def test_200_identical_calls_in_one_process_fetch_once() -> None:
    upstream = Upstream(MemoryStore())
    replica = Replica(upstream)
    results = await asyncio.gather(*(replica.search("k") for _ in range(200)))
    assert upstream.calls == 1
    assert {r.value for r in results} == {b"result of k"}
    assert sum(r.led for r in results) == 1
    assert replica.coalescer.in_flight == 0


async def test_different_keys_fly_separately() -> None:
    upstream = Upstream(MemoryStore(), delay=0.01)
    replica = Replica(upstream)
    await asyncio.gather(*(replica.search(f"k{i % 3}") for i in range(30)))
    assert upstream.calls == 3


async def test_200_identical_calls_across_two_replicas_fetch_once(
    replicas: Callable[..., list[Replica]],
) -> None:
    first, second = replicas(2)
    results = await asyncio.gather(*((first if i % 2 else second).search("k") for i in range(200)))
    assert first.upstream.calls == 1
    assert {r.value for r in results} == {b"result of k"}


async def test_a_cancelled_first_caller_cancels_nothing_for_the_others() -> None:
    upstream = Upstream(MemoryStore(), delay=0.2)
    replica = Replica(upstream)
    first = asyncio.create_task(replica.search("k"))
    await asyncio.sleep(0.01)
    others = [asyncio.create_task(replica.search("k")) for _ in range(10)]
    await asyncio.sleep(0.01)
    first.cancel()
    results = await asyncio.gather(*others)
    assert first.cancelled()
    assert {r.value for r in results} == {b"result of k"}
    assert upstream.calls == upstream.completed == 1


async def test_a_flight_whose_callers_all_left_still_lands() -> None:
    upstream = Upstream(MemoryStore(), delay=0.05)
    replica = Replica(upstream)
    caller = asyncio.create_task(replica.search("k"))
    await asyncio.sleep(0.01)
    caller.cancel()
    await asyncio.sleep(0.1)
    assert upstream.completed == 1
    assert await upstream.results.get("k") == b"result of k"


async def test_a_failure_reaches_every_waiter_and_the_next_call_tries_again() -> None:
    calls = 0

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise TransientUpstreamError("engine reset the connection")

    async def nothing() -> bytes | None:
        return None

    coalescer: Coalescer[bytes] = Coalescer()
    outcomes = await asyncio.gather(
        *(coalescer.run("k", failing, nothing) for _ in range(20)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(o, TransientUpstreamError) for o in outcomes)
    with pytest.raises(TransientUpstreamError):
        await coalescer.run("k", failing, nothing)
    assert calls == 2


async def test_a_follower_takes_over_when_the_leader_dies(
    replicas: Callable[..., list[Replica]],
) -> None:
    (replica,) = replicas(1, delay=0.01, lease_ttl=0.3)
    leases = replica.leases
    assert leases is not None
    # A replica that took the lease and crashed: nobody extends or releases it.
    assert await leases.acquire("flight:k", 0.3) is not None
    started = time.monotonic()
    result = await replica.search("k")
    assert result.value == b"result of k"
    assert replica.upstream.calls == 1
    assert 0.2 < time.monotonic() - started < 2.0


async def test_a_slow_leader_keeps_its_lease(replicas: Callable[..., list[Replica]]) -> None:
    first, second = replicas(2, delay=0.5, lease_ttl=0.15)
    leader = asyncio.create_task(first.search("k"))
    await asyncio.sleep(0.05)
    follower = await second.search("k")
    assert (await leader).value == follower.value
    assert first.upstream.calls == 1  # the lease outlived its ttl three times over


async def test_a_follower_takes_over_when_the_leader_fails(
    replicas: Callable[..., list[Replica]],
) -> None:
    first, second = replicas(2, delay=0.05)

    async def failing() -> bytes:
        await asyncio.sleep(0.05)
        raise TransientUpstreamError("blocked")

    leader = asyncio.create_task(first.coalescer.run("k", failing, first.upstream.follow("k")))
    await asyncio.sleep(0.02)
    follower = await second.search("k")
    with pytest.raises(TransientUpstreamError):
        await leader
    assert follower.value == b"result of k"
    assert second.upstream.calls == 1


async def test_a_background_flight_stands_aside_for_another_replica(
    replicas: Callable[..., list[Replica]],
) -> None:
    first, second = replicas(2, delay=0.1)
    leader = asyncio.create_task(first.search("k"))
    await asyncio.sleep(0.02)
    assert second.coalescer.spawn("k", second.upstream.lead("k"), second.upstream.follow("k"))
    await asyncio.sleep(0.02)
    assert second.coalescer.in_flight == 0  # gave up at once: someone else is fetching
    await leader
    assert first.upstream.calls == 1


async def test_spawn_does_not_start_a_second_flight_in_one_process() -> None:
    upstream = Upstream(MemoryStore(), delay=0.05)
    coalescer: Coalescer[bytes] = Coalescer()
    assert coalescer.spawn("k", upstream.lead("k"), upstream.follow("k"))
    assert not coalescer.spawn("k", upstream.lead("k"), upstream.follow("k"))
    joined = await coalescer.run("k", upstream.lead("k"), upstream.follow("k"))
    assert joined.value == b"result of k"
    assert not joined.led
    assert upstream.calls == 1


async def test_with_redis_down_coalescing_still_holds_in_process(dead_redis: RedisStore) -> None:
    upstream = Upstream(MemoryStore())
    leases = RedisLeases(dead_redis, StoreHealth(timeout=1.0))
    replica = Replica(upstream, leases)
    results = await asyncio.gather(*(replica.search("k") for _ in range(50)))
    assert upstream.calls == 1
    assert {r.value for r in results} == {b"result of k"}
    await leases.aclose()


class HeldRelease(MemoryLeases):
    """Leases whose release waits until the test lets it go: a slow store, at one step."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = asyncio.Event()
        self.released: list[str] = []

    async def release(self, name: str, token: str) -> None:
        await self.let_go.wait()
        await super().release(name, token)
        self.released.append(name)


async def test_the_result_does_not_wait_for_the_lease_release_and_close_does() -> None:
    leases = HeldRelease()
    replica = Replica(Upstream(MemoryStore(), delay=0.01), leases)
    async with asyncio.timeout(5):
        result = await replica.search("k")
    assert result.value == b"result of k"
    assert leases.released == []
    # Still held until the release lands: another search of the key would wait for it.
    assert await leases.acquire("flight:k", 5.0) is None
    closing = asyncio.create_task(replica.coalescer.aclose())
    await asyncio.sleep(0.05)
    assert not closing.done()
    leases.let_go.set()
    async with asyncio.timeout(5):
        await closing
    assert leases.released == ["flight:k"]
    assert await leases.acquire("flight:k", 5.0) is not None

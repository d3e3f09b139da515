"""Redis killed under load and started again, with three replica processes serving throughout.

The replicas run on their default Redis settings (1 s budget per call, 1 s cool-down, trip after
3 failures in a row, limits falling back to local counts) against a private redis-server that the
test SIGKILLs and then starts again on the same port; its append-only file brings back every key
it held, as a production Redis that keeps tenants and quotas must.

What is proven:

- A steady stream of searches (cached and uncached, a key from settings and a key stored in Redis)
  is answered 200 throughout: at the kill, during the outage and at the restart. Limits fall back
  to each replica's own counts, cache reads miss, quotas admit, coalescing stays in each replica.
- The only 5xx are those Redis could not have avoided, because what they need lives in Redis
  alone: a stored API key the replica has never seen cannot be verified (503 with Retry-After),
  and ``/account``'s usage figures cannot be read (503 with Retry-After). A stored key the replica
  has already verified keeps working. ``/readyz`` stays 200 and says "degraded", with the traffic
  layer's view of Redis "down": every replica still serves, so none leaves the load balancer.
- It recovers on its own, with no restart of any replica: a search cached in Redis before the
  outage is answered from Redis by replicas that never fetched it, rate limits count in Redis
  again (the script reloaded after NOSCRIPT), the unseen key is verified, ``/readyz`` is "ready"
  with Redis "up" again.
- After Redis returns, a busy moment gets Redis's answers, not failures of pooled connections to
  the server that died (``test_a_busy_moment_right_after_redis_returns_gets_redis_answers``,
  expected to fail until ``RedisStore`` retries a command once on ``ConnectionError``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import aiohttp
import pytest
import redis

from serpgate.settings import Plan
from serpgate.store.redis import RedisStore
from serpgate.traffic.tenants import TenantRegistry, hash_key
from tests.redis_server import unique_prefix
from tests.replicas.cluster import (
    Cluster,
    RedisServer,
    Reply,
    burst,
    get,
    redis_server,
    replica_cluster,
    session,
)

STEADY = "sg_outage_steady_key"
PLANS: dict[str, dict[str, object]] = {
    "steady": {"name": "Steady", "per_minute": 10_000, "per_month": 1_000_000}
}
# The stream: one search every PERIOD seconds for DURATION; Redis dies at KILL_AT and is started
# again at RESTART_AT (seconds from the stream's start).
PERIOD, DURATION = 0.025, 3.0
KILL_AT, RESTART_AT = 0.8, 1.8
HOT = [f"outage hot {i}" for i in range(3)]


@dataclass(frozen=True)
class Setup:
    cluster: Cluster
    server: RedisServer
    prefix: str
    # API keys stored in Redis (as `serpgate keys create` makes them).
    seen: str
    unseen: str
    late: str


async def create_tenants(url: str, prefix: str, *names: str) -> list[str]:
    store = RedisStore.from_url(url, prefix)
    registry = TenantRegistry(store, {"steady": Plan.model_validate(PLANS["steady"])})
    try:
        return [(await registry.create(name, "steady"))[0] for name in names]
    finally:
        await store.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    data, logs = tmp_path_factory.mktemp("redis"), tmp_path_factory.mktemp("logs")
    prefix = unique_prefix("outage")
    with redis_server(data) as server:
        seen, unseen, late = asyncio.run(
            create_tenants(server.url, prefix, "seen", "unseen", "late")
        )
        with replica_cluster(
            logs,
            redis_url=server.url,
            key_prefix=prefix,
            api_keys=f"steady:steady:{STEADY}",
            plans=PLANS,
        ) as cluster:
            yield Setup(cluster, server, prefix, seen, unseen, late)


def search(q: str, key: str = STEADY) -> dict[str, str]:
    return {"engine": "bing", "q": q, "api_key": key}


def statuses(replies: list[Reply]) -> list[int]:
    return [r.status for r in replies]


def minute_count(setup: Setup) -> tuple[int, int]:
    """(window index, count) of the steady key's minute limit, as Redis holds it."""
    tenant = f"cfg_{hash_key(STEADY)[:12]}"
    client = redis.Redis.from_url(setup.server.url)
    try:
        w, c = client.hmget(f"{setup.prefix}:rl:{{{tenant}}}:minute:60000", ["w", "c"])
        return int(w or 0), int(c or 0)
    finally:
        client.close()


async def stream(
    client: aiohttp.ClientSession, cluster: Cluster, plan: list[dict[str, str]], began: float
) -> list[Reply]:
    """``plan`` sent one request every PERIOD seconds, round robin, none waiting for another."""
    tasks = []
    for i, params in enumerate(plan):
        delay = began + i * PERIOD - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(get(client, cluster, i, params, began)))
    return await asyncio.gather(*tasks)


async def at(began: float, moment: float) -> None:
    await asyncio.sleep(max(0.0, began + moment - time.monotonic()))


async def probe(setup: Setup) -> dict[str, list[Reply]]:
    """Each replica's answer to each request that needs Redis, one replica after another."""
    probes: dict[str, tuple[str, Mapping[str, str]]] = {
        "account": ("/account.json", {"api_key": STEADY}),
        "unseen key": ("/search.json", search("outage probe", setup.unseen)),
        "seen key": ("/search.json", search("outage probe", setup.seen)),
        "readyz": ("/readyz", {}),
    }
    found: dict[str, list[Reply]] = {name: [] for name in probes}
    async with session() as client:
        began = time.monotonic()
        for i in range(len(setup.cluster.replicas)):
            for name, (path, params) in probes.items():
                found[name].append(await get(client, setup.cluster, i, params, began, path))
    return found


async def test_replicas_ride_out_redis_killed_under_load_and_recover_on_their_own(
    setup: Setup,
) -> None:
    cluster, server = setup.cluster, setup.server
    # Before: hot answers cached in Redis, one more fetched by replica 0 alone, and the stored
    # key "seen" verified by every replica.
    warm = await burst(cluster, [search(q) for q in HOT])
    only_zero = f"outage before {uuid.uuid4().hex[:6]}"
    warm += await burst(cluster, [search(only_zero)])
    warm += await burst(cluster, [search("outage warm seen", setup.seen)] * 3)
    assert statuses(warm) == [200] * len(warm)

    # Every fourth search a hot one, every fifth with the stored key; round robin over 3 replicas,
    # so each replica gets all kinds.
    plan = [
        search(
            HOT[i // 4 % 3] if i % 4 == 0 else f"outage {i}",
            setup.seen if i % 5 == 2 else STEADY,
        )
        for i in range(round(DURATION / PERIOD))
    ]
    async with session() as client:
        began = time.monotonic()
        flow = asyncio.create_task(stream(client, cluster, plan, began))
        await at(began, KILL_AT)
        await asyncio.to_thread(server.kill)
        killed = time.monotonic() - began
        await at(began, KILL_AT + 0.4)
        during = await probe(setup)
        await at(began, RESTART_AT)
        await asyncio.to_thread(server.start)
        restarted = time.monotonic() - began
        replies = await flow

    # The stream: every search answered 200, before, during and after the outage.
    in_outage = [r for r in replies if killed <= r.sent < restarted]
    print(
        f"\nstream: {len(replies)} searches, Redis killed at {killed:.2f}s and started again at "
        f"{restarted:.2f}s; {len(in_outage)} sent while it was down; statuses "
        f"{dict(Counter(statuses(replies)))}; slowest answer "
        f"{max(r.answered - r.sent for r in replies):.3f}s"
    )
    failed = [(round(r.sent, 2), r.replica, r.status, r.error) for r in replies if r.status != 200]
    assert failed == []
    assert len(in_outage) >= 30
    outage_cached = Counter(r.metadata["cached"] for r in in_outage)
    assert set(outage_cached) == {True, False}, outage_cached
    assert {r.replica for r in in_outage if r.metadata["attempts"] == 1} == {0, 1, 2}

    # During the outage: 503 only where what the answer needs lives in Redis alone.
    print("during the outage:", {k: [(r.status, r.error) for r in v] for k, v in during.items()})
    assert statuses(during["seen key"]) == [200, 200, 200]
    assert statuses(during["unseen key"]) == [503, 503, 503]
    assert statuses(during["account"]) == [503, 503, 503]
    assert all(r.headers.get("retry-after") for r in during["unseen key"] + during["account"])
    # Readiness stays 200 but says so: every replica still serves, degraded.
    assert statuses(during["readyz"]) == [200, 200, 200]
    assert [r.body["status"] for r in during["readyz"]] == ["degraded"] * 3
    assert all("redis" in str(r.body["store"]) for r in during["readyz"])
    assert [r.body["traffic"]["redis"]["status"] for r in during["readyz"]] == ["down"] * 3

    # After: back on Redis, by itself.
    later = await probe(setup)
    print("after the restart:", {k: statuses(v) for k, v in later.items()})
    assert all(statuses(found) == [200, 200, 200] for found in later.values())
    assert [r.body["status"] for r in later["readyz"]] == ["ready"] * 3
    assert [r.body["traffic"]["redis"]["status"] for r in later["readyz"]] == ["up"] * 3

    async with session() as client:
        began = time.monotonic()
        before = cluster.stats()
        # Replicas 1 and 2 never had this answer; Redis kept it through the restart.
        shared = [await get(client, cluster, i, search(only_zero), began) for i in (1, 2)]
        assert [r.metadata["cached"] for r in shared] == [True, True]
        assert cluster.stats()["bing.requests"] == before["bing.requests"]

        window, count = minute_count(setup)
        counted = [
            await get(client, cluster, i, search(f"outage after {i}"), began) for i in range(6)
        ]
        assert statuses(counted) == [200] * 6
        assert minute_count(setup) in {(window, count + 6), (window + 1, 6)}

    # Each replica noticed the outage and the return by itself.
    assert {i for i, _ in cluster.logged("redis unavailable")} == {0, 1, 2}
    assert {i for i, _ in cluster.logged("redis answers again")} == {0, 1, 2}


async def test_a_busy_moment_right_after_redis_returns_gets_redis_answers(setup: Setup) -> None:
    cluster, server = setup.cluster, setup.server
    # A busy moment leaves each replica's pool with many open connections; then Redis restarts
    # (a crash and a quick restart, a failover) while the replicas are quiet.
    busy = await burst(cluster, [search(HOT[i % 3]) for i in range(150)])
    assert statuses(busy) == [200] * 150
    server.kill()
    server.start()

    # The next busy moment: the key nobody has verified yet, by 20 searches on every replica.
    late = await burst(cluster, [search("outage late", setup.late)] * 60)
    assert Counter(statuses(late)) == {200: 60}, Counter((r.status, r.error) for r in late)
    before = cluster.stats()
    stampede = await burst(cluster, [search(f"outage stampede {uuid.uuid4().hex[:6]}")] * 30)
    assert statuses(stampede) == [200] * 30
    assert cluster.stats()["bing.requests"] == before["bing.requests"] + 1

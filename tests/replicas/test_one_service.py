"""Three replica processes sharing one real Redis behave as one service.

- The rate limiter is exact across them: a burst of 500 concurrent searches with one key whose
  plan allows N per minute gets exactly N answers and 500 - N refusals (429 naming the minute
  limit), whichever replica each request lands on; the N answers carry the remainders N-1 … 0 once
  each (one counter, counted in one order), and Redis holds exactly N in that key's window.
- Identical searches coalesce across them: 200 concurrent identical uncached searches with one key,
  spread over the three, are all answered, and cost the sandbox engine exactly one request by its
  own counts (``GET /_sandbox/stats``).

The replicas run on their defaults (the per-key in-flight cap of 10 included) but for one setting,
``SERPGATE_TRAFFIC__REDIS__TIMEOUT=5`` (default 1). The budget of a Redis call is wall-clock time
on the replica's event loop, so it also counts the time a call waits behind the ~170 requests each
replica receives at once. On this 2-core machine, shared with the client, the sandbox, the other
replicas and other sessions' work, the slowest call of this burst measured 0.27-0.68 s; a burst of
distinct uncached searches while the machine was busier measured up to 1.3 s, and there calls
past 1 s counted as Redis failures: the limiter judged those requests with the replica's local
counts and 44 were admitted instead of 37. That is the documented degraded mode, not the
limiter's rule; with 5 s the test measures the limiter itself, and ``no_fallback`` checks that
not one Redis call failed on any replica.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.redis_server import unique_prefix
from tests.replicas.cluster import Cluster, burst, replica_cluster

N = 37
BURST = 500
STAMPEDE = 200
TIGHT, ROOMY = "sg_replicas_tight", "sg_replicas_roomy"
PLANS: dict[str, dict[str, object]] = {
    "tight": {"name": "Tight", "per_minute": N},
    "unlimited": {"name": "Unlimited"},
}
# How long a burst may take; it must fit inside one minute window (see wait_for_room).
BURST_BUDGET = 6.0


@pytest.fixture(scope="module")
def cluster(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    prefix = unique_prefix("replicas")
    with replica_cluster(
        tmp_path_factory.mktemp("replicas"),
        redis_url=redis_url,
        key_prefix=prefix,
        api_keys=f"tight:tight:{TIGHT},roomy:unlimited:{ROOMY}",
        plans=PLANS,
        # See the module's docstring for why this one setting differs from the default.
        settings={"SERPGATE_TRAFFIC__REDIS__TIMEOUT": "5"},
    ) as running:
        yield running
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wait_for_room(budget: float) -> None:
    """Sleep past the next minute boundary unless ``budget`` seconds fit before it.

    The limit's windows are aligned minutes of Redis ``TIME`` (this machine's clock). A burst that
    straddles a boundary is judged as the sliding window says, which admits up to
    ``N + N·elapsed/60`` in all, not N: the exact count holds inside one window.
    """
    left = 60.0 - time.time() % 60.0
    if left < budget:
        time.sleep(left + 0.05)


def no_fallback(cluster: Cluster) -> None:
    """No replica ever judged without Redis: not one Redis call failed or ran out of time.

    Every traffic call to Redis goes through the replica's ``StoreHealth``, whose count of failed
    calls ``/readyz`` shows; a call that fails is the only way to a local decision.
    """
    for replica in cluster.replicas:
        ready = httpx.get(f"{replica.url}/readyz", timeout=5).json()
        assert ready["traffic"]["redis"]["failures"] == 0, (replica.index, ready)
        assert ready["traffic"]["redis"]["status"] == "up"


async def test_the_rate_limit_is_exact_across_three_replicas(cluster: Cluster) -> None:
    # Half the burst asks for an answer already cached (warmed with another key), half for one
    # that is not: the limit counts every search either way.
    warm = await burst(cluster, [{"engine": "bing", "q": "replicas cached", "api_key": ROOMY}])
    assert warm[0].status == 200
    fresh = f"replicas fresh {uuid.uuid4().hex[:8]}"
    requests = [
        {"engine": "bing", "q": "replicas cached" if i % 2 else fresh, "api_key": TIGHT}
        for i in range(BURST)
    ]
    wait_for_room(BURST_BUDGET)
    started = time.time()
    replies = await burst(cluster, requests)
    ended = time.time()
    assert started // 60 == ended // 60, "the burst straddled a minute boundary: no exact count"

    statuses = Counter(r.status for r in replies)
    assert statuses == {200: N, 429: BURST - N}, statuses
    # Every replica took its third of the burst and refused some of it.
    per_replica = Counter((r.replica, r.status) for r in replies)
    assert all(per_replica[i, 429] > 0 for i in range(3)), per_replica
    admitted = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status == 429]
    assert {r.headers["ratelimit-limit"] for r in replies} == {str(N)}
    # One counter, counted N times in one order: each admission saw a different remainder.
    assert sorted(int(r.headers["ratelimit-remaining"]) for r in admitted) == list(range(N))
    assert {r.headers["ratelimit-remaining"] for r in refused} == {"0"}
    assert all(f"{N} searches per minute" in r.error for r in refused)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    cached = Counter(r.metadata["cached"] for r in admitted)
    assert set(cached) == {True, False}, cached  # both kinds were admitted

    # Redis holds exactly N in this key's current minute, and nothing fell back to local counts.
    no_fallback(cluster)
    client = redis.Redis.from_url(cluster.redis_url)
    try:
        keys = list(client.scan_iter(match=f"{cluster.key_prefix}:rl:*:minute:*"))
        assert len(keys) == 1, keys
        assert int(client.hget(keys[0], "c") or 0) == N
    finally:
        client.close()


async def test_identical_searches_across_replicas_cost_the_engine_one_request(
    cluster: Cluster,
) -> None:
    before = cluster.stats()
    query = f"replicas stampede {uuid.uuid4().hex[:8]}"
    requests = [{"engine": "bing", "q": query, "api_key": ROOMY}] * STAMPEDE
    replies = await burst(cluster, requests)

    assert Counter(r.status for r in replies) == {200: STAMPEDE}
    after = cluster.stats()
    assert after.get("bing.requests", 0) - before.get("bing.requests", 0) == 1
    assert after.get("bing.served", 0) - before.get("bing.served", 0) == 1
    # One answer carries the fetch (attempts 1); the other 199 shared it or found it cached.
    assert Counter(r.metadata["attempts"] for r in replies) == {1: 1, 0: STAMPEDE - 1}
    assert len({r.metadata["id"] for r in replies}) == STAMPEDE
    assert len({str(r.body["organic_results"]) for r in replies}) == 1
    assert Counter(r.replica for r in replies) == {0: 67, 1: 67, 2: 66}
    no_fallback(cluster)

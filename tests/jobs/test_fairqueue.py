"""The fair queue on a real Redis: one tenant's long batch does not starve another's search."""

from __future__ import annotations

from saq import Job

from serpgate.jobs.fairqueue import FairRedisQueue
from serpgate.jobs.worker import build_queue


async def test_a_single_search_is_taken_before_a_long_batch_drains(
    redis_url: str, key_prefix: str
) -> None:
    queue: FairRedisQueue = build_queue(redis_url, key_prefix)
    try:
        for n in range(1000):
            await queue.enqueue(Job(function="search", key=f"a{n}", kwargs={"tenant_id": "A"}))
        await queue.enqueue(Job(function="search", key="b0", kwargs={"tenant_id": "B"}))
        assert await queue.waiting() == 1001
        taken = []
        for _ in range(4):
            job = await queue.dequeue(timeout=1)
            assert job is not None
            taken.append(job.key)
        assert "b0" in taken[:2]
        assert taken[0] == "a0"
        # A job enqueued twice under one key is queued once.
        assert (
            await queue.enqueue(Job(function="search", key="a999", kwargs={"tenant_id": "A"}))
            is None
        )
        assert await queue.waiting() == 997
        keys = [k async for k in queue.redis.scan_iter(match=f"*{key_prefix}*")]
        assert keys
        assert all(k.decode().startswith(key_prefix) for k in keys)
    finally:
        await queue.disconnect()

"""The fair queue on a real Redis: one tenant's long batch does not starve another's search."""

from __future__ import annotations

from saq import Job
from saq.job import Status
from saq.utils import now

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


async def test_one_sweep_puts_back_every_job_of_a_dead_worker_and_leaves_a_live_one(
    redis_url: str, key_prefix: str
) -> None:
    queue: FairRedisQueue = build_queue(redis_url, key_prefix)
    try:
        for n in range(6):
            await queue.enqueue(
                Job(
                    function="search",
                    key=f"j{n}",
                    timeout=0,
                    heartbeat=1,
                    retries=3,
                    kwargs={"tenant_id": "A"},
                )
            )
        taken = []
        for _ in range(6):
            job = await queue.dequeue(timeout=1)
            assert job is not None
            job.started, job.attempts = now(), job.attempts + 1  # as saq's worker does
            await job.update(status=Status.ACTIVE)
            taken.append(job)
        # Five were taken by a worker that died two seconds ago; the last one's worker is alive.
        for job in taken[:5]:
            job.touched = now() - 2000
            await queue.redis.set(job.id, queue.serialize(job))
        swept = await queue.sweep(lock=1, abort=0.1)
        assert sorted(queue.job_key_from_id(i) for i in swept) == [f"j{n}" for n in range(5)]
        assert await queue.waiting() == 5
        again = [await queue.dequeue(timeout=1) for _ in range(5)]
        assert sorted(j.key for j in again if j is not None) == [f"j{n}" for n in range(5)]
        assert all(j is not None and j.attempts == 1 for j in again)
        live = await queue.job("j5")
        assert live is not None
        assert live.status == Status.ACTIVE
    finally:
        await queue.disconnect()

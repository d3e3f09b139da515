"""``FairRedisQueue``: saq's Redis queue, with one waiting line per tenant served in turn.

saq keeps what at-least-once delivery needs: a job moves atomically from waiting to the active
list when a worker takes it, its worker touches it while it runs (the heartbeat), and a sweep puts
an active job whose heartbeat stopped back on the queue; a job's key (the search id) makes a second
enqueue of the same search a no-op while the first is pending.

What saq does not do is share workers between tenants: one FIFO list means a tenant's batch of a
thousand searches sits in front of another tenant's single one. Here each tenant's new jobs wait in
their own list, and a worker takes the next job round-robin over the tenants that have any (the
ring), so a tenant waits behind at most one job of each other tenant per turn. Jobs saq puts back
itself (retries, swept jobs, scheduled ones) go on saq's own list, which workers drain first.

A worker that dies leaves its jobs on the active list. saq's sweep finds them once their heartbeat
has stopped, asks their worker to abort them, waits up to ``abort`` seconds for it to confirm and
then puts each back on the queue; but it waits for one job after another, so a crash that took ten
jobs with it left the last one lost for ten abort waits. ``sweep`` here does the same for every
lost job at once, so a crash costs one wait whatever the concurrency (``ABORT_WAIT``: long enough
for a live worker, which looks for aborts every second, to let its job go).

A worker with nothing to take blocks on a wake-up list that every enqueue pushes to (at most a
second, so a retry that pushed no wake-up waits no longer than that). Every key lies under the
queue's name, which lies under the store's key prefix. The scripts name keys built from that prefix,
so this queue wants one Redis, not a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from redis.asyncio import Redis
from saq.job import Job, Status
from saq.queue.redis import PubSubMultiplexer, RedisQueue

# A tenant's waiting list and the ring; LPOS needs Redis 6.0.6.
_ENQUEUE = """
if redis.call('ZSCORE', KEYS[1], KEYS[2]) or redis.call('EXISTS', KEYS[4]) == 1 then
    return nil
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], KEYS[2])
if ARGV[2] == '0' then
    redis.call('RPUSH', KEYS[3], KEYS[2])
    if not redis.call('LPOS', KEYS[5], ARGV[3]) then
        redis.call('RPUSH', KEYS[5], ARGV[3])
    end
    redis.call('RPUSH', KEYS[6], 1)
    redis.call('LTRIM', KEYS[6], -10000, -1)
end
return 1
"""

# saq's own list first, then the next tenant of the ring in turn (moved to the ring's end).
_DEQUEUE = """
local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if id then return id end
for _ = 1, redis.call('LLEN', KEYS[3]) do
    local tenant = redis.call('LMOVE', KEYS[3], KEYS[3], 'LEFT', 'RIGHT')
    if not tenant then return nil end
    local line = ARGV[1] .. tenant
    id = redis.call('LMOVE', line, KEYS[2], 'LEFT', 'RIGHT')
    if redis.call('LLEN', line) == 0 then redis.call('LREM', KEYS[3], 0, tenant) end
    if id then return id end
end
return nil
"""

log = logging.getLogger("serpgate.jobs")

# The active list's jobs with their records, taken by at most one sweeper per ``lock`` seconds.
_LOST = """
local found = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        found[i] = {id, redis.call('GET', id)}
    end
end
return found
"""

FAIR_KEY = "tenant_id"
# The longest a worker with nothing to do blocks before it looks again.
IDLE_WAIT = 1.0
# How long a sweep waits for a lost job's worker to confirm its abort before putting it back.
ABORT_WAIT = 2.0


class FairRedisQueue(RedisQueue):
    """A saq queue whose new jobs carry ``tenant_id`` in their kwargs and are served fairly."""

    def __init__(self, redis: Redis, name: str, **kwargs: Any) -> None:
        super().__init__(redis, name=name, **kwargs)
        # saq subscribes to its own id prefix; ours lies under the name.
        self._pubsub = PubSubMultiplexer(redis.pubsub(), prefix=self.job_id(""))
        self._ring = self.namespace("tenants")
        self._wake = self.namespace("wake")
        self._lines = self.namespace("line:")
        self._fair_enqueue = redis.register_script(_ENQUEUE)
        self._fair_dequeue = redis.register_script(_DEQUEUE)
        self._lost = redis.register_script(_LOST)
        self._waiting = True

    def stop_waiting(self) -> None:
        """Idle workers return from ``dequeue`` within ``IDLE_WAIT`` instead of waiting on.

        saq's worker waits for its idle tasks for the whole grace period when it stops; without
        this they would wait for work for as long.
        """
        self._waiting = False

    def namespace(self, key: str) -> str:
        return f"{self.name}:{key}"

    def job_id(self, job_key: str) -> str:
        return f"{self.name}:job:{job_key}"

    def job_key_from_id(self, job_id: str) -> str:
        return job_id[len(self.job_id("")) :]

    async def waiting(self) -> int:
        """Jobs not yet taken by a worker, over every tenant's line and saq's own."""
        tenants = await self.redis.lrange(self._ring, 0, -1)
        lines = [self._lines + (t.decode() if isinstance(t, bytes) else t) for t in tenants]
        counts = [await self.redis.llen(key) for key in [self._queued, *lines]]
        return sum(counts)

    async def _enqueue(self, job: Job) -> Job | None:
        tenant = str((job.kwargs or {}).get(FAIR_KEY, ""))
        keys = [
            self._incomplete,
            job.id,
            self._lines + tenant,
            job.abort_id,
            self._ring,
            self._wake,
        ]
        async with self._op_sem:
            stored = await self._fair_enqueue(
                keys=keys, args=[self.serialize(job), job.scheduled, tenant], client=self.redis
            )
        return job if stored else None

    async def dequeue(
        self,
        timeout: float = 0.0,  # noqa: ASYNC109  # saq's signature, which its worker calls
        poll_interval: float = 0.0,
    ) -> Job | None:
        """The next job, fairly; waits up to ``timeout`` seconds for one (0: for ever)."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            job_id = await self._fair_dequeue(
                keys=[self._queued, self._active, self._ring],
                args=[self._lines],
                client=self.redis,
            )
            if job_id is not None:
                return await self._get_job_by_id(job_id)
            wait = IDLE_WAIT
            if not self._waiting:
                return None
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return None
            await self.redis.blpop([self._wake], timeout=max(wait, 0.01))

    async def sweep(self, lock: int = 60, abort: float = ABORT_WAIT) -> list[str]:
        """saq's sweep, with every lost job put back at once (see the module's docstring).

        saq's worker calls this with ``lock`` only, its sweep interval: at most one sweep per
        interval over all workers.
        """
        found = await self._lost(keys=[self._sweep, self._active], args=[lock], client=self.redis)
        swept = await asyncio.gather(*(self._sweep_one(id_, raw, abort) for id_, raw in found))
        return [id_.decode() for (id_, _), was in zip(found, swept, strict=True) if was]

    async def _sweep_one(self, job_id: bytes, raw: bytes | None, abort: float) -> bool:
        job = self.deserialize(raw)
        if job is None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrem(self._active, 0, job_id.decode())
                pipe.zrem(self._incomplete, job_id)
                await pipe.execute()
            return True
        if job.status == Status.ACTIVE and not job.stuck:
            return False
        await self.abort(job, error=self.swept_error_message)
        with contextlib.suppress(TimeoutError):
            await job.refresh(abort)
        log.warning("job %s lost with its worker (no heartbeat): swept", job.key)
        if job.retryable:
            await self.retry(job, error=self.swept_error_message)
        else:
            await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        return True

"""``SearchQueue`` puts accepted searches on the queue; ``SearchWorker`` runs them from it.

Both sides share one ``FairRedisQueue``. A job's key is its search id, so enqueueing a search
twice is harmless, and the work it names (``SearchService.complete``) looks at the archive first,
so a job that runs again after its worker died does not search upstream again when the first run
got as far as the archive, and does not resend a webhook that was taken.

The worker touches its job every third of the heartbeat while the search runs; a job not touched
for a whole heartbeat belongs to a dead worker, and the next sweep puts it back on the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from saq import Job, Worker
from saq.types import PartialTimersDict

from serpgate.jobs.fairqueue import FairRedisQueue
from serpgate.jobs.searchjob import SearchJob
from serpgate.settings import QueueSettings

FUNCTION = "search"
# Finished jobs stay readable (for a sweep racing a finish) this many seconds.
FINISHED_TTL = 600


def build_queue(redis_url: str, key_prefix: str) -> FairRedisQueue:
    # Its own connections: workers block on them waiting for work, which the store's pool,
    # with its short socket timeouts, is not made for.
    redis = Redis.from_url(redis_url, health_check_interval=30)
    return FairRedisQueue(redis, name=f"{key_prefix}:queue:searches" if key_prefix else "queue")


class SearchQueue:
    def __init__(self, queue: FairRedisQueue, settings: QueueSettings) -> None:
        self.queue = queue
        self._settings = settings

    async def enqueue(self, job: SearchJob, *, after: float = 0.0, key: str | None = None) -> None:
        """Queue ``job`` under ``key`` (its search id by default), to run ``after`` seconds on.

        A delayed job waits in saq's schedule until it is due (saq looks every second).
        """
        await self.queue.enqueue(
            Job(
                function=FUNCTION,
                kwargs=job.to_kwargs(),
                key=key or job.search_id,
                scheduled=math.ceil(time.time() + after) if after > 0 else 0,
                # No overall timeout: the search has its deadline and the webhook its retry_for;
                # the heartbeat is what tells a live job from a dead worker's.
                timeout=0,
                heartbeat=self._settings.heartbeat,
                retries=self._settings.retries,
                ttl=FINISHED_TTL,
            )
        )


class _QuietWorker(Worker[Any]):
    # Signals are handled by whoever runs the worker (the server's lifespan, or ``run``), which
    # must tell the queue to stop waiting before saq's worker stops (``SearchWorker.stop``).
    SIGNALS = []  # noqa: RUF012  # saq reads this class attribute; nothing mutates it


class SearchWorker:
    """saq's worker over the search queue, running ``run`` for each job."""

    def __init__(
        self,
        queue: FairRedisQueue,
        run: Callable[[SearchJob], Awaitable[None]],
        settings: QueueSettings,
        *,
        grace_period: int,
    ) -> None:
        self._queue = queue
        self._run = run
        self._settings = settings
        self._worker = _QuietWorker(
            queue,
            functions=[(FUNCTION, self._job)],
            concurrency=settings.concurrency,
            timers=PartialTimersDict(
                sweep=settings.sweep_every, schedule=1, abort=1, worker_info=10
            ),
            shutdown_grace_period_s=grace_period,
        )
        self._task: asyncio.Task[None] | None = None

    async def _job(self, ctx: dict[str, Any], **kwargs: Any) -> None:
        job: Job = ctx["job"]
        beat = asyncio.create_task(self._heartbeat(job))
        try:
            await self._run(SearchJob.from_kwargs(kwargs))
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat(self, job: Job) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat / 3)
            await job.update()

    async def run(self) -> None:
        """Work until SIGTERM or SIGINT, then stop as ``stop`` does."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        self.start()
        try:
            await stopping.wait()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            await self.stop()

    def start(self) -> None:
        self._task = asyncio.create_task(self._worker.start())

    async def stop(self) -> None:
        """Let running searches finish for the grace period; saq puts back what does not."""
        self._queue.stop_waiting()
        await self._worker.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

"""``Clock``: the one source of time that the upstream layer and the sandbox both read.

Engines ban for minutes, and a benchmark that wants to see many bans come and go cannot wait
hours, so time may run faster; but a world whose bans are sped up while the service's rests are
not (or the reverse) measures nothing real. So there is one clock, handed to both: the service's
exits, rests, breakers, backoff sleeps and deadlines, and the sandbox's ban windows, bans,
latency and slow proxies. ``speed`` 1 (the default everywhere) is real time; a benchmark may set
it higher, for both sides at once, since only one object exists to set it on.

What stays on real time, whatever the speed: the HTTP client's own socket timeouts (the fetcher
scales each attempt's time left down to them), and the traffic layer's per-minute rate limits and
cache TTLs, which Redis keeps with its own ``TIME``.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"a clock's speed is positive, not {speed}")
        self.speed = speed
        self._real_start = time.monotonic()
        self._wall_start = time.time()

    def monotonic(self) -> float:
        """Seconds on this clock, for durations: ``time.monotonic`` at ``speed``."""
        return self._real_start + (time.monotonic() - self._real_start) * self.speed

    def time(self) -> float:
        """The wall clock (Unix seconds) as this clock sees it, for HTTP dates."""
        return self._wall_start + (time.monotonic() - self._real_start) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def real(self, seconds: float) -> float:
        """How many real seconds ``seconds`` of this clock take."""
        return seconds / self.speed

"""``FakeClock``: time that moves only when a test says so, the one stand-in for clocks in tests.

The service's clock-driven policies (rests, breakers, backoff, cache freshness, quotas, the
sandbox's bans and wall cookies) take a callable returning seconds, and some an async sleep;
this one object serves them all, so a test advances one time for everything it built.
"""

from __future__ import annotations


class FakeClock:
    """Callable like ``time.time``; ``start`` is where time begins."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` stand-in: the wait passes at once, on this clock."""
        self.now += seconds

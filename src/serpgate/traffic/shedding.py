"""``LoadShedder``: a bound on upstream work in flight in this process.

Past the bound, a search that would need a new upstream fetch fails at once with 503 and
``Retry-After`` instead of queueing without limit: a queue only turns overload into timeouts for
everyone, and the clients retry anyway. The bound counts fetches, not requests: cached answers, and
searches that join a fetch already in flight, add no upstream work and keep flowing. It is per
process on purpose; each replica protects its own event loop, sockets and memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from serpgate.errors import ServiceUnavailable


class LoadShedder:
    def __init__(self, max_in_flight: int, retry_after: float = 1.0) -> None:
        self._max = max_in_flight
        self._retry_after = retry_after
        self.in_flight = 0
        self.shed = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one unit of upstream work for the block, or raise ``ServiceUnavailable`` now."""
        if self.in_flight >= self._max:
            self.shed += 1
            raise ServiceUnavailable(
                "The service is at capacity; retry shortly", retry_after=self._retry_after
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, object]:
        return {"in_flight": self.in_flight, "max_in_flight": self._max, "shed": self.shed}

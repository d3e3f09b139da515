"""``RetryPolicy``: how many attempts a search may make and how long it waits between them.

A small value object in the manner of redis-py's ``Retry``: the attempt loop asks it, rather than
carrying retry arithmetic of its own. ``Retry-After`` from an engine is a floor under the jittered
delay: waiting less would only earn the same answer again.
"""

from __future__ import annotations

from dataclasses import dataclass

from serpgate.upstream.backoff import Backoff


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    backoff: Backoff

    def allows(self, attempts_made: int) -> bool:
        return attempts_made < self.max_attempts

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the 0-based ``attempt`` failed, at least ``retry_after``."""
        return max(self.backoff.delay(attempt), retry_after or 0.0)

"""``RetryPolicy``: how many attempts a search may make and how long it waits between them.

A small value object in the manner of redis-py's ``Retry``: the attempt loop asks it, rather than
carrying retry arithmetic of its own. ``max_attempts`` counts the attempts a search makes, less
up to ``exit_retries`` retries that followed a fault of one exit alone (a dead proxy, a 403, a
CAPTCHA on that exit): another exit is a fresh chance, and a pool that is still finding out which
of its proxies are bad should not fail searches for it. ``Retry-After`` from an engine is a floor
under the jittered delay: waiting less would only earn the same answer again.
"""

from __future__ import annotations

from dataclasses import dataclass

from serpgate.upstream.backoff import Backoff


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    backoff: Backoff
    exit_retries: int = 0

    def allows(self, attempts_made: int, exit_retries_made: int = 0) -> bool:
        """Whether one more attempt may go, ``exit_retries_made`` of those made being retries
        after a fault of the exit alone."""
        return attempts_made - min(exit_retries_made, self.exit_retries) < self.max_attempts

    def allows_exit_retry(self, exit_retries_made: int) -> bool:
        """Whether a retry after a fault of the exit alone is still free of the attempt limit."""
        return exit_retries_made < self.exit_retries

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the 0-based ``attempt`` failed, at least ``retry_after``."""
        return max(self.backoff.delay(attempt), retry_after or 0.0)

"""How long to wait before trying again: AWS's full-jitter exponential backoff.

Full jitter (``uniform(0, min(cap, base * 2**attempt))``) spreads the retries of many requests that
failed together across the whole interval, so that an engine that stumbled once is not hit by a
synchronised wave of retries. The random source is handed in, so tests can make the jitter exact.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol


class Backoff(Protocol):
    def delay(self, attempt: int) -> float:
        """Seconds to wait after the 0-based ``attempt`` failed."""


@dataclass(frozen=True, slots=True)
class FullJitterBackoff:
    base: float
    cap: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        # min() before the power would overflow a float for absurd attempt counts.
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 62))
        return self.rng.uniform(0.0, ceiling)

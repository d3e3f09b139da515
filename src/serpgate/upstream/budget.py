"""``RetryBudget``: Envoy's cap on retries, relative to the traffic they ride on.

A fixed "retry three times" turns an engine outage into three times the load at the worst moment.
Envoy's budget instead lets retries in flight grow only to a share (``ratio``) of the searches in
flight, with a small floor (``min_retries``) so that a quiet service can still retry at all. When
the budget is spent a search fails with the error it has rather than adding to the storm.
"""

from __future__ import annotations

import math


class RetryBudget:
    """Concurrency, not time: the budget needs no clock, only honest start and end calls."""

    def __init__(self, ratio: float, min_retries: int) -> None:
        self.ratio = ratio
        self.min_retries = min_retries
        self.requests_in_flight = 0
        self.retries_in_flight = 0
        self.peak_retries_in_flight = 0
        self.retries_granted = 0
        self.retries_denied = 0

    @property
    def limit(self) -> int:
        # floor: 20% of 14 searches in flight allows 2 retries, not 3.
        return max(self.min_retries, math.floor(self.ratio * self.requests_in_flight))

    def start_request(self) -> None:
        self.requests_in_flight += 1

    def end_request(self) -> None:
        self.requests_in_flight -= 1

    def try_start_retry(self) -> bool:
        """Take a retry slot if the budget has one; the caller must ``end_retry`` after."""
        if self.retries_in_flight >= self.limit:
            self.retries_denied += 1
            return False
        self.retries_in_flight += 1
        self.peak_retries_in_flight = max(self.peak_retries_in_flight, self.retries_in_flight)
        self.retries_granted += 1
        return True

    def end_retry(self) -> None:
        self.retries_in_flight -= 1

    def snapshot(self) -> dict[str, int]:
        return {
            "requests_in_flight": self.requests_in_flight,
            "retries_in_flight": self.retries_in_flight,
            "limit": self.limit,
            "peak_retries_in_flight": self.peak_retries_in_flight,
            "retries_granted": self.retries_granted,
            "retries_denied": self.retries_denied,
        }

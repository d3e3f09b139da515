"""Full-jitter backoff and the retry policy that floors it with Retry-After."""

from __future__ import annotations

import random

import pytest

from serpgate.upstream.backoff import FullJitterBackoff
from serpgate.upstream.retry import RetryPolicy


def test_delay_is_uniform_below_the_doubling_ceiling() -> None:
    backoff = FullJitterBackoff(base=0.1, cap=10.0, rng=random.Random(7))
    for attempt in range(5):
        delays = [backoff.delay(attempt) for _ in range(2000)]
        ceiling = 0.1 * 2**attempt
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole interval: the mean sits near its middle.
        assert sum(delays) / len(delays) == pytest.approx(ceiling / 2, rel=0.1)


def test_delay_never_exceeds_the_cap_even_for_absurd_attempts() -> None:
    backoff = FullJitterBackoff(base=0.1, cap=2.0, rng=random.Random(1))
    assert all(backoff.delay(attempt) <= 2.0 for attempt in (5, 10, 100, 10_000))


def test_the_same_seed_gives_the_same_delays() -> None:
    first = FullJitterBackoff(0.1, 2.0, random.Random(42))
    second = FullJitterBackoff(0.1, 2.0, random.Random(42))
    assert [first.delay(a) for a in range(6)] == [second.delay(a) for a in range(6)]


def test_policy_counts_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, backoff=FullJitterBackoff(0.1, 1.0))
    assert [policy.allows(made) for made in range(5)] == [True, True, True, False, False]


def test_retry_after_is_a_floor_under_the_jitter() -> None:
    policy = RetryPolicy(3, FullJitterBackoff(base=0.1, cap=1.0, rng=random.Random(3)))
    assert all(policy.delay(0, retry_after=2.5) == 2.5 for _ in range(50))
    assert all(policy.delay(0, retry_after=None) <= 0.1 for _ in range(50))

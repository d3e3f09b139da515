"""The Envoy retry budget through its states: floor, growth with traffic, denial, release."""

from __future__ import annotations

from serpgate.upstream.budget import RetryBudget


def test_a_quiet_service_may_still_retry_up_to_the_floor() -> None:
    budget = RetryBudget(ratio=0.2, min_retries=3)
    budget.start_request()
    assert [budget.try_start_retry() for _ in range(4)] == [True, True, True, False]
    assert budget.snapshot() == {
        "requests_in_flight": 1,
        "retries_in_flight": 3,
        "limit": 3,
        "peak_retries_in_flight": 3,
        "retries_granted": 3,
        "retries_denied": 1,
    }


def test_the_limit_grows_with_requests_in_flight() -> None:
    budget = RetryBudget(ratio=0.2, min_retries=3)
    for _ in range(14):
        budget.start_request()
    assert budget.limit == 3  # 20% of 14 is 2.8: the floor still rules
    for _ in range(36):
        budget.start_request()
    assert budget.limit == 10
    granted = sum(budget.try_start_retry() for _ in range(25))
    assert granted == 10
    assert budget.retries_denied == 15


def test_ending_a_retry_frees_its_slot() -> None:
    budget = RetryBudget(ratio=0.2, min_retries=1)
    budget.start_request()
    assert budget.try_start_retry()
    assert not budget.try_start_retry()
    budget.end_retry()
    assert budget.try_start_retry()
    assert budget.peak_retries_in_flight == 1


def test_the_limit_shrinks_as_requests_end() -> None:
    budget = RetryBudget(ratio=0.5, min_retries=0)
    for _ in range(4):
        budget.start_request()
    assert budget.try_start_retry()
    assert budget.try_start_retry()
    for _ in range(3):
        budget.end_request()
    # One search left in flight allows no retry at 50%, and two are still out.
    assert budget.limit == 0
    assert not budget.try_start_retry()

"""``StoreHealth``: a failing or slow Redis is noticed, skipped for a cool-down, and forgiven."""

from __future__ import annotations

import asyncio

import pytest

from serpgate.store.base import StoreUnavailable
from serpgate.traffic.health import StoreHealth
from tests.fake_clock import FakeClock


async def answer() -> str:
    return "ok"


async def refuse() -> str:
    raise ConnectionRefusedError("connection refused")


async def stall() -> str:
    await asyncio.sleep(10)
    return "late"


async def test_a_failure_opens_a_cooldown_and_a_success_after_it_recovers() -> None:
    clock = FakeClock(0.0)
    health = StoreHealth(timeout=1.0, cooldown=2.0, trip_after=1, clock=clock)
    assert await health.call(answer) == "ok"
    with pytest.raises(StoreUnavailable):
        await health.call(refuse)
    assert not health.up
    assert health.snapshot()["last_error"] == "ConnectionRefusedError: connection refused"
    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    with pytest.raises(StoreUnavailable):
        await health.call(counted)  # skipped: still cooling down
    assert calls == 0
    assert health.retry_after == 2.0
    clock.advance(2.0)
    assert await health.call(counted) == "ok"
    assert calls == 1
    assert health.up
    assert health.snapshot() == {
        "status": "up",
        "down_for": None,
        "last_error": "ConnectionRefusedError: connection refused",
        "failures": 1,
    }


async def test_a_slow_store_counts_as_a_down_one() -> None:
    health = StoreHealth(timeout=0.05, cooldown=1.0, trip_after=1)
    with pytest.raises(StoreUnavailable):
        await health.call(stall)
    assert not health.up
    assert health.snapshot()["status"] == "down"


async def test_only_failures_in_a_row_mark_the_store_down() -> None:
    health = StoreHealth(trip_after=3)
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            await health.call(refuse)
    assert health.up
    await health.call(answer)  # a success in between starts the count again
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            await health.call(refuse)
    assert health.up
    with pytest.raises(StoreUnavailable):
        await health.call(refuse)
    assert not health.up
    with pytest.raises(StoreUnavailable, match="cooling down"):
        await health.call(answer)


async def test_programming_errors_are_not_outages() -> None:
    async def broken() -> str:
        raise KeyError("bug")

    health = StoreHealth()
    with pytest.raises(KeyError):
        await health.call(broken)
    assert health.up

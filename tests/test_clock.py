"""The one clock: faster for everyone who reads it, or for no one."""

from __future__ import annotations

import time

import pytest

from serpgate.clock import Clock


async def test_a_fast_clock_runs_its_readings_and_sleeps_at_its_speed() -> None:
    clock = Clock(50)
    started, real = clock.monotonic(), time.monotonic()
    wall = clock.time()
    await clock.sleep(5)  # 5 s of the clock: a tenth of a real second
    real_elapsed = time.monotonic() - real
    assert 0.09 <= real_elapsed < 1.0
    assert clock.monotonic() - started == pytest.approx(real_elapsed * 50, rel=0.05)
    assert clock.time() - wall == pytest.approx(real_elapsed * 50, rel=0.05)
    assert clock.real(5) == 0.1


def test_real_time_by_default_and_never_backwards() -> None:
    clock = Clock()
    assert clock.speed == 1
    assert abs(clock.time() - time.time()) < 1
    readings = [clock.monotonic() for _ in range(100)]
    assert readings == sorted(readings)
    with pytest.raises(ValueError, match="positive"):
        Clock(0)

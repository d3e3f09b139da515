"""SIGTERM first drains for the configured delay, then reaches the server's own handler."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from serpgate.lifecycle import Lifecycle


@pytest.fixture
def server_handler() -> Iterator[list[float]]:
    """Stands for uvicorn's handler: records when SIGTERM reached it."""
    reached: list[float] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        reached.append(asyncio.get_running_loop().time())

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield reached
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_sigterm_drains_for_the_delay_then_reaches_the_server(
    server_handler: list[float],
) -> None:
    lifecycle = Lifecycle(drain_delay=0.3)
    loop = asyncio.get_running_loop()
    with lifecycle.intercept_sigterm():
        signalled = loop.time()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert lifecycle.draining
        assert server_handler == []
        await asyncio.sleep(0.4)
        assert len(server_handler) == 1
        assert server_handler[0] - signalled >= 0.3
    # Once the app has stopped, SIGTERM is the server's again.
    assert signal.getsignal(signal.SIGTERM).__name__ == "handle"  # type: ignore[union-attr]


async def test_a_second_sigterm_stops_at_once(server_handler: list[float]) -> None:
    lifecycle = Lifecycle(drain_delay=30)
    with lifecycle.intercept_sigterm():
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert server_handler == []
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert len(server_handler) == 1

"""``Lifecycle``: whether this process is draining, and the SIGTERM step that starts the drain.

uvicorn already does the second half of a graceful stop on SIGTERM: close the listening socket,
let the connections in flight finish (up to ``timeout_graceful_shutdown``), then run the app's
lifespan shutdown, which closes sessions and pools. What it lacks is the first half that a load
balancer needs: a moment in which the process still serves but ``/readyz`` already says 503, so
the balancer's health check takes it out of rotation before connections are refused.

``Lifecycle.intercept_sigterm`` puts that moment in front of uvicorn's own handler: SIGTERM marks
the process draining and hands the signal on after ``drain_delay`` seconds (a second SIGTERM hands
it on at once). It works the same in one process and in every worker of ``serve --workers N``,
since each worker runs the app's lifespan in its main thread, where uvicorn installs its handler.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from serpgate.loghandler import BackgroundStreamHandler

log = logging.getLogger("serpgate.lifecycle")

SignalHandler = Callable[[int, FrameType | None], object]


class Lifecycle:
    def __init__(self, drain_delay: float = 0.0) -> None:
        self.drain_delay = drain_delay
        self.draining = False

    @contextmanager
    def intercept_sigterm(self) -> Iterator[None]:
        """While the app runs, SIGTERM first drains, then reaches the server's own handler."""
        previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is not threading.main_thread() or not callable(previous):
            # No server handler to defer to (an embedded server in a thread, a test client).
            yield
            return
        server_handler: SignalHandler = previous
        loop = asyncio.get_running_loop()
        handed_on = False
        timer: asyncio.TimerHandle | None = None

        def hand_on() -> None:
            nonlocal handed_on
            if not handed_on:
                handed_on = True
                server_handler(signal.SIGTERM, None)

        def start_timer() -> None:
            nonlocal timer
            # The process may end by a signal no exit hook sees: no log line may stay queued.
            for handler in logging.getLogger().handlers:
                if isinstance(handler, BackgroundStreamHandler):
                    handler.write_through()
            log.info("SIGTERM: draining, stopping in %.1fs", self.drain_delay)
            timer = loop.call_later(self.drain_delay, hand_on)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if self.draining:
                hand_on()
                return
            self.draining = True
            # A signal handler may interrupt the loop (or a log call) mid-step: it only flips
            # the flag and hands the rest to the loop, through the one entry point safe from here.
            loop.call_soon_threadsafe(start_timer)

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            yield
        finally:
            if timer is not None:
                timer.cancel()
            signal.signal(signal.SIGTERM, previous)

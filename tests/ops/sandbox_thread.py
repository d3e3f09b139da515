"""The sandbox engines in a thread of the test process, optionally slow, counting what is in flight.

A slow engine is how a test holds searches in flight for as long as it needs (to send SIGTERM in
the middle of them), and the in-flight count is how it knows they have really reached the engine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.server import create_sandbox_app

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Sandbox:
    url: str
    in_flight: int = 0
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def engine_urls(self) -> str:
        """``SERPGATE_ENGINE_URLS`` for every sandbox engine."""
        return orjson.dumps({e.engine: f"{self.url}/{e.engine}" for e in all_emulators()}).decode()


@contextmanager
def sandbox_in_thread(delay: float = 0.0) -> Iterator[Sandbox]:
    """Every sandbox engine on a free loopback port, each answer held back ``delay`` seconds."""
    ready = threading.Event()
    stop = threading.Event()
    found: dict[str, Sandbox] = {}

    async def main() -> None:
        sandbox = Sandbox(url="")

        @web.middleware
        async def slow(request: web.Request, handler: Handler) -> web.StreamResponse:
            with sandbox.lock:
                sandbox.in_flight += 1
            try:
                await asyncio.sleep(delay)
                return await handler(request)
            finally:
                with sandbox.lock:
                    sandbox.in_flight -= 1
                    sandbox.served += 1

        app = create_sandbox_app(all_emulators())
        app.middlewares.append(slow)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        sandbox.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        found["sandbox"] = sandbox
        ready.set()
        await asyncio.to_thread(stop.wait, 300)
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="sandbox", daemon=True)
    thread.start()
    assert ready.wait(30), "the sandbox did not start"
    try:
        yield found["sandbox"]
    finally:
        stop.set()
        thread.join(30)

"""The real thing on loopback: the sandbox engines and the serpgate app under uvicorn, in a thread.

Tests talk to it over real sockets, with any HTTP client (including SerpApi's own, which is
synchronous), so nothing between the client and the engine emulator is skipped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from aiohttp import web
from fastapi import FastAPI
from pydantic import SecretStr

from serpgate.app import create_app
from serpgate.edge import EdgeProtocol
from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.server import create_sandbox_app
from serpgate.settings import Settings
from tests.redis_server import unique_prefix


@dataclass(frozen=True)
class LiveService:
    url: str
    sandbox_url: str
    # The app itself, for a test that looks at what the service holds (``app.state.services``).
    app: FastAPI


@contextmanager
def live_service(
    api_keys: str,
    routes: Mapping[str, str] | None = None,
    protocol: type[asyncio.Protocol] = EdgeProtocol,
    **settings: object,
) -> Iterator[LiveService]:
    """Start sandbox + service on free loopback ports, served as ``serpgate serve`` serves
    (``EdgeProtocol`` unless another ``protocol`` is given); stop both on exit.

    ``routes`` sends an engine to another engine's emulator (``{"bing": "brave"}``): a misrouted
    or changed engine, whose pages its parser must not take for its own.
    """
    routes = routes or {}
    ready = threading.Event()
    stop = threading.Event()
    found: dict[str, object] = {}

    async def main() -> None:
        runner = web.AppRunner(create_sandbox_app(all_emulators()), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        sandbox = f"http://127.0.0.1:{runner.addresses[0][1]}"
        config = Settings(
            api_keys=SecretStr(api_keys),
            engine_urls={
                e.engine: f"{sandbox}/{routes.get(e.engine, e.engine)}" for e in all_emulators()
            },
            **settings,  # type: ignore[arg-type]  # validated by Settings itself
        )
        app = create_app(config)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=0,
                access_log=False,
                log_level="warning",
                http=protocol,
                timeout_keep_alive=config.http.keep_alive,  # type: ignore[arg-type]  # uvicorn annotates int; it hands the value to loop.call_later, which takes a float
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        found["service"] = LiveService(f"http://127.0.0.1:{port}", sandbox, app)
        ready.set()
        await asyncio.to_thread(stop.wait)
        server.should_exit = True
        await task
        await runner.cleanup()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            found["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="live-service", daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in found:
        raise RuntimeError(f"live service did not start: {found.get('error')!r}")
    try:
        service = found["service"]
        assert isinstance(service, LiveService)
        yield service
    finally:
        stop.set()
        thread.join(30)


@contextmanager
def live_service_on(
    request: pytest.FixtureRequest, api_keys: str, label: str, **settings: Any
) -> Iterator[LiveService]:
    """``live_service`` on the store ``request.param`` names: ``memory`` (the embedded store) or
    ``redis`` (the test Redis of the ``redis_url`` fixture, under a key prefix of its own)."""
    if request.param == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_url")
        settings["key_prefix"] = unique_prefix(label)
    with live_service(api_keys, **settings) as running:
        yield running

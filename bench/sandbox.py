"""The engines a benchmark searches, as a process of their own on loopback.

Two kinds:

- ``--profile JSON``: the sandbox server (every emulator, ``serpgate.sandbox.server``) under a
  ``FaultProfile`` built from the JSON (``{"latency_median": 0.2, "latency_sigma": 0.4}`` is a
  calm world with realistic latency);
- ``--page FILE --latency S``: one engine path, ``/google/search``, answering every search with
  the page in FILE after exactly S seconds (scenario 2's fixed-latency engine), plus
  ``/direct/search``, the same answer, for the client that measures the engine on its own.

    python -m bench.sandbox --port 8001 --profile '{"name": "calm"}'
    python -m bench.sandbox --port 8001 --page ../shared/fixtures/serp/google/x.html --latency 0.05

The listen backlog is 4,096, so 2,000 connections arriving at once are all accepted.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path

import orjson
from aiohttp import web

from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.faults import FaultProfile
from serpgate.sandbox.server import create_sandbox_app

BACKLOG = 4096


def fixed_page_app(html: str, latency: float) -> web.Application:
    counts: Counter[str] = Counter()

    async def serve(request: web.Request) -> web.Response:
        counts[f"{request.path.split('/')[1]}.requests"] += 1
        await asyncio.sleep(latency)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    app = web.Application()
    app.router.add_get("/google/search", serve)
    app.router.add_get("/direct/search", serve)
    app.router.add_get("/_sandbox/stats", stats)
    return app


async def serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=BACKLOG).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--profile", help="FaultProfile fields as JSON")
    parser.add_argument("--page", type=Path, help="answer every search with this page")
    parser.add_argument("--latency", type=float, default=0.05, help="with --page: seconds")
    args = parser.parse_args()
    if args.page is not None:
        app = fixed_page_app(args.page.read_text(encoding="utf-8"), args.latency)
    else:
        profile = FaultProfile.model_validate(orjson.loads(args.profile or "{}"))
        # The suite measures serpgate's own overhead: Google's wall is lifted here, and what
        # passing it costs is bench/browser.py's to measure.
        app = create_sandbox_app(all_emulators(), faults=profile, walled=())
    try:
        import uvloop
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio works too
        asyncio.run(serve(app, args.port))
    else:
        uvloop.run(serve(app, args.port))


if __name__ == "__main__":
    main()

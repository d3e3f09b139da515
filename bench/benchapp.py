"""The benchmark's own build of the service: ``create_app`` plus one bare JSON route.

``GET /bench/bare`` answers ready JSON bytes of ``SERPGATE_BENCH_BARE_BYTES`` bytes (by default
the size of a cached answer), through the same app, middleware (access log, metrics, request ids)
and server as ``/search``: beside ``bench.bareapp`` (the same route in a bare FastAPI app) it
shows what serpgate's middleware costs on its own. The route exists only here, never in
production code.

    python -m bench.benchapp     # settings from SERPGATE_*, served as ``serpgate serve`` does

The uvicorn options are those of ``serpgate serve`` with one worker (``serve_options``), its
HTTP protocol (``EdgeProtocol``) included.
"""

from __future__ import annotations

import os
import signal

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from bench.bareapp import BARE_PATH, bare_body
from serpgate.app import create_app
from serpgate.cli import _stop_cleanly, serve_options
from serpgate.settings import Settings

BARE_BYTES_ENV = "SERPGATE_BENCH_BARE_BYTES"


def create_bench_app(settings: Settings, bare_bytes: int) -> FastAPI:
    app = create_app(settings)
    body = bare_body(bare_bytes)

    async def bare() -> Response:
        return Response(body, media_type="application/json")

    app.add_api_route(BARE_PATH, bare, methods=["GET"], include_in_schema=False)
    return app


def main() -> None:
    settings = Settings()
    app = create_bench_app(settings, int(os.environ.get(BARE_BYTES_ENV, "20000")))
    signal.signal(signal.SIGTERM, _stop_cleanly)
    uvicorn.run(app, **serve_options(settings))


if __name__ == "__main__":
    main()

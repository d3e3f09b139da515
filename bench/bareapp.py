"""The framework's ceiling: a bare FastAPI app, with no serpgate code, answering ready JSON bytes.

Scenario 1 measures a cache hit against this: the same framework, server and uvicorn options as
``serpgate serve`` with one worker (uvloop and httptools, no uvicorn access log), one route that
answers a ready ``bytes`` body of the size of a cached answer. Its HTTP protocol is uvicorn's
own: ``serve``'s ``EdgeProtocol`` (header deadlines and size limits) is serpgate code, which the
service under test runs and pays for. Nothing of serpgate is imported
here (no middleware, no logging configuration, no metrics), so whatever serpgate adds to a
request shows as the distance to this app.

    python -m bench.bareapp PORT SIZE
"""

from __future__ import annotations

import sys

import orjson
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

BARE_PATH = "/bench/bare"


def bare_body(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least a few dozen)."""
    head = orjson.dumps({"status": "ok", "padding": ""})
    padding = max(0, size - len(head))
    return orjson.dumps({"status": "ok", "padding": "x" * padding})


def create_bare_app(body: bytes) -> FastAPI:
    app = FastAPI()

    async def bare() -> Response:
        return Response(body, media_type="application/json")

    app.add_api_route(BARE_PATH, bare, methods=["GET"])
    return app


def main(argv: list[str]) -> None:
    port, size = int(argv[0]), int(argv[1])
    uvicorn.run(
        create_bare_app(bare_body(size)),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main(sys.argv[1:])

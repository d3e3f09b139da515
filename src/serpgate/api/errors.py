"""Every failure becomes ``{"error": "..."}`` with its status here, and nowhere else.

Domain errors carry their status; request validation errors become a 400 that names the parameter;
anything unforeseen is logged with its traceback and answered as a bare 500, never a stack trace.
"""

from __future__ import annotations

import logging
import math

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException

from serpgate.errors import RateLimited, SerpgateError, ServiceUnavailable
from serpgate.store.base import StoreUnavailable

log = logging.getLogger("serpgate.errors")
_SHOWN_VALUE = 80


def json_response(
    data: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def error_response(status: int, message: str, retry_after: float | None = None) -> Response:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after else None
    return json_response({"error": message}, status, headers)


def describe(errors: list[ErrorDetails]) -> str:
    """One sentence per invalid parameter: which one, and what is wrong with it."""
    parts = []
    for error in errors:
        name = next((str(p) for p in reversed(error["loc"]) if isinstance(p, str)), "request")
        if name in {"query", "body"}:
            name = "request"
        if error["type"] == "extra_forbidden":
            parts.append(f"unsupported parameter {name!r}")
        elif error["type"] == "missing":
            parts.append(f"missing required parameter {name!r}")
        else:
            value = error.get("input")
            # A value is shown only while short: a 100 kB q is not sent back to its sender.
            shown = f" {value!r}" if isinstance(value, str | int | float) else ""
            if len(shown) > _SHOWN_VALUE:
                shown = ""
            parts.append(f"invalid value{shown} for parameter {name!r}: {error['msg']}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SerpgateError)
    async def _domain(_: Request, exc: SerpgateError) -> Response:
        retry = exc.retry_after if isinstance(exc, RateLimited | ServiceUnavailable) else None
        response = error_response(exc.status_code, exc.message, retry)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(StoreUnavailable)
    async def _store(_: Request, exc: StoreUnavailable) -> Response:
        log.warning("store unavailable: %s", exc)
        return error_response(503, "temporarily unavailable: shared state cannot be reached", 1)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        return error_response(400, describe(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _invalid_model(_: Request, exc: ValidationError) -> Response:
        return error_response(400, describe(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        response = error_response(exc.status_code, message)
        headers = dict(exc.headers or {})
        allow = headers.get("Allow")
        if allow is not None and "GET" in allow.split(", ") and "HEAD" not in allow:
            headers["Allow"] = f"{allow}, HEAD"  # HeadAsGet answers HEAD wherever GET goes
        response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return error_response(500, "internal error")

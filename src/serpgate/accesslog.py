"""``AccessLogMiddleware``: one log line per request, with API keys redacted.

uvicorn's own access log prints the raw query string, ``api_key`` and all, so serpgate turns it
off and writes this one instead.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("serpgate.access")

SECRET_PARAMS = frozenset({"api_key", "admin_key"})


def redact_query(query: str) -> str:
    """The query string with every secret parameter's value replaced."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name in SECRET_PARAMS for name, _ in pairs):
        return query
    return urlencode([(n, "REDACTED" if n in SECRET_PARAMS else v) for n, v in pairs])


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            query = redact_query(scope.get("query_string", b"").decode("latin-1"))
            path = scope["path"] + (f"?{query}" if query else "")
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                path,
                status,
                (time.perf_counter() - started) * 1000,
            )

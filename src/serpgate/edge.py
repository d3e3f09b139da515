"""The HTTP edge: what a connection and a request go through before any route sees them.

``EdgeProtocol`` is uvicorn's httptools protocol with the limits uvicorn leaves out. A connection
that sends nothing, or sends its headers a byte at a time, holds a socket for as long as it
likes under plain uvicorn (its keep-alive timer runs only after a response); here a request's
headers must arrive within ``header_timeout`` of the connection opening, or of the request's
first byte on a kept-alive connection, and may not exceed ``max_header_bytes``; a request line
longer than ``max_url`` is a 414. Whatever uvicorn answers itself (a malformed request) and these
limits answer in the service's ``{"error": ...}`` JSON envelope, not uvicorn's text/plain.

``HeadAsGet`` routes ``HEAD`` wherever ``GET`` goes (FastAPI registers only the methods named):
uvicorn, which still sees the request as ``HEAD``, sends the headers and drops the body.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header deadlines and size limits, answering in JSON.

    The limits are class attributes, not settings: uvicorn builds one protocol per connection
    from a class it may have to pickle into worker processes. A deployment that needs others
    subclasses it.
    """

    header_timeout: ClassVar[float] = 10.0
    max_header_bytes: ClassVar[int] = 64 * 1024
    max_url: ClassVar[int] = 8 * 1024

    # When the headers of the request under way must be in; None between requests. One timer per
    # connection watches it: a timer armed and cancelled per request cost a cache hit a few µs,
    # so it stays armed, and when it fires early (a later request's clock) it re-arms for then.
    _header_deadline: float | None = None
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows the transport type the same way
        super().connection_made(transport)
        self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests and self._header_deadline is None:
            self._start_header_clock()  # the first bytes of a request on a kept-alive connection
        if self._header_deadline is not None:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431, "request headers too large")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._stop_header_clock()
        if len(self.url) > self.max_url:
            self._refuse(414, f"request URL longer than {self.max_url} bytes")
            return
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "malformed HTTP request")

    def _start_header_clock(self) -> None:
        self._header_bytes = 0
        self._header_deadline = self.loop.time() + self.header_timeout
        if self._header_timer is None:
            self._header_timer = self.loop.call_at(self._header_deadline, self._header_clock)

    def _stop_header_clock(self) -> None:
        self._header_deadline = None

    def _header_clock(self) -> None:
        self._header_timer = None
        deadline = self._header_deadline
        if deadline is None:
            return  # the headers came; the next request arms the clock again
        if deadline > self.loop.time():
            self._header_timer = self.loop.call_at(deadline, self._header_clock)
            return
        self._refuse(408, f"request headers not received within {self.header_timeout:g} s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``{"error": message}`` and close, as uvicorn answers what it cannot parse."""
        self._stop_header_clock()
        if self.transport.is_closing():
            return
        body = orjson.dumps({"error": message})
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
        head.extend(
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        )
        head.append(b"content-type: application/json\r\n")
        head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class HeadAsGet:
    """ASGI middleware: a ``HEAD`` request is routed as the ``GET`` it asks the headers of."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            # A copy: the server keeps its own scope saying HEAD, and so sends no body.
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)

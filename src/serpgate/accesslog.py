"""``AccessLogMiddleware``: one structured log line, and one metrics observation, per request.

Each request gets a ``RequestRecord``: its id (the client's ``X-Request-ID`` when it is a sane one,
else a fresh one; echoed back in the response), and the fields that code further in fills as it
learns them, through ``annotate_request``: the tenant once the key is checked, the cache outcome
and the number of upstream attempts once the search has run. When the response is sent the record
becomes one JSON log line (``serpgate.access``) and one observation of the request metrics.

uvicorn's own access log prints the raw query string, ``api_key`` and all, so serpgate turns it
off and writes this one instead, with every secret parameter redacted from the path.
"""

from __future__ import annotations

import logging
import random
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serpgate.loghandler import BackgroundStreamHandler, Fields
from serpgate.metrics import Metrics

log = logging.getLogger("serpgate.access")

SECRET_PARAMS = frozenset({"api_key", "admin_key"})
REQUEST_ID_HEADER = b"x-request-id"
# Ids from a client or a proxy are kept when they look like ids (a UUID, nginx's $request_id),
# so one request can be followed through every hop; anything else could forge log lines.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes arrive every few seconds per replica; at info they would drown the searches.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(slots=True)
class RequestRecord:
    """What one request did, as its access log line reports it."""

    request_id: str
    method: str
    path: str
    engine: str | None = None
    route: str | None = None
    tenant_id: str | None = None
    cache: str | None = None
    attempts: int | None = None
    status: int = 500
    duration_ms: float = 0.0
    client: str | None = None

    def fields(self) -> dict[str, object]:
        # What dataclasses.asdict gives, without its deep copies (a fifth of a line's cost).
        return {name: getattr(self, name) for name in self.__slots__}


_current: ContextVar[RequestRecord | None] = ContextVar("serpgate_request", default=None)


def annotate_request(
    *, tenant_id: str | None = None, cache: str | None = None, attempts: int | None = None
) -> None:
    """Add what is now known to the current request's log line; outside a request, nothing."""
    record = _current.get()
    if record is None:
        return
    if tenant_id is not None:
        record.tenant_id = tenant_id
    if cache is not None:
        record.cache = cache
    if attempts is not None:
        record.attempts = attempts


def _name(raw: str) -> str:
    """A parameter's name as the app reads it: decoded, when it is encoded at all."""
    return unquote_plus(raw) if "%" in raw or "+" in raw else raw


# How a query string says yes to a boolean, as SearchParams reads it.
_TRUTHY = frozenset({"1", "true", "t", "yes", "y", "on"})


@dataclass(slots=True)
class QueryView:
    """What the access log takes from a raw query string, read in one pass: the engine (the
    first one named, decoded) and the query as the log may show it (``shown``): every secret
    parameter's value replaced, the rest as it came; none of it for a ``zero_trace`` search,
    whose parameters SerpApi's contract keeps out of logs."""

    engine: str | None
    shown: str

    @classmethod
    def of(cls, query: str) -> QueryView:
        engine = None
        zero_trace = False
        pieces = query.split("&")
        for i, piece in enumerate(pieces):
            raw, _, value = piece.partition("=")
            name = _name(raw)
            if name in SECRET_PARAMS:
                pieces[i] = f"{raw}=REDACTED"
            elif name == "engine":
                engine = unquote_plus(value) if engine is None else engine
            elif name == "zero_trace" and not zero_trace:
                zero_trace = unquote_plus(value).lower() in _TRUTHY
        return cls(engine, "zero_trace=true" if zero_trace else "&".join(pieces))


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(candidate):
                return candidate
            break
    # 128 random bits as 32 hex digits, as uuid4().hex reads. An id names a request, it guards
    # nothing, so it need not be unpredictable: ``random`` (reseeded in every forked worker)
    # rather than os.urandom, whose system call hands the GIL to the log writer per request.
    return f"{random.getrandbits(128):032x}"


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        query = QueryView.of(scope.get("query_string", b"").decode("latin-1"))
        client = scope.get("client")
        record = RequestRecord(
            request_id=request_id_of(scope),
            method=scope["method"],
            path=scope["path"],
            engine=query.engine[:64] if query.engine is not None else None,
            client=client[0] if client else None,
        )
        request_id = record.request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        token = _current.set(record)
        self.metrics.in_flight.inc()
        self.metrics.requests_here += 1
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.requests_here -= 1
            self.metrics.in_flight.dec()
            _current.reset(token)
            seconds = time.perf_counter() - started
            self._finish(record, scope, query, seconds)

    def _finish(
        self, record: RequestRecord, scope: Scope, query: QueryView, seconds: float
    ) -> None:
        route = scope.get("route")
        # The matched template (/searches/{search_id}), never the raw path: a label per path
        # would grow without bound.
        record.route = getattr(route, "path", None) or "unmatched"
        record.duration_ms = round(seconds * 1000, 2)
        engine = self.metrics.engine_label(record.engine)
        self.metrics.observe_request(record.route, engine, record.status, seconds)
        level = logging.DEBUG if record.path in _QUIET_PATHS else logging.INFO
        if not log.isEnabledFor(level):
            return
        if query.shown:
            record.path += "?" + query.shown
        writer = BackgroundStreamHandler.sole_writer(log, level)
        if writer is None:
            log.log(
                level,
                "%s %s %d",
                record.method,
                record.path,
                record.status,
                extra=record.fields(),
            )
            return
        message = f"{record.method} {record.path} {record.status}"
        name = logging.getLevelName(level)
        writer.emit_fields(Fields(time.time(), name, log.name, message, record.fields()))

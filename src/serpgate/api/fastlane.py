"""``FastLane``: a cache hit held in memory, answered before FastAPI's routing runs.

A repeated search answered from this process's memory is the service's hottest path, and the
framework around it cost more than the search itself: Starlette's exception middleware, the
router, FastAPI's request handling, a ``Request`` and a ``Response`` object, the query parsed into
a multidict, the engine's parameters read and a Pydantic model validated, per request, for a
query string the process has seen a thousand times (docs/performance.md has the profiles).

This ASGI middleware answers exactly the searches it can answer as ``GET /search`` would, and
hands everything else on untouched. It remembers, per query string (the API key cut out of it)
and origin, the parameters the route read from it, and reads them with the route's own
functions (``search_params``, ``base_url_of``) the first time. A later request with the same
query string and a key that authenticates then goes straight to ``SearchService.answer_held``.
Whatever that cannot answer (not held, not cacheable, a key that does not authenticate, a
query string that was refused, a repeated or odd ``api_key``, CORS, ``HEAD``) passes on to the
app before anything has been counted, and gets the route's answer, errors included; a search
that was only not held takes the lane's reading of its query with it (``LANE_READING``). A refusal
after admission began (a spent rate limit) is answered here through the app's own exception
handlers, so it reads the same as the route's.

It sits inside the access log middleware, so every request it answers is logged and measured
as any other, under the route's template, and outside the framework's own layers (``ServingApp``):
an error of its own is answered through the app's exception handlers too, a 500 included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from serpgate.accesslog import annotate_request
from serpgate.api import search as search_api
from serpgate.api.credentials import bearer_token
from serpgate.api.search import LANE_READING, search_params
from serpgate.api.services import Services, base_url_of
from serpgate.errors import SerpgateError
from serpgate.models.params import SearchParams
from serpgate.search import Answer, SearchService
from serpgate.store.base import StoreUnavailable
from serpgate.traffic.cache import cache_key
from serpgate.traffic.lru import LocalLRU

# The route's own objects, by path: the access log names a request by its route's template.
_ROUTES = {route.path: route for route in search_api.router.routes if isinstance(route, Route)}
SEARCH_PATHS = frozenset(_ROUTES)
# Query strings remembered: as many as the answers held in memory, each for as long as a key's
# authentication is (a setting changed by a restart only, so the bound is about memory).
REMEMBERED = 4096
REMEMBERED_BYTES = 16 * 1024 * 1024
REMEMBERED_SECONDS = 300.0
# A key as SearchParams accepts one: its own field's constraints.
_KEY: TypeAdapter[str] = TypeAdapter(Annotated[str, *SearchParams.model_fields["api_key"].metadata])
_KEY_NAMES = frozenset({b"api_key", b"serp_api_key"})
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True, slots=True)
class _Read:
    """What the route read from one query string: the search, its cache key, the origin."""

    params: SearchParams
    key: str
    base_url: str


class FastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._reads: LocalLRU[tuple[Any, ...], _Read] = LocalLRU(
            REMEMBERED, REMEMBERED_BYTES, REMEMBERED_SECONDS
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in SEARCH_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            answer = await self._held(scope)
        except Exception as exc:  # answered as the app answers it, 500s too
            # This lane sits outside the app's own error middleware (``ServingApp``).
            await self._refuse(scope, receive, send, exc)
            return
        if answer is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTES[scope["path"]]
        response_headers = [
            _JSON,
            (b"content-length", str(len(answer.body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in answer.headers.items()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _held(self, scope: Scope) -> Answer | None:
        """The search's answer when it is held in memory; None, having counted nothing, when
        the route must answer. A refusal after admission began raises.

        Coroutines are awaited only where the work is not done already (the query's first
        reading, a key not yet known): a hit resumes every coroutine of its chain when Redis
        answers, and each one costs it."""
        state = getattr(scope.get("app"), "state", None)
        services: Services | None = getattr(state, "services", None)
        split = _cut_key(scope["query_string"])
        memo = _memo(scope, split[0]) if split is not None else None
        if services is None or split is None or memo is None:
            return None
        read = self._reads.get(memo)
        if read is None:
            read = await self._read(scope, services)
            if read is None:
                return None
            self._reads.put(memo, read, len(split[0]) + 256)
        key = _key(split[1], scope)
        if key is None:
            return None
        tenant = services.tenants.remembered(key)
        if tenant is None:
            try:
                tenant = await services.tenants.authenticate(key)
            except (SerpgateError, StoreUnavailable):
                return None
        annotate_request(tenant_id=tenant.id)
        answer = await services.search.answer_held(read.params, tenant, read.base_url, read.key)
        if answer is None:
            # Not held: the route answers, with this reading of the query (its own).
            scope[LANE_READING] = (read.params, read.base_url)
        return answer

    async def _read(self, scope: Scope, services: Services) -> _Read | None:
        """The route's reading of this query string, or None where it refuses it or where a
        held answer could not stand for the route's (then the route answers)."""
        request = Request(scope)
        try:
            params = await search_params(request, services)
        except (SerpgateError, ValidationError):  # refused: the route says why
            return None
        if not SearchService.may_answer_held(params):
            return None
        # Kept without the key it came with: the next request brings its own.
        params = params.model_copy(update={"api_key": None, "serp_api_key": None})
        return _Read(params, cache_key(params), base_url_of(request, services))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """The answer the app's exception handler gives ``exc`` on the route."""
        scope["route"] = _ROUTES[scope["path"]]
        handlers = scope["app"].exception_handlers
        handler = next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)
        response = await handler(Request(scope, receive), exc)
        await response(scope, receive, send)


def _memo(scope: Scope, rest: bytes) -> tuple[Any, ...] | None:
    """What a reading of the query string ``rest`` (the key cut out) is remembered under: the
    query and the origin it came to. None for a cross-origin request, which CORS, further in,
    answers."""
    host = None
    for name, value in scope["headers"]:
        if name == b"host" and host is None:
            host = value
        elif name == b"origin":
            return None
    return (
        scope["scheme"],
        host,
        scope.get("server"),
        scope.get("root_path", ""),
        scope.get("app_root_path"),
        rest,
    )


def _cut_key(query: bytes) -> tuple[bytes, bytes | None] | None:
    """The query string without its ``api_key`` piece, and that piece's raw value (None when
    there is none); None when the key is given in a way the route must judge (twice, or under
    another name too, or encoded in its name)."""
    pieces = query.split(b"&")
    found: int | None = None
    for index, piece in enumerate(pieces):
        name = piece.partition(b"=")[0]
        if name in _KEY_NAMES or b"%" in name or b"+" in name:
            if name != b"api_key" or found is not None:
                return None
            found = index
    if found is None:
        return query, None
    raw = pieces.pop(found).partition(b"=")[2]
    return b"&".join(pieces), raw


def _key(raw: bytes | None, scope: Scope) -> str | None:
    """The API key as the route reads it (from the query, else the bearer header), when it is
    one that ``SearchParams`` accepts; None sends the request to the route."""
    if raw is None:
        return bearer_token(Request(scope))
    key = unquote_plus(raw.decode("latin-1"))
    try:
        return _KEY.validate_python(key) or None
    except ValidationError:
        return None

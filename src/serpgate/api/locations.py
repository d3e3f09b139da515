"""``GET /locations.json``: SerpApi's Locations API, the places a Google search can be set at.

Like SerpApi's, it needs no API key: it reveals nothing about anyone. SerpApi's clients send
their own parameters along (``source``, ``engine``, ``output=json``); those are accepted and
ignored, anything else is a 400.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from serpgate.api.query import single_query
from serpgate.api.services import ServicesDep
from serpgate.errors import InvalidRequest
from serpgate.models.params import plain_decimal

router = APIRouter(tags=["locations"])

_IGNORED = frozenset({"source", "engine", "api_key", "serp_api_key"})
_DEFAULT_LIMIT = 10
_MAX_LIMIT = 100
_MAX_QUERY = 256


@router.get(
    "/locations.json",
    summary="Places a Google search can be set at (SerpApi's location objects)",
    responses={400: {"description": "A parameter is unsupported or malformed"}},
    openapi_extra={
        "parameters": [
            {
                "name": "q",
                "in": "query",
                "schema": {
                    "type": "string",
                    "maxLength": _MAX_QUERY,
                    "pattern": r"^[^\x00-\x1f\x7f]*$",  # no control characters
                },
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": _MAX_LIMIT},
            },
        ]
    },
)
async def locations(request: Request, services: ServicesDep) -> Response:
    query = single_query(request)
    unknown = sorted(query.keys() - {"q", "limit", "output"} - _IGNORED)
    if unknown:
        raise InvalidRequest(f"unsupported parameter {unknown[0][:64]!r}")
    if query.get("output", "json") != "json":
        raise InvalidRequest("invalid value for parameter 'output': locations are JSON only")
    text = query.get("q", "")
    if len(text) > _MAX_QUERY:
        raise InvalidRequest(f"parameter 'q' is longer than {_MAX_QUERY} characters")
    limit = _limit(query.get("limit"))
    index = await services.locations.index()
    found = [place.as_serpapi() for place in index.search(text, limit)]
    return Response(orjson.dumps(found), media_type="application/json")


def _limit(value: str | None) -> int:
    if value is None:
        return _DEFAULT_LIMIT
    try:
        plain_decimal(value)
    except ValueError as exc:
        raise InvalidRequest(f"invalid value for parameter 'limit': {exc}") from None
    limit = int(value)
    if not 1 <= limit <= _MAX_LIMIT:
        raise InvalidRequest(f"invalid value for parameter 'limit': must be 1 to {_MAX_LIMIT}")
    return limit

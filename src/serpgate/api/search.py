"""``GET /search`` and ``/search.json``: run a search, answer SerpApi-shaped JSON (or the page).

The query string is validated by ``SearchParams`` itself rather than by FastAPI's query-model
machinery, which re-inspects every field's annotation on every request (a sixth of a cache hit's
time). The model sees what FastAPI would hand it (the last value of a repeated name, unknown
names as extras) and fails the same way, so answers and errors are unchanged, and so is the
OpenAPI description, built here from the model's schema, but for the 422 FastAPI listed, which
this service never answers (an invalid parameter is a 400). Each engine takes its own set of
parameters, under SerpApi's names for it (``EngineParameters``): the query is read through the
declaration of the engine it names, and a repeated name is refused (``single_query``). For the
same reason as the model, the route reads its services, key and parameters by plain calls
rather than as FastAPI dependencies: solving three dependencies per request cost a cache hit a
tenth of its time, and none of them adds anything to the OpenAPI description.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from serpgate.api.query import single_query
from serpgate.api.services import Services, base_url_of, get_services, get_tenant
from serpgate.models.params import SearchParams
from serpgate.models.response import SearchResponse
from serpgate.restrictor import JsonRestrictor

router = APIRouter(tags=["search"])

# Where ``FastLane`` leaves, for a search it passes on, its reading of the query string: the
# parameters (without the key) and the origin, read by the functions below, which the route then
# need not run again.
LANE_READING = "serpgate.reading"


async def search_params(request: Request, services: Services) -> SearchParams:
    """The query read as the engine it names takes it: its SerpApi names mapped onto serpgate's
    fields, anything it does not take refused (``EngineParameters``)."""
    query = single_query(request)
    name = query.get("engine")
    if name is None:
        return SearchParams.model_validate(query)  # refused: the engine is missing
    declared = type(services.search.engine(name)).parameters
    fields = declared.read(name, query)
    declared.check(name, fields, SearchParams.query_names())
    params = SearchParams.model_validate(fields)
    if params.location is None:
        return params
    # Placed as Google places it: by the canonical name of a known place, which uule carries.
    place = (await services.locations.index()).resolve(params.location)
    return params.model_copy(update={"location": place.canonical_name})


def _query_parameters() -> list[dict[str, object]]:
    """``SearchParams`` as OpenAPI query parameters, as FastAPI describes a query model."""
    schema = SearchParams.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema["properties"].items()
    ]


QUERY_DOCS: dict[str, object] = {"parameters": _query_parameters()}

ERRORS: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The results as JSON, or with output=html the page the engine answered",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    400: {"description": "A parameter is missing, unsupported, malformed or out of range"},
    401: {"description": "No API key, or an unknown or revoked one"},
    429: {"description": "A rate limit is spent (see Retry-After)"},
    502: {"description": "The engine blocked the search or answered something unusable"},
    503: {"description": "The engine is failing or the service is shedding load"},
    504: {"description": "The engine did not answer in time"},
}


@router.get(
    "/search",
    response_model=SearchResponse,
    responses=ERRORS,
    summary="Search an engine and get its result page as JSON",
    openapi_extra=QUERY_DOCS,
)
@router.get(
    "/search.json", response_model=SearchResponse, responses=ERRORS, include_in_schema=False
)
async def search(request: Request) -> Response:
    services = await get_services(request)
    tenant = await get_tenant(request, services)
    # After the key: a bad key is a 401 whatever else is wrong.
    reading: tuple[SearchParams, str] | None = request.scope.get(LANE_READING)
    if reading is None:
        reading = await search_params(request, services), base_url_of(request, services)
    params, base_url = reading
    run = services.search.submit if params.async_ else services.search.search
    answer = await run(params, tenant, base_url)
    body = answer.body
    if params.json_restrictor and answer.media_type == "application/json":
        body = orjson.dumps(JsonRestrictor(params.json_restrictor).apply(orjson.loads(body)))
    return Response(body, headers=answer.headers, media_type=answer.media_type)

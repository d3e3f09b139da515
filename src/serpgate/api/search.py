"""``GET /search`` and ``/search.json``: run a search, answer SerpApi-shaped JSON (or the page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from serpgate.api.services import ServicesDep, TenantDep, base_url_of
from serpgate.models.params import SearchParams
from serpgate.models.response import SearchResponse

router = APIRouter(tags=["search"])

ERRORS: dict[int | str, dict[str, object]] = {
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
)
@router.get(
    "/search.json", response_model=SearchResponse, responses=ERRORS, include_in_schema=False
)
async def search(
    request: Request,
    params: Annotated[SearchParams, Query()],
    tenant: TenantDep,
    services: ServicesDep,
) -> Response:
    base_url = base_url_of(request, services)
    run = services.search.submit if params.async_ else services.search.search
    answer = await run(params, tenant, base_url)
    return Response(answer.body, headers=answer.headers, media_type=answer.media_type)

"""``GET /searches/{id}``: a search this tenant ran earlier, exactly as it was answered, or the
page it was read from.

``/searches/{id}.json`` (or no suffix) is the JSON answer; ``/searches/{id}.html``, or
``output=html`` on either, the engine's page as fetched. SerpApi's clients send their other
parameters along (the legacy one sends the whole search again); only ``output`` means anything
here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serpgate.api.query import single_query
from serpgate.api.services import ServicesDep, TenantDep
from serpgate.errors import InvalidRequest
from serpgate.models.response import SearchResponse

router = APIRouter(tags=["archive"])
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "An output other than json or html"},
    401: {"description": "No API key, or an unknown or revoked one"},
    404: {"description": "No search with that id for this API key, or no page kept for it"},
}
HTML: dict[str, object] = {"text/html": {"schema": {"type": "string"}}}


@router.get(
    "/searches/{search_id}",
    response_model=SearchResponse,
    responses={**ERRORS, 200: {"content": HTML}},
    summary="An archived search by id (.json), or the page it was read from (.html)",
    openapi_extra={
        "parameters": [
            {
                "name": "output",
                "in": "query",
                "schema": {"type": "string", "enum": ["json", "html"]},
            }
        ]
    },
)
async def archived_search(
    search_id: str, request: Request, tenant: TenantDep, services: ServicesDep
) -> Response:
    output = single_query(request).get("output")
    if output not in (None, "json", "html"):
        raise InvalidRequest("invalid value for parameter 'output': must be json or html")
    if search_id.endswith(".html"):
        search_id, output = search_id.removesuffix(".html"), "html"
    search_id = search_id.removesuffix(".json")
    if output == "html":
        page = await services.archive.load_page(tenant.id, search_id)
        return Response(page, media_type="text/html; charset=utf-8")
    body = await services.archive.load(tenant.id, search_id)
    return Response(body, media_type="application/json")

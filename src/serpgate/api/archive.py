"""``GET /searches/{id}``: a search this tenant ran earlier, exactly as it was answered."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from serpgate.api.services import ServicesDep, TenantDep
from serpgate.models.response import SearchResponse

router = APIRouter(tags=["archive"])
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "No API key, or an unknown or revoked one"},
    404: {"description": "No search with that id for this API key"},
}


@router.get(
    "/searches/{search_id}",
    response_model=SearchResponse,
    responses=ERRORS,
    summary="An archived search by id (also at /searches/{id}.json)",
)
async def archived_search(search_id: str, tenant: TenantDep, services: ServicesDep) -> Response:
    search_id = search_id.removesuffix(".json")
    body = await services.archive.load(tenant.id, search_id)
    return Response(body, media_type="application/json")

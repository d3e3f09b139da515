"""``POST /searches`` takes a batch of async searches; ``GET /searches?batch=ID`` pages them.

A batch is a JSON list of parameter sets, each what ``GET /search`` takes in its query string. Each
is admitted in order exactly as if it had been sent alone with ``async=true`` (rate limits, then
the quota when its fetch starts): the answer (202 for any well-formed batch) lists the ids of
those accepted and, for those refused, their index and the error they would have got. An entry with
bad parameters refuses only itself.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from serpgate.api.errors import describe, json_response
from serpgate.api.services import ServicesDep, TenantDep, base_url_of
from serpgate.errors import InvalidRequest, SerpgateError
from serpgate.models.params import SearchParams

router = APIRouter(tags=["batches"])
PAGE_MAX = 500

ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "The body is not a JSON list of parameter objects, or too long"},
    401: {"description": "No API key, or an unknown or revoked one"},
}


def _entry(item: dict[str, object]) -> SearchParams | SerpgateError:
    try:
        return SearchParams.model_validate({**item, "async": True})
    except ValidationError as exc:
        return InvalidRequest(describe(exc.errors()))


BODY: dict[str, object] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1000,
                    "items": {"type": "object", "description": "GET /search's parameters"},
                }
            }
        },
    }
}


@router.post(
    "/searches",
    status_code=202,
    responses=ERRORS,
    openapi_extra=BODY,
    # Out of the OpenAPI document until the schemathesis run passes on it (oversized bodies
    # meet the edge's 431, and a body over batch_max is refused with 400): docs/async.md.
    include_in_schema=False,
    summary="Submit up to queue.batch_max async searches at once; their ids come back at once",
)
async def submit_batch(request: Request, tenant: TenantDep, services: ServicesDep) -> Response:
    limit = services.settings.queue.batch_max
    try:
        items = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidRequest("the body must be a JSON list of search parameter objects") from None
    if not isinstance(items, list) or not items:
        raise InvalidRequest("the body must be a non-empty JSON list of search parameter objects")
    if len(items) > limit:
        raise InvalidRequest(f"a batch holds at most {limit} searches; this one has {len(items)}")
    if not all(isinstance(item, dict) for item in items):
        raise InvalidRequest("each search in the list must be a JSON object of parameters")
    base_url = base_url_of(request, services)
    ids, refused = await services.search.submit_many(
        [_entry(item) for item in items], tenant, base_url
    )
    batch_id = "b_" + secrets.token_hex(10)
    reasons: list[dict[str, object]] = [
        {"index": r.index, "status": r.error.status_code, "error": r.error.message} for r in refused
    ]
    await services.batches.save(tenant.id, batch_id, ids, reasons)
    return json_response(
        {
            "batch_id": batch_id,
            "accepted": len(ids),
            "search_ids": ids,
            "refused": reasons,
            "states": f"{base_url}/searches?batch={batch_id}",
        },
        202,
    )


@router.get(
    "/searches",
    responses={**ERRORS, 404: {"description": "No batch with that id for this API key"}},
    summary="The states of a batch's searches, a page at a time",
)
async def batch_states(
    request: Request,
    tenant: TenantDep,
    services: ServicesDep,
    batch: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
) -> Response:
    record = await services.batches.load(tenant.id, batch)
    ids = [str(i) for i in record["ids"]]
    page = ids[offset : offset + limit]
    bodies = await services.archive.load_many(tenant.id, page)
    base_url = base_url_of(request, services)
    searches = []
    for search_id, body in zip(page, bodies, strict=True):
        status = orjson.loads(body)["search_metadata"]["status"] if body else "Expired"
        searches.append(
            {
                "id": search_id,
                "status": status,
                "json_endpoint": f"{base_url}/searches/{search_id}.json",
            }
        )
    following = offset + limit
    return json_response(
        {
            "batch_id": batch,
            "total": len(ids),
            "offset": offset,
            "searches": searches,
            "refused": record["refused"] if offset == 0 else [],
            "next": (
                f"{base_url}/searches?batch={batch}&offset={following}&limit={limit}"
                if following < len(ids)
                else None
            ),
        }
    )

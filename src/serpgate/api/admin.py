"""``GET /admin/upstream``: exits, breakers, budgets, attempt counts and transports, for operators.

``transports`` shows each engine's transport, its fetches by the way they went (the browser's
share of a walled engine's searches among them) and the browser pool's state.

Answered only to a caller bearing ``SERPGATE_ADMIN_KEY`` (``Authorization: Bearer`` or
``admin_key=``); without the setting the endpoint does not exist (404), so nothing about the
proxy pool is ever shown to tenants. Proxy credentials never appear: exits go by masked labels.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serpgate.api.credentials import bearer_token
from serpgate.api.errors import json_response
from serpgate.api.services import ServicesDep
from serpgate.errors import AuthenticationError, NotFound

router = APIRouter(tags=["operators"])


@router.get(
    "/admin/upstream",
    summary="Proxy pool, circuit breakers, retry budgets and attempt counts (admin key)",
    responses={401: {"description": "Missing or wrong admin key"}, 404: {"description": "Off"}},
)
async def upstream_state(request: Request, services: ServicesDep) -> Response:
    configured = services.settings.admin_key
    if configured is None:
        raise NotFound("not found")
    given = bearer_token(request) or request.query_params.get("admin_key", "")
    if not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
        raise AuthenticationError("this endpoint needs the admin key")
    document = {**services.fetcher.snapshot(), "transports": services.transports.snapshot()}
    return json_response(document)

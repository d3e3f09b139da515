"""``GET /metrics``: the Prometheus exposition, for operators only.

Metrics name engines, proxies and traffic levels: nothing a client should read. A scrape is
answered when it comes from an allowed network or carries the metrics token as a bearer token;
everything else gets a 403, and with metrics disabled the route answers 404 like any unknown path.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serpgate.api.credentials import bearer_token
from serpgate.api.errors import error_response
from serpgate.api.services import ServicesDep
from serpgate.metrics import CONTENT_TYPE, Metrics
from serpgate.settings import MetricsSettings

router = APIRouter(tags=["operations"])


def may_scrape(request: Request, settings: MetricsSettings) -> bool:
    token, expected = bearer_token(request), settings.token
    if (
        token
        and expected
        and hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        return True
    if request.client is None:
        return False
    try:
        client = ip_address(request.client.host)
    except ValueError:
        return False
    return any(client in network for network in settings.allow_from)


@router.get(
    "/metrics",
    summary="Prometheus metrics (allowed networks or the metrics token only)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "The text exposition format"},
        403: {"description": "Not from an allowed network and no valid metrics token"},
        404: {"description": "Metrics are disabled"},
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    settings = services.settings.metrics
    if not settings.enabled:
        return error_response(404, "not found")
    if not may_scrape(request, settings):
        return error_response(403, "metrics are served to allowed networks or with the token")
    collected: Metrics = request.app.state.metrics
    return Response(collected.render(), media_type=CONTENT_TYPE)

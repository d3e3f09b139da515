"""``/healthz`` says the process is alive; ``/readyz`` says whether it can serve searches.

``/readyz`` also answers 503 while the process drains after SIGTERM, so that a load balancer stops
sending it work before it stops accepting (``serpgate.lifecycle``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from serpgate.api.errors import json_response
from serpgate.api.services import ServicesDep
from serpgate.lifecycle import Lifecycle
from serpgate.store.base import StoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: ready, degraded (store unreachable, still serving) or unavailable",
    responses={503: {"description": "No engine is configured, or the process is draining"}},
)
async def readyz(request: Request, services: ServicesDep) -> Response:
    """200 while this process can answer searches, even degraded; 503 only when it cannot.

    So does a missing Chromium: the engines that need it answer 503 naming it, the rest serve.
    A Redis outage hits every replica alike, and each one still answers (limits fall back,
    cache reads miss), so it reads "degraded" with a 200: a 503 would take them all out of the
    load balancer at once and turn a degraded service into none.
    """
    status = "ready"
    document: dict[str, object] = {"engines": sorted(services.search.engines)}
    try:
        await services.store.ping()
        document["store"] = "ok"
    except StoreUnavailable as exc:
        document["store"] = str(exc)
        status = "degraded"
    document["traffic"] = services.traffic.snapshot()
    # Engines that need Chromium answer 503 without it; the others still serve: degraded.
    browser = services.transports.readiness()
    document["browser"] = browser
    if "missing" in browser:
        status = "degraded"
    lifecycle: Lifecycle = request.app.state.lifecycle
    if lifecycle.draining:
        document["shutdown"] = "draining"
        status = "unavailable"
    if not services.search.engines:
        status = "unavailable"
    return json_response({"status": status, **document}, 503 if status == "unavailable" else 200)

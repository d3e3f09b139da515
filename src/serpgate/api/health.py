"""``/healthz`` says the process is alive; ``/readyz`` says it can serve (its store answers).

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
    summary="Readiness: the store answers and engines are configured",
    responses={503: {"description": "A dependency is unreachable, or the process is draining"}},
)
async def readyz(request: Request, services: ServicesDep) -> Response:
    checks: dict[str, str] = {"engines": ", ".join(sorted(services.search.engines)) or "none"}
    ready = bool(services.search.engines)
    try:
        await services.store.ping()
        checks["store"] = "ok"
    except StoreUnavailable as exc:
        checks["store"] = str(exc)
        ready = False
    lifecycle: Lifecycle = request.app.state.lifecycle
    if lifecycle.draining:
        checks["shutdown"] = "draining"
        ready = False
    return json_response(
        {"status": "ready" if ready else "unavailable", **checks}, 200 if ready else 503
    )

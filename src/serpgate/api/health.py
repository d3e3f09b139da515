"""``/healthz`` says the process is alive; ``/readyz`` says it can serve (its store answers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from serpgate.api.errors import json_response
from serpgate.api.services import ServicesDep
from serpgate.store.base import StoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the store answers and engines are configured",
    responses={503: {"description": "A dependency is unreachable"}},
)
async def readyz(services: ServicesDep) -> Response:
    checks: dict[str, str] = {"engines": ", ".join(sorted(services.search.engines)) or "none"}
    ready = bool(services.search.engines)
    try:
        await services.store.ping()
        checks["store"] = "ok"
    except StoreUnavailable as exc:
        checks["store"] = str(exc)
        ready = False
    return json_response(
        {"status": "ready" if ready else "unavailable", **checks}, 200 if ready else 503
    )

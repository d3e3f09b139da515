"""What the routes need, built once by the lifespan, and the dependencies that hand it to them.

Routes stay thin: they read ``Services`` and the caller's ``Tenant`` through these dependencies
and never construct anything themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from serpgate.accesslog import annotate_request
from serpgate.api.credentials import bearer_token
from serpgate.api.query import single_query
from serpgate.archive import SearchArchive
from serpgate.batches import BatchLog
from serpgate.jobs.fairqueue import FairRedisQueue
from serpgate.locations import Locations
from serpgate.search import SearchService
from serpgate.settings import Settings
from serpgate.store.base import Store
from serpgate.traffic.layer import TrafficLayer
from serpgate.traffic.tenants import Tenant, TenantRegistry
from serpgate.upstream.fetcher import Fetcher
from serpgate.upstream.transports import EngineTransports
from serpgate.webhooks.tenants import TenantWebhooks


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    tenants: TenantRegistry
    archive: SearchArchive
    traffic: TrafficLayer
    search: SearchService
    fetcher: Fetcher
    transports: EngineTransports
    locations: Locations
    webhooks: TenantWebhooks
    batches: BatchLog
    # The job queue of async searches; None on the embedded store.
    queue: FairRedisQueue | None


async def get_services(request: Request) -> Services:
    # async, though it never awaits: FastAPI runs a plain-def dependency in a worker thread, and
    # that hop (and the GIL passed back and forth) cost a cache hit a third of its throughput.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def api_key_of(request: Request) -> str | None:
    """The key from ``api_key=`` (``serp_api_key=``, as SerpApi's legacy client names it when
    set on the class) or, failing that, ``Authorization: Bearer``."""
    query = single_query(request)
    key = query.get("api_key") or query.get("serp_api_key")
    if key:
        return key
    return bearer_token(request)


async def get_tenant(request: Request, services: ServicesDep) -> Tenant:
    tenant = await services.tenants.authenticate(api_key_of(request))
    annotate_request(tenant_id=tenant.id)
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]


def base_url_of(request: Request, services: Services) -> str:
    """This service's own origin for links in answers: the setting, else what the client used."""
    if services.settings.public_url:
        return services.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")

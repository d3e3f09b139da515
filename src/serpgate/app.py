"""``create_app(settings)``: the ASGI app; its lifespan builds and closes every resource.

Nothing is created at import time. The lifespan picks the store (Redis when ``redis_url`` is set,
else in memory), builds the engines from their configured base URLs, the upstream client, the
tenant registry, the archive and the search pipeline, and hands them to the routes as ``Services``.
With Redis it also runs the job queue's worker in this process (``queue.in_process``), so that one
``serpgate serve`` does everything; ``serpgate worker`` runs the same worker alone.

The metrics and the lifecycle exist from ``create_app`` on, because the middleware that records
every request and ``/readyz`` need them before the lifespan runs. The lifespan samples the event
loop's lag for as long as the app serves, and turns SIGTERM into a drain (``Lifecycle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from serpgate.accesslog import AccessLogMiddleware
from serpgate.api import (
    account,
    admin,
    archive,
    batches,
    health,
    locations,
    metrics,
    search,
    webhooks,
)
from serpgate.api.docs import install_docs
from serpgate.api.errors import install_error_handlers
from serpgate.api.fastlane import FastLane
from serpgate.api.openapi import engine_aware_openapi
from serpgate.api.services import Services
from serpgate.archive import SearchArchive
from serpgate.batches import BatchLog
from serpgate.clock import Clock
from serpgate.edge import HeadAsGet
from serpgate.engines.registry import ENGINE_TYPES, build_engines
from serpgate.jobs.worker import SearchQueue, SearchWorker, build_queue
from serpgate.lifecycle import Lifecycle
from serpgate.locations import Locations
from serpgate.metrics import Metrics
from serpgate.pagekeeper import PageKeeper
from serpgate.parsing import PageParser
from serpgate.search import SearchService
from serpgate.settings import Settings
from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.layer import TrafficLayer
from serpgate.traffic.tenants import TenantRegistry, parse_bootstrap_keys
from serpgate.upstream.fetcher import Fetcher
from serpgate.upstream.stats import UpstreamStats
from serpgate.upstream.transports import EngineTransports
from serpgate.webhooks.sender import WebhookSender
from serpgate.webhooks.tenants import TenantWebhooks

log = logging.getLogger("serpgate.app")


class ServingApp(FastAPI):
    """FastAPI with ``outermost`` middleware around its whole stack, error handling included.

    Starlette puts ``ServerErrorMiddleware`` outermost and FastAPI two layers of its own inside
    it, ahead of any middleware an app adds; each wraps ``send``. A cache hit that ``FastLane``
    answers needs none of them, and they cost it as much as its Redis round trip
    (docs/performance.md). Outside them, the access log also sees, and stamps with the request
    id, the 500 that ``ServerErrorMiddleware`` answers.
    """

    outermost: tuple[Middleware, ...] = ()

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.outermost):
            app = cls(app, *args, **kwargs)
        return app


def build_store(settings: Settings) -> Store:
    if settings.redis_url is None:
        return MemoryStore()
    return RedisStore.from_url(settings.redis_url.get_secret_value(), settings.key_prefix)


@asynccontextmanager
async def running_services(
    settings: Settings, metrics_: Metrics, clock: Clock | None = None
) -> AsyncIterator[Services]:
    """Every resource of one process, built in order and closed in reverse.

    Both the API server and ``serpgate worker`` run on these; with Redis the searches accepted
    here go on the job queue (``services.queue``), without it they run as tasks of this process.
    """
    bootstrap = parse_bootstrap_keys(
        settings.api_keys.get_secret_value() if settings.api_keys else "", settings.plans
    )
    store = build_store(settings)
    engines = build_engines(settings.engine_urls)
    transports = EngineTransports.build(
        settings.upstream, settings.browser, engines, metrics_.record_fetch
    )
    cache = settings.traffic.cache
    # A page is kept while any archived search can still be pointed at it by a cache entry.
    cache_life = cache.ttl * (1 + cache.ttl_jitter) + max(
        cache.stale_while_revalidate, cache.stale_if_error
    )
    archive_ = SearchArchive(store, settings.archive_ttl, settings.archive_ttl + cache_life)
    traffic = TrafficLayer.build(settings.traffic, store)
    tenants = TenantRegistry(store, settings.plans, bootstrap)
    parse = settings.parse
    parser = PageParser(
        parse.mode,
        parse.workers,
        parse.inline_below,
        metrics_.observe_parse,
        settings.workers,
        # The search being parsed is one request in flight; any other might wait on the loop.
        alone=(lambda: metrics_.requests_here <= 1) if parse.inline_when_alone else None,
    )
    fetcher = Fetcher.from_settings(
        settings.resilience,
        transports,
        stats=UpstreamStats(on_attempt=metrics_.record_attempt),
        parse=parser.parse,
        clock=clock,
    )
    keeper = PageKeeper(parse.unrecognized_dir, parse.unrecognized_keep)
    tenant_webhooks = TenantWebhooks(store)
    queue = None
    if settings.redis_url is not None:
        queue = build_queue(settings.redis_url.get_secret_value(), settings.key_prefix)
    service = SearchService(
        engines,
        fetcher,
        settings.upstream.deadline,
        archive_,
        tenants,
        traffic,
        metrics_,
        keeper,
        tenant_webhooks,
        WebhookSender(settings.webhooks),
        allow_private_webhooks=settings.webhooks.allow_private,
        queue=SearchQueue(queue, settings.queue) if queue is not None else None,
    )
    try:
        yield Services(
            settings=settings,
            store=store,
            tenants=tenants,
            archive=archive_,
            traffic=traffic,
            search=service,
            fetcher=fetcher,
            transports=transports,
            locations=Locations(),
            webhooks=tenant_webhooks,
            batches=BatchLog(store, settings.archive_ttl),
            queue=queue,
        )
    finally:
        # Each resource is closed whatever the others do: a queue that cannot reach a Redis that
        # is down must not leave the engines' connection pools open.
        closers: list[Callable[[], Awaitable[None] | None]] = [
            service.close,
            *([queue.disconnect] if queue is not None else []),
            traffic.aclose,
            parser.close,
            transports.close,
            store.close,
        ]
        for close in closers:
            try:
                result = close()
                if result is not None:
                    await result
            except Exception:  # logged; the rest still close
                log.exception("closing %s failed", getattr(close, "__qualname__", close))


def search_worker(services: Services) -> SearchWorker:
    """The queue's worker over these services (which must have a queue: Redis is set)."""
    assert services.queue is not None
    settings = services.settings
    return SearchWorker(
        services.queue,
        services.search.complete,
        settings.queue,
        grace_period=settings.shutdown.grace_period,
    )


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The service; ``clock`` is the upstream layer's time, shared with an in-process sandbox
    (``serpgate demo``, the reliability benchmark) so both run at one speed."""
    # Refuse bad keys at once, before the server binds, rather than in the lifespan.
    parse_bootstrap_keys(
        settings.api_keys.get_secret_value() if settings.api_keys else "", settings.plans
    )
    metrics_ = Metrics(cls.name for cls in ENGINE_TYPES)
    lifecycle = Lifecycle(settings.shutdown.drain_delay)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with running_services(settings, metrics_, clock) as services:
                app.state.services = services
                worker = None
                if services.queue is not None and settings.queue.in_process:
                    worker = search_worker(services)
                    worker.start()
                lag = asyncio.create_task(
                    metrics_.watch_event_loop(settings.metrics.loop_lag_interval)
                )
                # Everything built so far lives as long as the process: out of the collector's
                # sight, a full collection walks only what requests leave behind (12 ms instead
                # of 170 ms, a pause every few thousand cache hits: docs/performance.md).
                gc.freeze()
                try:
                    with lifecycle.intercept_sigterm():
                        yield
                finally:
                    lag.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await lag
                    if worker is not None:
                        await worker.stop()
        finally:
            metrics_.close()

    app = ServingApp(
        title="serpgate",
        summary="Search-engine result pages as typed JSON, in SerpApi's shape.",
        version=version("serpgate"),
        lifespan=lifespan,
        docs_url=None,  # served from local files by serpgate.api.docs, never from a CDN
        redoc_url=None,
        # serpgate reports through its own Prometheus metrics and JSON log lines. FastAPI's
        # OpenTelemetry hooks, left on, look up the global OTel providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.metrics = metrics_
    app.state.lifecycle = lifecycle
    install_error_handlers(app)
    install_docs(app)
    app.openapi = engine_aware_openapi(app, ENGINE_TYPES)  # type: ignore[method-assign]  # FastAPI's documented way to replace the document
    for module in (search, archive, batches, locations, account, webhooks, health, metrics, admin):
        app.include_router(module.router)
    app.add_middleware(HeadAsGet)
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Authorization"],
            expose_headers=["Retry-After", "X-Request-Id"],
            max_age=600,
        )
    # The lane inside the access log, so that what it answers is logged and measured like the
    # rest; both outside the framework's own layers, which a hit does not need.
    app.outermost = (Middleware(AccessLogMiddleware, metrics=metrics_), Middleware(FastLane))
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers): settings from the environment."""
    return create_app(Settings())

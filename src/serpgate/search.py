"""``SearchService``: the request path of one search, top to bottom, in one place.

Authentication and parameter validation happen at the edge (the API layer); from there a search
is: pick the engine, fetch the page, parse it, build the answer in SerpApi's shape, archive it,
count it. Each step is an object handed in by the app's lifespan, so tests and later features
(cache, coalescing, retries) slot in without this module knowing how they work.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson

from serpgate.archive import SearchArchive
from serpgate.engines.base import Engine
from serpgate.errors import FatalUpstreamError, InvalidRequest, SerpgateError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpapiPagination, SerpData
from serpgate.parsing import PageParser
from serpgate.traffic.tenants import Tenant
from serpgate.traffic.usage import UsageMeter
from serpgate.upstream.client import UpstreamClient


@dataclass(frozen=True, slots=True)
class Answer:
    """A finished search: the JSON body as sent, and the raw page for ``output=html``."""

    search_id: str
    body: bytes
    html: str


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class SearchService:
    def __init__(
        self,
        engines: Mapping[str, Engine],
        client: UpstreamClient,
        archive: SearchArchive,
        usage: UsageMeter,
        parser: PageParser,
    ) -> None:
        self.engines = engines
        self._parser = parser
        self._client = client
        self._archive = archive
        self._usage = usage
        self._background: set[asyncio.Task[None]] = set()

    def engine(self, name: str) -> Engine:
        try:
            return self.engines[name]
        except KeyError:
            known = ", ".join(sorted(self.engines))
            raise InvalidRequest(f"unsupported engine {name!r}; engines: {known}") from None

    async def search(self, params: SearchParams, tenant: Tenant, base_url: str) -> Answer:
        """Run the search now; raises a ``SerpgateError`` when no answer can be given."""
        engine = self.engine(params.engine)
        search_id = secrets.token_hex(12)
        return await self._run(engine, params, tenant, base_url, search_id, utc_now())

    async def submit(self, params: SearchParams, tenant: Tenant, base_url: str) -> bytes:
        """``async=true``: archive a Processing record, search in the background, answer at once."""
        engine = self.engine(params.engine)
        search_id, created = secrets.token_hex(12), utc_now()
        body = render_answer(search_id, params, base_url, created, status="Processing")
        await self._archive.save(tenant.id, search_id, body)
        task = asyncio.create_task(
            self._run_archiving_errors(engine, params, tenant, base_url, search_id, created)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return body

    async def _run_archiving_errors(
        self,
        engine: Engine,
        params: SearchParams,
        tenant: Tenant,
        base_url: str,
        search_id: str,
        created: str,
    ) -> None:
        try:
            await self._run(engine, params, tenant, base_url, search_id, created)
        except SerpgateError as exc:
            body = render_answer(search_id, params, base_url, created, status="Error", error=exc)
            await self._archive.save(tenant.id, search_id, body)

    async def _run(
        self,
        engine: Engine,
        params: SearchParams,
        tenant: Tenant,
        base_url: str,
        search_id: str,
        created: str,
    ) -> Answer:
        started = time.perf_counter()
        request = engine.build_request(params)
        raw = await self._client.send(engine.name, request)
        if raw.status >= 400:
            raise FatalUpstreamError(f"{engine.name} answered HTTP {raw.status}")
        data = await self._parser.parse(engine, raw.body, params)
        body = render_answer(
            search_id,
            params,
            base_url,
            created,
            status="Success",
            data=data,
            attempts=1,
            elapsed=time.perf_counter() - started,
            engine_url=request.url,
        )
        await self._archive.save(tenant.id, search_id, body)
        await self._usage.record(tenant.id)
        return Answer(search_id=search_id, body=body, html=raw.body)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def render_answer(
    search_id: str,
    params: SearchParams,
    base_url: str,
    created: str,
    *,
    status: str,
    data: SerpData | None = None,
    error: SerpgateError | None = None,
    attempts: int = 0,
    elapsed: float | None = None,
    engine_url: str | None = None,
) -> bytes:
    """The response JSON in SerpApi's shape, metadata first, absent blocks left out."""
    metadata: dict[str, object] = {
        "id": search_id,
        "status": status,
        "json_endpoint": f"{base_url}/searches/{search_id}.json",
        "created_at": created,
        "cached": False,
        "attempts": attempts,
    }
    if status != "Processing":
        metadata["processed_at"] = utc_now()
    if elapsed is not None:
        metadata["total_time_taken"] = round(elapsed, 3)
    if engine_url is not None:
        metadata["engine_url"] = engine_url
    document: dict[str, object] = {
        "search_metadata": metadata,
        "search_parameters": params.echo(),
    }
    if data is not None:
        document.update(data.model_dump(mode="json", exclude_none=True))
        pagination = serpapi_pagination(params, data, base_url)
        if pagination is not None:
            document["serpapi_pagination"] = pagination.model_dump(exclude_none=True)
    if error is not None:
        document["error"] = error.message
    return orjson.dumps(document)


def serpapi_pagination(
    params: SearchParams, data: SerpData, base_url: str
) -> SerpapiPagination | None:
    """Links to this service for the pages the engine offered; the API key is never in them."""
    if data.pagination is None:
        return None
    echo = {k: v for k, v in params.echo().items() if k not in {"start", "no_cache", "async"}}

    def link(page: int) -> str:
        query = {**echo, "start": (page - 1) * params.num} if page > 1 else echo
        return f"{base_url}/search.json?{urlencode(query)}"

    current = params.page
    others = {
        str(n): link(n)
        for n in sorted(int(p) for p in (data.pagination.other_pages or {}) if p.isdigit())
        if n != current
    }
    has_next = data.pagination.next is not None
    return SerpapiPagination(
        current=current,
        next_link=link(current + 1) if has_next else None,
        next=link(current + 1) if has_next else None,
        other_pages=others or None,
    )

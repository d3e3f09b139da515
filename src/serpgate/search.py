"""``SearchService``: the request path of one search, top to bottom, in one place.

Authentication and parameter validation happen at the edge (the API layer). From there a search
is: admit it (rate limits, then the monthly quota), answer it from the cache or fetch, parse and
cache it (identical searches in flight share one fetch), wrap it in this request's metadata,
archive it, and charge the quota if it cost an upstream fetch. Each step is an object handed in
by the app's lifespan.

The cache holds what every identical search shares, the parsed blocks, as ready JSON bytes
behind a one-line header (``encode_entry``). Each answer splices its own metadata and parameters
in front (``render_answer``), so a cache hit never hands out another request's search id and
never re-encodes the results.

A fresh hit held in this process's memory is known before any I/O, so its answer is rendered
first and the rate limiter admits it and archives it in one Redis round trip (the archive write
made only if admitted). Every other search is admitted first and archived after.
An async search (``submit``) is admitted and archived as Processing at once; ``complete`` finishes
it later, on a queue worker (with Redis) or as a task of this process (without), and pushes it to
its webhook. ``complete`` may run twice for one search (a worker died): it looks at the archive
first, so neither the search nor a taken webhook is done twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

from serpgate.accesslog import annotate_request
from serpgate.archive import SearchArchive, Tail, pack_page
from serpgate.engines.base import Engine
from serpgate.errors import (
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    SerpgateError,
    UnrecognizedPage,
)
from serpgate.jobs.searchjob import SearchJob
from serpgate.jobs.worker import SearchQueue
from serpgate.metrics import Metrics
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpapiPagination, SerpData
from serpgate.pagekeeper import PageKeeper
from serpgate.secondtext import SecondText
from serpgate.store.base import StoreUnavailable, StoreWrite
from serpgate.traffic.cache import cache_key
from serpgate.traffic.layer import TrafficLayer
from serpgate.traffic.lru import LocalLRU
from serpgate.traffic.ratelimit import plan_limits
from serpgate.traffic.readthrough import Served
from serpgate.traffic.tenants import Tenant, TenantRegistry
from serpgate.upstream.client import RawResponse
from serpgate.upstream.fetcher import Fetcher
from serpgate.webhooks.guard import RefusedTarget, check_literal
from serpgate.webhooks.sender import Attempt, WebhookSender
from serpgate.webhooks.tenants import TenantWebhooks

log = logging.getLogger("serpgate.search")

# Bounds of the rendered tails kept (see ``SearchService._tail``): as many as the local cache
# holds entries, each kept no longer than it could be fresh there.
TAIL_ENTRIES = 1024
TAIL_BYTES = 64 * 1024 * 1024
TAIL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Answer:
    """A finished search: the JSON body as sent, or the raw page for ``output=html``."""

    search_id: str
    body: bytes
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def new_search_id() -> str:
    """24 hex digits naming one search. Unique, not secret: an id is looked up only under the
    API key that made it (another key's id is a 404). So ``random`` (seeded from the system and
    reseeded in every forked worker), not ``secrets``: os.urandom's system call hands the GIL to
    the log writer thread on every cache hit."""
    return f"{random.getrandbits(96):024x}"


# SerpApi's form of a time, as ``created_at`` and ``processed_at`` give it.
_serpapi_time = SecondText(
    lambda second: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(second))
)


def utc_now() -> str:
    return _serpapi_time(int(time.time()))


@dataclass(frozen=True, slots=True)
class _Shared:
    """What every hit of one cache entry shares (``SearchService._shared``)."""

    entry: bytes
    header: dict[str, Any]
    tail: Tail

    @property
    def page_id(self) -> str | None:
        return _page_id(self.header)


@dataclass(frozen=True, slots=True)
class Refused:
    """A search of a batch that was not accepted, and why."""

    index: int
    error: SerpgateError


class SearchService:
    def __init__(
        self,
        engines: Mapping[str, Engine],
        fetcher: Fetcher,
        deadline: float,
        archive: SearchArchive,
        tenants: TenantRegistry,
        traffic: TrafficLayer,
        metrics: Metrics,
        keeper: PageKeeper,
        webhooks: TenantWebhooks,
        sender: WebhookSender,
        *,
        allow_private_webhooks: bool = False,
        queue: SearchQueue | None = None,
    ) -> None:
        self.engines = engines
        self._fetcher = fetcher
        self._deadline = deadline
        self._archive = archive
        self._tenants = tenants
        self._traffic = traffic
        self._metrics = metrics
        self._keeper = keeper
        self._webhooks = webhooks
        self._sender = sender
        self._allow_private = allow_private_webhooks
        # None: the embedded store, whose async searches run as tasks of this process.
        self._queue = queue
        self._background: set[asyncio.Task[None]] = set()
        # Hot searches' answers after their metadata (parameters, pagination, blocks), so a
        # repeat splices ready bytes. Per entry: a refreshed entry is a new object.
        self._tails: LocalLRU[tuple[str, str], _Shared] = LocalLRU(
            TAIL_ENTRIES, TAIL_BYTES, TAIL_SECONDS
        )

    def engine(self, name: str) -> Engine:
        try:
            return self.engines[name]
        except KeyError:
            known = ", ".join(sorted(self.engines))
            raise InvalidRequest(f"unsupported engine {name!r}; engines: {known}") from None

    async def search(self, params: SearchParams, tenant: Tenant, base_url: str) -> Answer:
        """Run the search now; raises a ``SerpgateError`` when no answer can be given."""
        engine = self.engine(params.engine)
        if params.webhook is not None:
            raise InvalidRequest("webhook applies to async searches: add async=true")
        search_id = new_search_id()
        if params.output == "html":
            headers, _ = await self._admit(tenant)
            # The raw page is not cached (it is the large part); it still costs a search.
            async with self._admit_fetch(tenant):
                page, _ = await self._fetch_page(engine, params, tenant)
            await self._traffic.quota.record(tenant.id)
            return Answer(search_id, page.encoded(), "text/html; charset=utf-8", headers)
        key = cache_key(params)
        if self.may_answer_held(params):
            held = await self._answer_held(engine, params, tenant, base_url, search_id, key)
            if held is not None:
                return held
        headers, _ = await self._admit(tenant)
        body = await self._answer(engine, params, tenant, base_url, search_id, utc_now(), key)
        return Answer(search_id, body, headers=headers)

    @staticmethod
    def may_answer_held(params: SearchParams) -> bool:
        """Whether a fresh hit held in memory may answer ``params`` (``answer_held``).

        The held path archives every answer and reuses its search_parameters per cache key: not
        for a search that must leave no trace or echoes a json_restrictor, nor for one that is
        not an ordinary JSON search now.
        """
        return not (
            params.no_cache
            or params.zero_trace
            or params.json_restrictor
            or params.async_
            or params.webhook is not None
            or params.output != "json"
        )

    def answer_held(
        self, params: SearchParams, tenant: Tenant, base_url: str, key: str
    ) -> Awaitable[Answer | None]:
        """``search``'s answer when a fresh hit for ``key`` (``cache_key(params)``) is held in
        this process's memory and ``may_answer_held(params)``; else None, having done nothing.

        The coroutine of ``_answer_held`` itself, not one more around it: a cache hit resumes
        every coroutine of its chain when Redis answers."""
        engine = self.engine(params.engine)
        return self._answer_held(engine, params, tenant, base_url, new_search_id(), key)

    async def _answer_held(
        self,
        engine: Engine,
        params: SearchParams,
        tenant: Tenant,
        base_url: str,
        search_id: str,
        key: str,
    ) -> Answer | None:
        """A fresh hit from this process's memory: rendered, then admitted and archived at once.

        None when there is none (the search then takes the ordinary path). A refused search
        raises as it would there, and nothing of it is archived or counted as a cache lookup.
        """
        started = time.perf_counter()
        served = self._traffic.answers.peek(key)
        if served is None:
            return None
        shared = self._shared(key, params, base_url, served.body)
        tail = shared.tail
        head = render_head(
            search_id,
            params,
            base_url,
            utc_now(),
            status="Success",
            entry=served.body,
            served=served,
            elapsed=time.perf_counter() - started,
            header=shared.header,
        )
        # Archived as its head and a reference to the tail, which all hits of the entry share.
        write = self._archive.write_hit(tenant.id, search_id, head, tail, shared.page_id)
        headers, stored = await self._admit(tenant, then_store=write)
        self._record_served(engine.name, served)
        if stored:
            self._archive.stored(write)
        else:
            try:
                await self._archive.save_hit(write, tail)
            except StoreUnavailable as exc:
                log.warning("search %s not archived: %s", search_id, exc)
        return Answer(search_id, head + tail.body, headers=headers)

    async def submit(self, params: SearchParams, tenant: Tenant, base_url: str) -> Answer:
        """``async=true``: admit, archive a Processing record, hand the search to a worker."""
        self.engine(params.engine)
        webhook = params.webhook or await self._webhooks.default_url(tenant.id)
        if webhook is not None:
            try:
                check_literal(webhook, allow_private=self._allow_private)
            except RefusedTarget as exc:
                raise InvalidRequest(str(exc)) from None
        headers, _ = await self._admit(tenant)
        search_id, created = new_search_id(), utc_now()
        body = render_answer(search_id, params, base_url, created, status="Processing")
        await self._archive.save(tenant.id, search_id, body)
        job = SearchJob(search_id, tenant, params, base_url, created, webhook)
        if self._queue is not None:
            await self._queue.enqueue(job)
        else:
            task = asyncio.create_task(self.complete(job))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return Answer(search_id, body, headers=headers)

    async def submit_many(
        self, batch: Sequence[SearchParams | SerpgateError], tenant: Tenant, base_url: str
    ) -> tuple[list[str], list[Refused]]:
        """A batch: each search admitted in order as if sent alone; ids and the refused."""
        accepted: list[str] = []
        refused: list[Refused] = []
        for index, params in enumerate(batch):
            if isinstance(params, SerpgateError):
                refused.append(Refused(index, params))
                continue
            try:
                params = params.model_copy(update={"async_": True})
                answer = await self.submit(params, tenant, base_url)
            except SerpgateError as exc:
                refused.append(Refused(index, exc))
            else:
                accepted.append(answer.search_id)
        return accepted, refused

    async def complete(self, job: SearchJob) -> None:
        """Run an accepted async search to its end and push it to its webhook; safe to repeat.

        What the archive already holds is not done again: a finished search is not searched
        again (its webhook is still sent if it was not taken yet), a taken webhook not resent.
        """
        tenant = job.tenant
        body = await self._archived(tenant.id, job.search_id)
        if body is None or orjson.loads(body)["search_metadata"]["status"] == "Processing":
            engine = self.engine(job.params.engine)
            args = (engine, job.params, tenant, job.base_url, job.search_id, job.created)
            try:
                body = await self._answer(*args, cache_key(job.params))
            except SerpgateError as exc:
                body = render_answer(
                    job.search_id, job.params, job.base_url, job.created, status="Error", error=exc
                )
                await self._archive_quietly(tenant.id, job.search_id, body)
        if job.webhook is not None:
            await self._push(job, body)

    async def _archived(self, tenant_id: str, search_id: str) -> bytes | None:
        try:
            return await self._archive.load(tenant_id, search_id)
        except NotFound:
            return None

    async def _push(self, job: SearchJob, body: bytes) -> None:
        """POST the finished search to its webhook, each attempt noted in the archive record.

        On the queue this makes one attempt and, if it failed and time remains, queues the same
        job again for when the next is due (under a key of its own): ``complete`` then finds the
        search done and only tries the webhook, and no worker waits out a failing receiver.
        """
        document = orjson.loads(body)
        record = document.pop("webhook", None) or {"url": job.webhook, "attempts": []}
        if record.get("state") in {"delivered", "failed"}:
            return
        payload = orjson.dumps(document)

        async def note(attempt: Attempt) -> None:
            record["attempts"].append(attempt.as_json())
            record["state"] = "delivered" if attempt.delivered else "retrying"
            await self._archive_quietly(
                job.tenant.id, job.search_id, orjson.dumps({**document, "webhook": record})
            )

        assert job.webhook is not None
        secret = await self._webhooks.secret(job.tenant.id)
        delivered: bool | None
        if self._queue is None:
            delivered = await self._sender.deliver(
                job.webhook, secret, payload, note, attempts_so_far=len(record["attempts"])
            )
        else:
            delivered = await self._attempt_once(self._queue, job, secret, payload, note, record)
        if delivered is False:
            record["state"] = "failed"
            await self._archive_quietly(
                job.tenant.id, job.search_id, orjson.dumps({**document, "webhook": record})
            )
            log.warning("webhook of search %s not delivered", job.search_id)

    async def _attempt_once(
        self,
        queue: SearchQueue,
        job: SearchJob,
        secret: str,
        payload: bytes,
        note: Callable[[Attempt], Awaitable[None]],
        record: dict[str, Any],
    ) -> bool | None:
        """One attempt; None when the next is queued for when it is due."""
        assert job.webhook is not None
        attempt = await self._sender.post(job.webhook, secret, payload)
        await note(attempt)
        if attempt.delivered:
            return True
        tried = len(record["attempts"])
        pause = (
            None if attempt.final else self._sender.pause(tried - 1, record["attempts"][0]["at"])
        )
        if pause is None:
            return False
        await queue.enqueue(job, after=pause, key=f"{job.search_id}:webhook:{tried}")
        return None

    async def _admit(
        self, tenant: Tenant, then_store: StoreWrite | None = None
    ) -> tuple[dict[str, str], bool]:
        """Rate limits count every search, cached or not; a refused one costs nothing more.

        The monthly quota is checked later, only where a search needs an upstream fetch. The
        headers to answer with, and whether ``then_store`` was made with the admission.
        """
        plan = self._tenants.plan_of(tenant)
        decision = await self._traffic.limiter.hit(
            tenant.id, plan_limits(plan), then_store=then_store
        )
        headers = decision.headers()
        if not decision.allowed:
            if decision.binding is not None:
                self._metrics.record_rate_limited(decision.binding.limit.name)
            refused = decision.error()
            refused.headers.update(headers)
            raise refused
        return headers, decision.stored

    @asynccontextmanager
    async def _admit_fetch(self, tenant: Tenant) -> AsyncIterator[None]:
        """Entered only by a search that must wait for a fetch: cached answers stay free."""
        traffic = self._traffic
        try:
            plan = self._tenants.plan_of(tenant)
            await traffic.quota.check(tenant.id, plan)
            cap = plan.in_flight_cap(traffic.in_flight_per_key)
            async with traffic.in_flight.slot(tenant.id, cap):
                yield
        except QuotaExceeded:
            self._metrics.record_rate_limited("month")
            raise
        except RateLimited:
            self._metrics.record_rate_limited("concurrency")
            raise

    async def _answer(
        self,
        engine: Engine,
        params: SearchParams,
        tenant: Tenant,
        base_url: str,
        search_id: str,
        created: str,
        key: str,
    ) -> bytes:
        started = time.perf_counter()
        traffic = self._traffic

        async def fetch() -> bytes:
            if params.zero_trace:
                _, entry = await self._fetch_page(engine, params, tenant)
                return entry
            # Each page is compressed for the archive while it parses (``PageParser``); the
            # last is the one read.
            packed: list[bytes] = []

            def pack(raw: RawResponse) -> None:
                packed.append(pack_page(raw.encoded()))

            _, entry = await self._fetch_page(engine, params, tenant, on_page=pack)
            page_id = secrets.token_hex(12)
            try:
                await self._archive.save_page(page_id, packed[-1])
            except StoreUnavailable as exc:
                log.warning("page of search %s not kept: %s", search_id, exc)
                return entry
            return with_page(entry, page_id)

        served = await traffic.answers.get(
            key,
            fetch,
            refresh=params.no_cache,
            admit=self._admit_fetch(tenant),
        )
        self._record_served(engine.name, served)
        body = render_answer(
            search_id,
            params,
            base_url,
            created,
            status="Success",
            entry=served.body,
            served=served,
            elapsed=time.perf_counter() - started,
        )
        # The archive copy and the quota's count are independent: sent together, one wait.
        writes: list[Awaitable[None]] = []
        if not params.zero_trace:
            writes.append(self._archive_quietly(tenant.id, search_id, body, page_of(served.body)))
        if served.fetched:
            writes.append(traffic.quota.record(tenant.id))
        await asyncio.gather(*writes)
        return body

    def _shared(self, key: str, params: SearchParams, base_url: str, entry: bytes) -> _Shared:
        """What every hit of ``entry`` shares, worked out once per entry, origin and cache key:
        the entry's header, and the answer after its metadata, rendered and digested.

        The cache key digests every field that changes the page; of the others, the tail shows
        only ``output``, ``no_cache`` and ``async``, which are ``json``, false and false on
        every search that gets here. So one key and origin always render one tail.
        """
        memo = self._tails.get((key, base_url))
        # By identity: the entry held in memory is one object for as long as it is held.
        if memo is not None and memo.entry is entry:
            return memo
        shared = _Shared(entry, entry_header(entry), Tail.of(render_tail(params, base_url, entry)))
        self._tails.put((key, base_url), shared, len(shared.tail.body))
        return shared

    def _record_served(self, engine: str, served: Served) -> None:
        outcome = {"cache": "hit", "stale": "stale", "stale-if-error": "stale"}.get(served.origin)
        self._metrics.record_cache(engine, outcome or "miss")
        if served.origin == "shared":
            self._metrics.record_coalesced(engine)
        annotate_request(cache=outcome or served.origin)
        if not served.fetched:
            annotate_request(attempts=0)

    async def _archive_quietly(
        self, tenant_id: str, search_id: str, body: bytes, page_id: str | None = None
    ) -> None:
        """Archive the answer; a store outage costs the archive copy, never the answer itself."""
        try:
            await self._archive.save(tenant_id, search_id, body, page_id)
        except StoreUnavailable as exc:
            log.warning("search %s not archived: %s", search_id, exc)

    async def _fetch_page(
        self,
        engine: Engine,
        params: SearchParams,
        tenant: Tenant,
        on_page: Callable[[RawResponse], object] | None = None,
    ) -> tuple[RawResponse, bytes]:
        """The page through the resilient upstream layer: the engine's answer and its cache entry.

        The tenant is named so that its failures weigh on its own breaker, not everyone's;
        ``on_page`` is the fetcher's (each page, beside its parse)."""
        try:
            outcome = await self._fetcher.fetch(
                engine,
                params,
                deadline=self._fetcher.now() + self._deadline,
                tenant=tenant.id,
                on_page=on_page,
            )
        except UnrecognizedPage as exc:
            # Raised, so neither cached nor charged; counted and kept, so that a new layout is
            # seen on its first page.
            self._metrics.record_unrecognized(engine.name)
            await self._keep(engine.name, exc)
            raise
        finally:
            self._publish_upstream(engine.name)
        annotate_request(attempts=outcome.attempts)
        return outcome.page, encode_entry(outcome.data, outcome.page.url, outcome.attempts)

    async def _keep(self, engine: str, error: UnrecognizedPage) -> None:
        if error.page is None:
            return
        path = await asyncio.to_thread(
            self._keeper.keep, engine, error.url, error.page, error.message
        )
        log.warning(
            "%s: unrecognised page%s: %s",
            engine,
            f" kept as {path}" if path is not None else "",
            error.message,
        )

    def _publish_upstream(self, engine: str) -> None:
        """Breaker and exit states for the metrics, refreshed whenever the engine was asked.

        Only this engine's view: the whole snapshot (every exit for every engine) costs
        milliseconds with hundreds of exits, too much to pay on every search."""
        view = self._fetcher.engine_view(engine)
        self._metrics.set_breaker_state(engine, view["breaker"])
        self._metrics.set_proxy_states(engine, view["exits"])
        capacity = view["capacity"]
        self._metrics.set_capacity(engine, capacity["sustainable_rate"], capacity["demand"])

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._sender.close()


def encode_entry(data: SerpData, engine_url: str | None, attempts: int) -> bytes:
    """One parsed page as cached: a JSON header line (what metadata needs), then the blocks."""
    pagination = data.pagination
    header = {
        "u": engine_url,
        "a": attempts,
        "next": pagination is not None and pagination.next is not None,
        "pages": sorted(
            int(p) for p in (pagination.other_pages or {} if pagination else {}) if p.isdigit()
        ),
    }
    blocks = orjson.dumps(data.model_dump(mode="json", exclude_none=True))
    return orjson.dumps(header) + b"\n" + blocks


def with_page(entry: bytes, page_id: str) -> bytes:
    """The cache entry naming the archived page it was parsed from (header key ``p``)."""
    head, _, blocks = entry.partition(b"\n")
    header = orjson.loads(head)
    header["p"] = page_id
    return orjson.dumps(header) + b"\n" + blocks


def entry_header(entry: bytes) -> dict[str, Any]:
    """A cache entry's first line: how it was fetched (``a``, ``u``), its page (``p``), its
    pagination (``next``, ``pages``)."""
    header: dict[str, Any] = orjson.loads(entry.partition(b"\n")[0])
    return header


def page_of(entry: bytes) -> str | None:
    """The id of the archived page a cache entry was parsed from, if it was kept."""
    return _page_id(entry_header(entry))


def _page_id(header: Mapping[str, Any]) -> str | None:
    page_id = header.get("p")
    return page_id if isinstance(page_id, str) else None


def render_answer(
    search_id: str,
    params: SearchParams,
    base_url: str,
    created: str,
    *,
    status: str,
    entry: bytes | None = None,
    served: Served | None = None,
    error: SerpgateError | None = None,
    elapsed: float | None = None,
) -> bytes:
    """The response JSON in SerpApi's shape: metadata first, then the page's blocks as cached.

    With an entry, that is ``render_head`` then ``render_tail``: everything after the metadata
    depends only on the parameters, this service's origin and the entry.
    """
    if entry is not None:
        head = render_head(
            search_id,
            params,
            base_url,
            created,
            status=status,
            entry=entry,
            served=served,
            elapsed=elapsed,
        )
        return head + render_tail(params, base_url, entry)
    metadata = _metadata(search_id, base_url, created, status, elapsed)
    metadata.update(cached=False, attempts=0)
    document: dict[str, object] = {"search_metadata": metadata, "search_parameters": params.echo()}
    if error is not None:
        document["error"] = error.message
    return orjson.dumps(document)


def _metadata(
    search_id: str, base_url: str, created: str, status: str, elapsed: float | None
) -> dict[str, object]:
    metadata: dict[str, object] = {
        "id": search_id,
        "status": status,
        "json_endpoint": f"{base_url}/searches/{search_id}.json",
        "created_at": created,
    }
    if status != "Processing":
        metadata["processed_at"] = utc_now()
    if elapsed is not None:
        metadata["total_time_taken"] = round(elapsed, 3)
    return metadata


def render_head(
    search_id: str,
    params: SearchParams,
    base_url: str,
    created: str,
    *,
    status: str,
    entry: bytes,
    served: Served | None = None,
    elapsed: float | None = None,
    header: Mapping[str, Any] | None = None,
) -> bytes:
    """``{"search_metadata":{…}``: the answer up to its tail, the part that is this search's own.
    ``header`` is the entry's (``entry_header``), where it was read already."""
    metadata = _metadata(search_id, base_url, created, status, elapsed)
    info = entry_header(entry) if header is None else header
    fetched = served is None or served.fetched
    metadata["cached"] = served is not None and served.from_cache
    if served is not None and served.origin == "stale-if-error":
        metadata["stale"] = True
    metadata["attempts"] = info["a"] if fetched else 0
    if info["u"]:
        metadata["engine_url"] = info["u"]
    if info.get("p") and not params.zero_trace:
        metadata["raw_html_file"] = f"{base_url}/searches/{search_id}.html"
    # The rest is spliced in after it as it is: no decoding and re-encoding of the results.
    return orjson.dumps({"search_metadata": metadata})[:-1]


def render_tail(params: SearchParams, base_url: str, entry: bytes) -> bytes:
    """``,"search_parameters":…,"serpapi_pagination":…,<the cached blocks>}``."""
    head, _, blocks = entry.partition(b"\n")
    info = orjson.loads(head)
    document: dict[str, object] = {"search_parameters": params.echo()}
    pagination = serpapi_pagination(params, info["next"], info["pages"], base_url)
    if pagination is not None:
        document["serpapi_pagination"] = pagination.model_dump(exclude_none=True)
    rest = blocks[1:]
    return b"," + orjson.dumps(document)[1:-1] + (b"," + rest if rest != b"}" else rest)


def serpapi_pagination(
    params: SearchParams, has_next: bool, pages: list[int], base_url: str
) -> SerpapiPagination | None:
    """Links to this service for the pages the engine offered; the API key is never in them."""
    if not has_next and not pages:
        return None
    echo = {k: v for k, v in params.echo().items() if k not in {"start", "no_cache", "async"}}
    # Encoded once: every link is the first page's plus its start (echo always holds engine and
    # q), the same string urlencode gives for the whole query, at a fraction of a cache hit's cost.
    first = f"{base_url}/search.json?{urlencode(echo)}"

    def link(page: int) -> str:
        return f"{first}&start={(page - 1) * params.num}" if page > 1 else first

    current = params.page
    others = {str(n): link(n) for n in pages if n != current}
    following = link(current + 1) if has_next else None
    # The page before this one is there whenever this one is not the first.
    preceding = link(current - 1) if current > 1 else None
    return SerpapiPagination(
        current=current,
        previous_link=preceding,
        previous=preceding,
        next_link=following,
        next=following,
        other_pages=others or None,
    )

"""``Fetcher``: one search's trip to an engine, through as many attempts as it may take.

Each attempt: ask the engine's breaker, choose an exit, send, judge the answer (``classify``),
and tell the pool, the breaker and the stats what happened. A blocked or transient attempt is
retried through a different exit, after a full-jitter backoff when the engine may be at fault
and at once when only the exit was, while the attempt limit and the caller's deadline allow;
the last attempt's error is what the caller gets. A fatal answer ends the search at once, since
every exit would get the same answer.

The retry budget (Envoy's) guards the engine against retry storms, so only retries after a
fault the engine may share (a 5xx, a timeout, a reset) spend it, and only while their attempt
is out: a retry after a dead proxy, a 403 or a CAPTCHA on one exit goes to another exit for
free, and a backoff sleep holds no slot.

Tenants are kept apart. The engine's breaker counts failures by tenant and opens only on broad
failure (see ``breaker``); each tenant also has a breaker of its own per engine, fed with how
its searches end, so that one whose searches keep failing is refused for a while, alone.

``Retry-After`` is honoured where it applies: the pool rests the exit it was said to, and when
it spoke of the engine (a 503) it is also a floor under the next delay. When every exit rests, a
search waits for the first one back if its deadline allows, and is refused with 503 and
``Retry-After`` if not.

Parsing happens here, because only the parser can tell a result page from a CAPTCHA served with
200, and it is one injected callable so that heavy pages can be parsed off the event loop later
without touching the loop below. Hedged attempts are not done: nothing measured yet says the tail
they cut is worth the retry budget they spend.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypedDict

from serpgate.clock import Clock
from serpgate.engines.base import Engine, UpstreamRequest
from serpgate.errors import ServiceUnavailable, UnrecognizedPage, UpstreamError, UpstreamTimeout
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from serpgate.settings import ResilienceSettings
from serpgate.upstream.backoff import FullJitterBackoff
from serpgate.upstream.breaker import BreakerSnapshot, CircuitBreaker, Permit
from serpgate.upstream.budget import RetryBudget
from serpgate.upstream.capacity import CapacitySnapshot
from serpgate.upstream.classify import OK, Outcome, Verdict, judge_answer, judge_error
from serpgate.upstream.client import RawResponse
from serpgate.upstream.proxies import Choice, Exit, Lease, PoolSnapshot, ProxyPool
from serpgate.upstream.retry import RetryPolicy
from serpgate.upstream.stats import StatsSnapshot, UpstreamStats

# A parser reads a page; the callable it is also given (if any) is other work on the page, which
# it runs on the event loop while the page parses elsewhere, or else before it parses.
Parser = Callable[
    [Engine, RawResponse, SearchParams, Callable[[], object] | None], Awaitable[SerpData]
]


async def parse_inline(
    engine: Engine,
    raw: RawResponse,
    params: SearchParams,
    beside: Callable[[], object] | None = None,
) -> SerpData:
    """The default parser: on the event loop, fine while pages are small."""
    if beside is not None:
        beside()
    return engine.parse_page(raw.content, raw.charset, params)


class Transport(Protocol):
    """What the fetcher needs of ``UpstreamClient``: one attempt, typed transient errors."""

    async def send(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None = None,
        time_left: float | None = None,
    ) -> RawResponse: ...


class EngineView(TypedDict):
    """One engine's state in brief, cheap enough to publish after every search."""

    breaker: str
    exits: dict[str, int]
    capacity: CapacitySnapshot


class FetcherSnapshot(TypedDict):
    proxies: PoolSnapshot
    capacity: dict[str, CapacitySnapshot]
    breakers: dict[str, BreakerSnapshot]
    budgets: dict[str, dict[str, int]]
    stats: StatsSnapshot


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """A search's page, read. ``proxy`` is the answering exit's label, None when direct."""

    data: SerpData
    page: RawResponse
    attempts: int
    proxy: str | None


@dataclass(slots=True)
class _Search:
    """One search's progress through its attempts."""

    engine: Engine
    params: SearchParams
    request: UpstreamRequest
    deadline: float
    tenant: str = ""
    tried: list[Exit] = field(default_factory=list)
    # Retries taken after a fault of the exit alone (see ``RetryPolicy``).
    exit_retries: int = 0
    verdict: Verdict | None = None
    last_ended: float = 0.0
    on_page: Callable[[RawResponse], object] | None = None

    @property
    def attempts(self) -> int:
        return len(self.tried)


class Fetcher:
    def __init__(
        self,
        transport: Transport,
        pool: ProxyPool,
        retry: RetryPolicy,
        new_breaker: Callable[[], CircuitBreaker],
        new_budget: Callable[[], RetryBudget],
        stats: UpstreamStats | None = None,
        new_tenant_breaker: Callable[[], CircuitBreaker] | None = None,
        parse: Parser = parse_inline,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        speed: float = 1.0,
    ) -> None:
        self.transport = transport
        self.pool = pool
        self.retry = retry
        self.stats = stats or UpstreamStats()
        self._new_breaker = new_breaker
        self._new_budget = new_budget
        self._new_tenant_breaker = new_tenant_breaker
        self._tenant_breakers: dict[tuple[str, str], CircuitBreaker] = {}
        self._parse = parse
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        # How much faster than real time the clock runs: the transport's timeouts are real.
        self._speed = speed
        self._breakers: dict[str, CircuitBreaker] = {}
        self._budgets: dict[str, RetryBudget] = {}

    @classmethod
    def from_settings(
        cls,
        settings: ResilienceSettings,
        transport: Transport,
        *,
        stats: UpstreamStats | None = None,
        parse: Parser = parse_inline,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> Fetcher:
        rng = rng or random.Random()
        clock = clock or Clock()
        now = clock.monotonic
        retry = settings.retry
        return cls(
            transport,
            pool=ProxyPool.from_settings(settings.proxies, now, rng),
            retry=RetryPolicy(
                retry.max_attempts,
                FullJitterBackoff(retry.backoff_base, retry.backoff_cap, rng),
                retry.exit_retries,
            ),
            new_breaker=lambda: CircuitBreaker(settings.breaker, now),
            new_budget=lambda: RetryBudget(retry.budget_ratio, retry.budget_min_retries),
            stats=stats,
            new_tenant_breaker=lambda: CircuitBreaker(settings.breaker.for_tenant(), now),
            parse=parse,
            clock=now,
            wall_clock=clock.time,
            sleep=clock.sleep,
            speed=clock.speed,
        )

    def now(self) -> float:
        """This fetcher's clock, on which ``fetch``'s deadline is given."""
        return self._clock()

    def breaker(self, engine: str) -> CircuitBreaker:
        breaker = self._breakers.get(engine)
        if breaker is None:
            breaker = self._breakers[engine] = self._new_breaker()
        return breaker

    def budget(self, engine: str) -> RetryBudget:
        budget = self._budgets.get(engine)
        if budget is None:
            budget = self._budgets[engine] = self._new_budget()
        return budget

    def tenant_breaker(self, engine: str, tenant: str) -> CircuitBreaker | None:
        """``tenant``'s own breaker for ``engine``; None when tenants are not told apart."""
        if self._new_tenant_breaker is None or not tenant:
            return None
        breaker = self._tenant_breakers.get((engine, tenant))
        if breaker is None:
            breaker = self._tenant_breakers[engine, tenant] = self._new_tenant_breaker()
        return breaker

    async def fetch(
        self,
        engine: Engine,
        params: SearchParams,
        deadline: float,
        tenant: str = "",
        on_page: Callable[[RawResponse], object] | None = None,
    ) -> FetchOutcome:
        """The engine's page for ``params``, read; ``deadline`` is on this fetcher's clock.

        ``on_page`` is given every page that is no block, while it parses in a pool or else
        just before it parses, so that other work on the page (compressing it for the
        archive) takes the time the search waits for its parse.

        Raises ``ServiceUnavailable`` while the engine's breaker, or ``tenant``'s own for it, is
        open (or every exit rests past the deadline), else the last attempt's ``UpstreamError``
        when no attempt succeeded.
        """
        own = self.tenant_breaker(engine.name, tenant)
        own_permit = own.acquire() if own is not None else None
        if own is not None and own_permit is None:
            self.stats.search(engine.name, "unavailable", 0)
            raise ServiceUnavailable(
                f"your searches on {engine.name} keep failing; slowing them for a while",
                own.retry_after(),
            )
        saturated = self.pool.saturated(engine.name)
        if saturated is not None:
            # Above what the exits sustain, an attempt only burns one more exit: say so at once.
            self.stats.search(engine.name, "unavailable", 0)
            self._settle_tenant(own, own_permit, None)
            raise ServiceUnavailable(
                f"pool saturated for {engine.name}: more searches than its exits sustain",
                saturated,
            )
        search = _Search(
            engine, params, engine.build_request(params), deadline, tenant, on_page=on_page
        )
        budget = self.budget(engine.name)
        budget.start_request()
        try:
            outcome = await self._run(search, budget)
        except ServiceUnavailable:
            self.stats.search(engine.name, "unavailable", search.attempts)
            self._settle_tenant(own, own_permit, None)
            raise
        except UpstreamError:
            ended = search.verdict.outcome.value if search.verdict else Outcome.FATAL.value
            self.stats.search(engine.name, ended, search.attempts)
            self._settle_tenant(own, own_permit, search.verdict)
            raise
        except BaseException:
            self._settle_tenant(own, own_permit, None)
            raise
        finally:
            budget.end_request()
        self.stats.search(engine.name, Outcome.OK.value, outcome.attempts)
        self._settle_tenant(own, own_permit, OK)
        return outcome

    @staticmethod
    def _settle_tenant(
        breaker: CircuitBreaker | None, permit: Permit | None, verdict: Verdict | None
    ) -> None:
        """How the search ended, for its tenant's own breaker: a fatal answer (the query) or the
        engine failing it counts against the tenant; the pool's troubles do not."""
        if breaker is None or permit is None:
            return
        if verdict is OK:
            breaker.on_success(permit)
        elif verdict is not None and (verdict.engine_at_fault or verdict.outcome is Outcome.FATAL):
            breaker.on_failure(permit)
        else:
            breaker.on_ignored(permit)

    async def _run(self, search: _Search, budget: RetryBudget) -> FetchOutcome:
        name = search.engine.name
        breaker = self.breaker(name)
        while True:
            previous = search.verdict
            exit_only = previous is not None and not previous.engine_at_fault
            self._check_another_attempt(search)
            # Only a fault the engine may share spends the budget (see the module's docstring).
            retrying = previous is not None and previous.engine_at_fault
            choice = await self._next_exit(search, previous)
            if choice is None:
                continue
            if retrying and not budget.try_start_retry():
                raise self._final(search)
            if exit_only:
                search.exit_retries += 1
            try:
                permit = breaker.acquire()
                if permit is None:
                    raise ServiceUnavailable(
                        f"{name} is failing; not calling it for now", breaker.retry_after()
                    )
                outcome = await self._attempt(search, choice.via, breaker, permit)
            finally:
                if retrying:
                    budget.end_retry()
            if outcome is not None:
                return outcome
            verdict = search.verdict
            if verdict is not None and verdict.outcome is Outcome.FATAL:
                raise self._final(search)

    def _check_another_attempt(self, search: _Search) -> None:
        """Raise the search's final error when the retry policy allows no further attempt."""
        previous = search.verdict
        if previous is None:
            return
        exit_only = not previous.engine_at_fault
        free = exit_only and self.retry.allows_exit_retry(search.exit_retries)
        if not free and not self.retry.allows(search.attempts, search.exit_retries):
            raise self._final(search)

    async def _next_exit(self, search: _Search, previous: Verdict | None) -> Choice | None:
        """The exit for the next attempt, once its rest and backoff are waited out; ``None`` when
        the wait changed which exits are free, so the caller must look again."""
        name = search.engine.name
        choice = self.pool.choose(name, avoid=search.tried)
        if choice.wait > 0:
            # Every exit rests: wait for the first back, then choose again among all that
            # are back by then, rather than queue every waiting search on one exit.
            if choice.wait >= search.deadline - self._clock():
                if previous is not None:
                    raise self._final(search)
                raise ServiceUnavailable(
                    f"pool saturated for {name}: every exit is resting", choice.wait
                )
            await self._sleep(choice.wait)
            return None
        delay = 0.0
        # Backoff and Retry-After are for whoever failed: the engine (then every exit
        # waits) or an exit that must be used again. After the fault of one exit alone,
        # another exit goes at once: waiting would spare nobody.
        if previous is not None and (previous.engine_at_fault or choice.via == search.tried[-1]):
            wanted = self.retry.delay(search.attempts - 1, previous.retry_after)
            # Time already spent waiting for a resting exit counts towards it.
            delay = max(0.0, search.last_ended + wanted - self._clock())
        if delay >= search.deadline - self._clock():
            if previous is not None:
                raise self._final(search)
            raise UpstreamTimeout(f"{name}: the deadline passed before the first attempt")
        if delay > 0:
            await self._sleep(delay)
            # The exit chosen before the sleep may have been taken or rested meanwhile.
            after = self.pool.choose(name, avoid=search.tried)
            return None if after.wait > 0 else after
        return choice

    async def _attempt(
        self, search: _Search, via: Exit, breaker: CircuitBreaker, permit: Permit
    ) -> FetchOutcome | None:
        """One attempt through ``via``; its verdict lands on ``search``, its page is returned."""
        name = search.engine.name
        lease = self.pool.begin(via, name)
        search.tried.append(via)
        started = self._clock()
        raw: RawResponse | None = None
        data: SerpData | None = None
        try:
            time_left = (search.deadline - started) / self._speed
            raw = await self.transport.send(
                name, search.request, proxy=via.url, time_left=time_left
            )
            verdict = judge_answer(name, raw, self._wall_clock())
            if verdict is None:
                on_page = search.on_page
                beside = None if on_page is None else partial(on_page, raw)
                data = await self._parse(search.engine, raw, search.params, beside)
                verdict = OK
        except UpstreamError as error:
            if isinstance(error, UnrecognizedPage) and raw is not None:
                # The page is the evidence an operator needs to fix the parser.
                error.page, error.url = raw.body, raw.url
            verdict = judge_error(error)
        except BaseException:
            # Cancelled, or a parser bug: nothing learnt about the exit or the engine.
            self.pool.record_neutral(lease, None)
            breaker.on_ignored(permit)
            raise
        # The transport times its answer in real seconds; the pool compares them on the clock.
        latency = raw.elapsed * self._speed if raw is not None else self._clock() - started
        self._settle(lease, verdict, latency, breaker, permit, search.tenant)
        search.verdict = verdict
        search.last_ended = self._clock()
        if raw is None or data is None:
            return None
        return FetchOutcome(
            data=data,
            page=raw,
            attempts=search.attempts,
            proxy=via.label if via.url is not None else None,
        )

    def _settle(
        self,
        lease: Lease,
        verdict: Verdict,
        latency: float,
        breaker: CircuitBreaker,
        permit: Permit,
        tenant: str,
    ) -> None:
        self.stats.attempt(lease.engine, lease.via.label, verdict.outcome.value, latency)
        outcome, retry_after = verdict.outcome, verdict.retry_after
        if outcome is Outcome.OK:
            self.pool.record_success(lease, latency)
        elif outcome is Outcome.BLOCKED:
            self.pool.record_block(lease, retry_after)
        elif verdict.exit_at_fault:
            # Only a timeout's duration says how slow the exit is; a refusal is fast and bad.
            timed_out = isinstance(verdict.error, UpstreamTimeout)
            self.pool.record_failure(lease, latency if timed_out else None, retry_after)
        else:
            self.pool.record_neutral(lease, latency, retry_after)
        if outcome is Outcome.OK:
            breaker.on_success(permit, tenant)
        elif verdict.engine_at_fault:
            breaker.on_failure(permit, tenant)
        else:
            breaker.on_ignored(permit)

    @staticmethod
    def _final(search: _Search) -> UpstreamError:
        verdict = search.verdict
        if verdict is None or verdict.error is None:
            raise AssertionError("a search ends in an error only after a failed attempt")
        return verdict.error

    def engine_view(self, engine: str) -> EngineView:
        """The engine's breaker state, its exits counted by state, and its capacity."""
        return EngineView(
            breaker=self.breaker(engine).state.value,
            exits=self.pool.state_counts(engine),
            capacity=self.pool.capacity(engine),
        )

    def snapshot(self) -> FetcherSnapshot:
        """Exits, breakers, budgets and counters: what an operator endpoint shows."""
        return FetcherSnapshot(
            proxies=self.pool.snapshot(),
            capacity={name: self.pool.capacity(name) for name in sorted(self._breakers)},
            breakers={name: b.snapshot() for name, b in sorted(self._breakers.items())},
            budgets={name: b.snapshot() for name, b in sorted(self._budgets.items())},
            stats=self.stats.snapshot(),
        )

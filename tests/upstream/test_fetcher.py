"""The attempt loop on a fake clock, over a scripted transport: every way a search can end."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from serpgate.engines.base import Engine, UpstreamRequest
from serpgate.errors import (
    BlockedError,
    FatalUpstreamError,
    ServiceUnavailable,
    TransientUpstreamError,
    UpstreamError,
    UpstreamTimeout,
)
from serpgate.models.params import SearchParams
from serpgate.models.response import SearchInformation, SerpData
from serpgate.settings import BreakerSettings, ProxySettings
from serpgate.upstream.backoff import FullJitterBackoff
from serpgate.upstream.breaker import BreakerState, CircuitBreaker
from serpgate.upstream.budget import RetryBudget
from serpgate.upstream.client import RawResponse
from serpgate.upstream.fetcher import Fetcher, FetchOutcome, Parser, parse_inline
from serpgate.upstream.proxies import Exit, ExitState, ProxyPool
from serpgate.upstream.retry import RetryPolicy
from tests.fake_clock import FakeClock

PARAMS = SearchParams(engine="stub", q="coffee")
EXITS = [Exit.proxy(f"http://u:p@127.0.0.{n}:3128") for n in (2, 3, 4)]


class StubEngine(Engine):
    name = "stub"
    default_base_url = "http://127.0.0.1:9"

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        return UpstreamRequest(f"{self.base_url}/search?q={params.q}")

    def parse(self, html: str, params: SearchParams) -> SerpData:
        if html == "captcha":
            raise BlockedError("stub wants a CAPTCHA solved")
        return SerpData(search_information=SearchInformation(query_displayed=html))


Step = RawResponse | UpstreamError | Callable[[], Awaitable[RawResponse]]


@dataclass
class Call:
    proxy: str | None
    time_left: float | None
    at: float


class ScriptedTransport:
    """Answers each send with the next step of a script, and remembers how it was called."""

    def __init__(self, clock: FakeClock, *steps: Step) -> None:
        self.clock = clock
        self.steps = list(steps)
        self.calls: list[Call] = []

    async def send(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None = None,
        time_left: float | None = None,
    ) -> RawResponse:
        self.calls.append(Call(proxy, time_left, self.clock()))
        step = self.steps.pop(0)
        if isinstance(step, UpstreamError):
            raise step
        if isinstance(step, RawResponse):
            return step
        return await step()


def page(body: str = "coffee", status: int = 200, **headers: str) -> RawResponse:
    return RawResponse(status, headers, body.encode(), "http://127.0.0.1:9/search?q=coffee", 0.05)


@dataclass
class Rig:
    clock: FakeClock
    transport: ScriptedTransport
    fetcher: Fetcher

    @property
    def pool(self) -> ProxyPool:
        return self.fetcher.pool

    def exit_of(self, call: Call) -> Exit:
        return next(e for e in EXITS if e.url == call.proxy)

    async def fetch(self, deadline: float = 10.0, tenant: str = "") -> FetchOutcome:
        return await self.fetcher.fetch(StubEngine(), PARAMS, self.clock() + deadline, tenant)


def rig(
    *steps: Step,
    exits: list[Exit] = EXITS,
    breaker: BreakerSettings | None = None,
    parse: Parser = parse_inline,
    clock: FakeClock | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    exit_retries: int = 0,
    proxies: ProxySettings | None = None,
) -> Rig:
    clock = clock or FakeClock()
    transport = ScriptedTransport(clock, *steps)
    rng = random.Random(5)
    fetcher = Fetcher(
        transport,
        pool=ProxyPool(exits, proxies or ProxySettings(), clock, rng),
        retry=RetryPolicy(3, FullJitterBackoff(0.1, 1.0, rng), exit_retries),
        new_breaker=lambda: CircuitBreaker(breaker or BreakerSettings(), clock),
        new_budget=lambda: RetryBudget(0.2, 3),
        new_tenant_breaker=lambda: CircuitBreaker(
            (breaker or BreakerSettings()).for_tenant(), clock
        ),
        parse=parse,
        clock=clock,
        wall_clock=lambda: 1_700_000_000.0,
        sleep=sleep or clock.sleep,
    )
    return Rig(clock, transport, fetcher)


async def test_a_page_on_the_first_attempt() -> None:
    r = rig(page("coffee"))
    outcome = await r.fetcher.fetch(StubEngine(), PARAMS, r.clock() + 10)
    assert outcome.attempts == 1
    assert outcome.page.body == "coffee"
    assert outcome.data.search_information.query_displayed == "coffee"
    assert outcome.page.url == "http://127.0.0.1:9/search?q=coffee"
    assert outcome.proxy == r.exit_of(r.transport.calls[0]).label
    assert "u:p@" not in outcome.proxy
    assert r.transport.calls[0].time_left == pytest.approx(10)
    assert r.fetcher.stats.snapshot()["search_attempts"] == {"stub": 1}


async def test_direct_answers_say_no_proxy() -> None:
    r = rig(page(), exits=[Exit.direct()])
    outcome = await r.fetcher.fetch(StubEngine(), PARAMS, r.clock() + 10)
    assert outcome.proxy is None
    assert r.transport.calls[0].proxy is None


async def test_a_transient_failure_is_retried_through_another_exit_after_a_backoff() -> None:
    r = rig(TransientUpstreamError("reset"), page())
    outcome = await r.fetcher.fetch(StubEngine(), PARAMS, r.clock() + 10)
    first, second = r.transport.calls
    assert outcome.attempts == 2
    assert first.proxy != second.proxy
    assert outcome.proxy == r.exit_of(second).label
    assert 0 <= second.at - first.at <= 0.1  # full jitter under base * 2**0
    assert r.pool.health(r.exit_of(first), "stub").consecutive_failures == 1


async def test_a_captcha_page_blocks_that_exit_and_another_answers() -> None:
    r = rig(page("captcha"), page())
    outcome = await r.fetcher.fetch(StubEngine(), PARAMS, r.clock() + 10)
    assert outcome.attempts == 2
    first, second = r.transport.calls
    assert second.at == first.at
    blocked = r.exit_of(first)
    assert r.pool.state(blocked, "stub") is ExitState.RESTING
    assert r.pool.state(blocked, "other") is ExitState.HEALTHY


async def test_a_fatal_answer_ends_the_search_at_once() -> None:
    r = rig(page(status=404), page())
    with pytest.raises(FatalUpstreamError, match="404"):
        await r.fetch()
    assert len(r.transport.calls) == 1
    assert r.fetcher.stats.snapshot()["searches"] == [
        {"engine": "stub", "outcome": "fatal", "count": 1}
    ]


async def test_after_the_last_attempt_the_last_error_is_raised() -> None:
    r = rig(TransientUpstreamError("reset"), page(status=502), page("captcha"), page())
    with pytest.raises(BlockedError, match="CAPTCHA"):
        await r.fetch()
    assert len(r.transport.calls) == 3
    assert len({call.proxy for call in r.transport.calls}) == 3
    assert r.fetcher.budget("stub").snapshot()["retries_in_flight"] == 0
    assert r.fetcher.budget("stub").requests_in_flight == 0


async def test_a_retry_after_from_the_engine_is_waited_out() -> None:
    r = rig(page(status=503, **{"Retry-After": "2"}), page())
    outcome = await r.fetch()
    first, second = r.transport.calls
    assert second.at - first.at >= 2
    assert outcome is not None


async def test_a_retry_after_past_the_deadline_ends_the_search_without_waiting() -> None:
    r = rig(page(status=503, **{"Retry-After": "20"}), page())
    with pytest.raises(TransientUpstreamError) as caught:
        await r.fetch(deadline=5)
    assert caught.value.retry_after == 20
    assert len(r.transport.calls) == 1
    assert r.clock() == 1000.0


async def test_a_429_with_retry_after_rests_that_exit_but_another_goes_at_once() -> None:
    r = rig(page(status=429, **{"Retry-After": "30"}), page())
    await r.fetch()
    first, second = r.transport.calls
    assert second.at == first.at  # the exit was refused, not the engine: nothing to wait for
    health = r.pool.health(r.exit_of(first), "stub")
    assert health.resting_until == pytest.approx(first.at + 30)


async def test_the_deadline_bounds_every_attempt_and_the_retries() -> None:
    async def slow_timeout() -> RawResponse:
        r.clock.advance(4)
        raise UpstreamTimeout("stub: no answer in time")

    r = rig(slow_timeout, slow_timeout, slow_timeout)
    with pytest.raises(UpstreamTimeout):
        await r.fetch(deadline=5)
    first, second = r.transport.calls
    assert first.time_left == pytest.approx(5)
    assert second.time_left is not None
    assert second.time_left < 1


async def test_a_deadline_already_past_makes_no_attempt() -> None:
    r = rig(page())
    with pytest.raises(UpstreamTimeout, match="deadline"):
        await r.fetch(deadline=0)
    assert r.transport.calls == []


async def test_an_open_breaker_fails_fast_with_retry_after() -> None:
    r = rig(breaker=BreakerSettings(window=2, min_calls=2, failure_rate=0.5, open_for=30))
    breaker = r.fetcher.breaker("stub")
    for _ in range(2):
        permit = breaker.acquire()
        assert permit is not None
        breaker.on_failure(permit)
    with pytest.raises(ServiceUnavailable) as caught:
        await r.fetch()
    assert caught.value.retry_after == pytest.approx(30)
    assert r.transport.calls == []
    assert r.fetcher.stats.snapshot()["searches"] == [
        {"engine": "stub", "outcome": "unavailable", "count": 1}
    ]


async def test_engine_failures_open_the_breaker_but_blocks_do_not() -> None:
    settings = BreakerSettings(window=4, min_calls=4, failure_rate=0.5, open_for=30)
    r = rig(page("captcha"), page(), *[page(status=503)] * 3, breaker=settings)
    await r.fetch()
    assert r.fetcher.breaker("stub").snapshot()["calls_in_window"] == 1  # the page, not the block
    with pytest.raises(TransientUpstreamError):
        await r.fetch()
    assert r.fetcher.breaker("stub").state is BreakerState.OPEN


async def test_when_every_exit_rests_the_search_waits_for_the_first_back() -> None:
    r = rig(page(status=429, **{"Retry-After": "3"}), page(), exits=EXITS[:1])
    outcome = await r.fetch()
    first, second = r.transport.calls
    assert second.at - first.at == pytest.approx(3)
    assert outcome.attempts == 2


async def test_no_retry_once_the_budget_is_spent() -> None:
    r = rig(TransientUpstreamError("reset"), page())
    budget = r.fetcher.budget("stub")
    for _ in range(3):
        assert budget.try_start_retry()
    with pytest.raises(TransientUpstreamError):
        await r.fetch()
    assert len(r.transport.calls) == 1
    assert budget.retries_denied == 1


async def test_when_every_exit_rests_past_the_deadline_the_search_is_refused() -> None:
    r = rig(page(), exits=[Exit.direct()])
    direct = Exit.direct()
    r.pool.record_neutral(r.pool.begin(direct, "stub"), 0.1, retry_after=60)
    with pytest.raises(ServiceUnavailable) as caught:
        await r.fetch(deadline=10)
    assert caught.value.retry_after == pytest.approx(60)
    assert r.transport.calls == []


async def test_a_cancelled_search_leaves_no_count_behind() -> None:
    started = asyncio.Event()

    async def hang() -> RawResponse:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    r = rig(hang, breaker=BreakerSettings(half_open_calls=1))
    task = asyncio.create_task(r.fetch())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    via = r.exit_of(r.transport.calls[0])
    assert r.pool.health(via, "stub").in_flight == 0
    assert r.fetcher.budget("stub").requests_in_flight == 0


async def test_the_parser_is_one_injected_callable() -> None:
    seen: list[str] = []

    async def parse(
        engine: Engine,
        raw: RawResponse,
        params: SearchParams,
        beside: Callable[[], object] | None,
    ) -> SerpData:
        seen.append(raw.body)
        return engine.parse(raw.body, params)

    r = rig(page("espresso"), parse=parse)
    outcome = await r.fetch()
    assert seen == ["espresso"]
    assert outcome is not None


async def test_snapshot_has_exits_breakers_budgets_and_counts() -> None:
    r = rig(TransientUpstreamError("reset"), page())
    await r.fetch()
    snapshot = r.fetcher.snapshot()
    assert set(snapshot) == {"proxies", "capacity", "breakers", "budgets", "stats"}
    assert snapshot["capacity"]["stub"]["exits"] == 3
    assert snapshot["capacity"]["stub"]["sustainable_rate"] is None  # no ban seen yet
    assert snapshot["breakers"] == {"stub": r.fetcher.breaker("stub").snapshot()}
    assert snapshot["budgets"]["stub"]["retries_granted"] == 1
    attempts = snapshot["stats"]["attempts"]
    assert sorted(a["outcome"] for a in attempts) == ["ok", "transient"]


# Budgets that fit the fault


async def test_a_retry_after_the_exits_own_fault_does_not_spend_the_budget() -> None:
    """A CAPTCHA on one exit, then a dead proxy: both go to other exits though every slot of
    the engine's retry budget is taken."""
    dead = TransientUpstreamError("stub: ClientProxyConnectionError")
    dead.__cause__ = aiohttp.ClientProxyConnectionError(
        aiohttp.client_reqrep.ConnectionKey("127.0.0.2", 3128, False, True, None, None, None),
        OSError(111, "refused"),
    )
    r = rig(page("captcha"), dead, page())
    budget = r.fetcher.budget("stub")
    for _ in range(3):
        assert budget.try_start_retry()
    outcome = await r.fetch()
    assert outcome.attempts == 3
    assert budget.retries_denied == 0
    assert budget.retries_granted == 3  # only the three taken above


async def test_a_backoff_sleep_holds_no_retry_slot() -> None:
    clock = FakeClock()
    held: list[int] = []

    async def sleep(seconds: float) -> None:
        held.append(r.fetcher.budget("stub").retries_in_flight)
        clock.advance(seconds)

    r = rig(page(status=503, **{"Retry-After": "1"}), page(), clock=clock, sleep=sleep)
    outcome = await r.fetch()
    assert outcome.attempts == 2
    assert held == [0]  # asleep, the retry held nothing
    assert r.fetcher.budget("stub").retries_granted == 1


async def test_the_budget_grows_with_the_searches_in_flight() -> None:
    budget = RetryBudget(0.2, 3)
    for _ in range(40):
        budget.start_request()
    assert budget.limit == 8  # max(3, 20% of 40)
    assert all(budget.try_start_retry() for _ in range(8))
    assert not budget.try_start_retry()


# Tenants kept apart


async def test_one_tenants_failing_searches_do_not_open_the_breaker_for_everyone() -> None:
    """The noisy neighbour: a tenant whose queries the engine fails (once, a sandbox crash on
    ``[``) would open the engine's breaker for every tenant. Now only that tenant is slowed."""
    settings = BreakerSettings(window=50, min_calls=15, min_sources=3, tenant_min_calls=5)
    failing = [page(status=500)] * 15
    r = rig(page(), page(), *failing, page(), page(), breaker=settings)
    await r.fetch(tenant="quiet")
    await r.fetch(tenant="other")
    for _ in range(5):
        with pytest.raises(TransientUpstreamError):
            await r.fetch(tenant="noisy")
    engine = r.fetcher.breaker("stub")
    assert engine.snapshot()["failure_rate"] == pytest.approx(15 / 17)
    assert engine.state is BreakerState.CLOSED  # the failures are one tenant's
    calls = len(r.transport.calls)
    with pytest.raises(ServiceUnavailable, match="your searches on stub keep failing") as caught:
        await r.fetch(tenant="noisy")
    assert caught.value.retry_after == pytest.approx(30)
    assert len(r.transport.calls) == calls  # refused without a call
    assert (await r.fetch(tenant="quiet")).attempts == 1  # the others are served
    assert (await r.fetch(tenant="other")).attempts == 1


async def test_failures_across_tenants_open_the_engines_breaker() -> None:
    settings = BreakerSettings(window=10, min_calls=9, min_sources=3, tenant_min_calls=5)
    r = rig(*[page(status=500)] * 9, breaker=settings)
    for tenant in ("a", "b", "c"):
        with pytest.raises(TransientUpstreamError):
            await r.fetch(tenant=tenant)
    assert r.fetcher.breaker("stub").state is BreakerState.OPEN
    with pytest.raises(ServiceUnavailable, match="stub is failing"):
        await r.fetch(tenant="d")


async def test_a_single_tenant_service_still_has_a_breaker() -> None:
    settings = BreakerSettings(window=10, min_calls=6, min_sources=3)
    r = rig(*[page(status=500)] * 6, breaker=settings)
    for _ in range(2):
        with pytest.raises(TransientUpstreamError):
            await r.fetch()
    assert r.fetcher.breaker("stub").state is BreakerState.OPEN


async def test_retries_after_exit_faults_are_free_of_the_attempt_limit_up_to_a_point() -> None:
    exits = [Exit.proxy(f"http://127.0.0.{n}:3128") for n in range(2, 9)]
    r = rig(
        page("captcha"), page(status=403), page("captcha"), page(status=500), page(),
        exits=exits, exit_retries=2,
    )  # fmt: skip
    outcome = await r.fetch()
    assert outcome.attempts == 5  # three exits' faults, two of them free; one engine fault
    blocked = rig(*[page("captcha")] * 6, exits=exits, exit_retries=2)
    with pytest.raises(BlockedError):
        await blocked.fetch()
    assert len(blocked.transport.calls) == 5  # 3 + 2 free, then no more


async def test_each_page_that_is_no_block_reaches_on_page_through_its_parser() -> None:
    events: list[str] = []

    async def parse(
        engine: Engine,
        raw: RawResponse,
        params: SearchParams,
        beside: Callable[[], object] | None,
    ) -> SerpData:
        events.append(f"parse {raw.body}")
        return await parse_inline(engine, raw, params, beside)

    r = rig(page("x", status=429), page("captcha"), page("coffee"), parse=parse)
    outcome = await r.fetcher.fetch(
        StubEngine(), PARAMS, r.clock() + 10, on_page=lambda raw: events.append(f"page {raw.body}")
    )
    assert outcome.page.body == "coffee"
    # The 429 is judged by its status alone and parsed by nobody; the CAPTCHA is a page its
    # parser refuses, so it is handed over like any page, by the parser, beside its parse.
    assert events == ["parse captcha", "page captcha", "parse coffee", "page coffee"]

"""Admission, cache and coalescing as clients see them, over HTTP, on memory and on real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis.asyncio

from tests.live_service import LiveService, live_service, live_service_on
from tests.redis_server import throwaway_redis

KEY, TIGHT, BROKE = "sg_traffic_key", "sg_tight_key", "sg_broke_key"
# A second tight key, for cache hits only: its minute is not spent by other tests.
HELD = "sg_held_key"
END = "end-of-test-commands"
PLANS = {
    "roomy": {"name": "Roomy"},
    "tight": {"name": "Tight", "per_minute": 3},
    "broke": {"name": "Broke", "per_month": 1},
}


@pytest.fixture(scope="module", params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[LiveService]:
    keys = f"a:roomy:{KEY},t:tight:{TIGHT},b:broke:{BROKE},h:tight:{HELD}"
    with live_service_on(request, keys, "traffic", plans=PLANS) as running:
        yield running


def served(service: LiveService) -> int:
    stats = httpx.get(f"{service.sandbox_url}/_sandbox/stats").json()
    return int(stats.get("bing.served", 0))


def search(service: LiveService, q: str, key: str = KEY, **extra: str) -> httpx.Response:
    params = {"engine": "bing", "q": q, "api_key": key, **extra}
    return httpx.get(f"{service.url}/search.json", params=params, timeout=10)


def test_a_repeat_is_served_from_cache_with_its_own_metadata(service: LiveService) -> None:
    before = served(service)
    first, second = search(service, "cache me"), search(service, "cache me")
    assert served(service) == before + 1
    one, two = first.json(), second.json()
    assert (one["search_metadata"]["cached"], two["search_metadata"]["cached"]) == (False, True)
    assert (one["search_metadata"]["attempts"], two["search_metadata"]["attempts"]) == (1, 0)
    assert one["search_metadata"]["id"] != two["search_metadata"]["id"]
    assert one["organic_results"] == two["organic_results"]
    archived = httpx.get(
        two["search_metadata"]["json_endpoint"], params={"api_key": KEY}, timeout=10
    )
    assert archived.json() == two


def test_no_cache_fetches_again_and_refreshes_the_entry(service: LiveService) -> None:
    search(service, "refresh me")
    before = served(service)
    fresh = search(service, "refresh me", no_cache="true").json()
    assert fresh["search_metadata"]["cached"] is False
    assert served(service) == before + 1
    assert search(service, "refresh me").json()["search_metadata"]["cached"] is True


def test_identical_concurrent_searches_share_one_fetch(service: LiveService) -> None:
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=20) as client:
            params = {"engine": "bing", "q": "stampede", "api_key": KEY}
            return await asyncio.gather(
                *(client.get(f"{service.url}/search.json", params=params) for _ in range(50))
            )

    before = served(service)
    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 50
    assert served(service) == before + 1
    assert len({r.json()["search_metadata"]["id"] for r in responses}) == 50


def test_rate_limit_answers_429_naming_the_limit_with_headers(service: LiveService) -> None:
    answers = [search(service, f"limited {i}", TIGHT) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert answers[0].headers["RateLimit-Remaining"] == "2"
    refused = answers[3]
    assert "3 searches per minute" in refused.json()["error"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"


def test_monthly_quota_charges_fetches_only_and_has_its_own_status(service: LiveService) -> None:
    assert search(service, "cache me", BROKE).status_code == 200  # cached: free
    assert search(service, "quota one", BROKE).status_code == 200  # fetched: charged
    spent = search(service, "quota two", BROKE)
    assert spent.status_code == 402
    assert "month" in spent.json()["error"]
    assert search(service, "quota one", BROKE).status_code == 200  # cached answers still flow
    account = httpx.get(f"{service.url}/account.json", params={"api_key": BROKE}).json()
    assert account["this_month_usage"] == 1
    assert account["plan_searches_left"] == 0


def test_a_cache_hit_counts_against_the_limit_and_is_refused_when_spent(
    service: LiveService,
) -> None:
    first = search(service, "held and refused", HELD)
    assert first.status_code == 200
    answers = [search(service, "held and refused", HELD) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].json()["search_metadata"]["cached"] is True
    assert answers[2].headers["RateLimit-Remaining"] == "0"
    assert "search_metadata" not in answers[2].json()


def commands_sent(url: str, action: Callable[[], object]) -> list[str]:
    """The commands clients sent to Redis while ``action`` ran, as MONITOR shows them.

    Not the commands that scripts ran, nor the handshake of a new connection (this function's
    own ECHO goes through one).
    """

    async def watch() -> list[str]:
        client = redis.asyncio.Redis.from_url(url)
        seen: list[str] = []
        try:
            async with client.monitor() as monitor:
                await asyncio.to_thread(action)
                await client.echo(END)
                while True:
                    command = await monitor.next_command()
                    if command["command"] == f"ECHO {END}":
                        return seen
                    name = command["command"].split()[0].upper()
                    if command["client_type"] != "lua" and name not in {"HELLO", "CLIENT"}:
                        seen.append(name)
        finally:
            await client.aclose()

    return asyncio.run(watch())


def test_a_cache_hit_costs_one_redis_round_trip() -> None:
    # A private server, so that the commands seen are this service's alone.
    with (
        throwaway_redis() as url,
        live_service(f"t:tight:{TIGHT}", plans=PLANS, redis_url=url, key_prefix="rt") as service,
    ):
        first, warm = search(service, "one trip", TIGHT), search(service, "one trip", TIGHT)
        assert (first.status_code, warm.status_code) == (200, 200)
        answers: list[httpx.Response] = []
        sent = commands_sent(url, lambda: answers.append(search(service, "one trip", TIGHT)))
        hit = answers[0].json()
        assert hit["search_metadata"]["cached"] is True
        # The limiter's script, which archives the answer as it admits the search.
        assert sent == ["EVALSHA"]
        archived = httpx.get(
            hit["search_metadata"]["json_endpoint"], params={"api_key": TIGHT}, timeout=10
        )
        assert archived.content == answers[0].content

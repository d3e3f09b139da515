"""The fast lane (``serpgate.api.fastlane``) over real HTTP: it answers a held cache hit as the
route would, and leaves every other request to the route, having counted nothing.

Which of the two answered is read off the service itself: the route calls
``SearchService.search`` and the lane ``SearchService.answer_held``, each counted here by a
wrapper around the live service's own method.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from serpgate.api import search as search_api
from serpgate.api.services import Services
from serpgate.models.params import SearchParams
from tests.live_service import LiveService, live_service_on

KEY, OTHER, TIGHT = "sg_lane_key_one", "sg_lane_key_two", "sg_lane_tight"
PLANS = {
    "roomy": {"name": "Roomy", "per_minute": 1000},
    "tight": {"name": "Tight", "per_minute": 2},
}
# A cross-origin request: CORS (further in) answers those, so the lane passes them on.
CROSS_ORIGIN = {"Origin": "https://example.com"}
# What differs between two answers of one cache entry: this search's own identity and times.
PER_SEARCH = {
    "id",
    "json_endpoint",
    "raw_html_file",
    "created_at",
    "processed_at",
    "total_time_taken",
}


@pytest.fixture(scope="module", params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[LiveService]:
    keys = f"one:roomy:{KEY},two:roomy:{OTHER},tight:tight:{TIGHT}"
    with live_service_on(request, keys, "lane", plans=PLANS) as running:
        yield running


@pytest.fixture
def calls(service: LiveService) -> Iterator[Counter[str]]:
    """How often the route (``search``) and the lane (``answer_held``) were entered."""
    services: Services = service.app.state.services
    search = services.search
    counted: Counter[str] = Counter()

    def counting(name: str) -> Callable[..., Awaitable[Any]]:
        original = getattr(search, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return await original(*args, **kwargs)

        return wrapper

    for name in ("search", "answer_held"):
        setattr(search, name, counting(name))
    yield counted
    for name in ("search", "answer_held"):
        delattr(search, name)


def get(
    service: LiveService,
    q: str,
    key: str | None = KEY,
    headers: dict[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> httpx.Response:
    params = {"engine": "bing", "q": q, **({"api_key": key} if key else {}), **(extra or {})}
    return httpx.get(f"{service.url}/search.json", params=params, headers=headers, timeout=10)


def same_but_own_metadata(one: dict[str, Any], two: dict[str, Any]) -> None:
    meta_one, meta_two = one.pop("search_metadata"), two.pop("search_metadata")
    assert one == two
    assert {k: v for k, v in meta_one.items() if k not in PER_SEARCH} == {
        k: v for k, v in meta_two.items() if k not in PER_SEARCH
    }


def test_a_held_hit_is_answered_by_the_lane_as_the_route_answers_it(
    service: LiveService, calls: Counter[str]
) -> None:
    get(service, "lane coffee")  # a miss: the lane looks, the route fetches and caches it
    assert calls == {"search": 1, "answer_held": 1}
    by_route = get(service, "lane coffee", headers=CROSS_ORIGIN)  # the lane leaves it to CORS
    assert calls == {"search": 2, "answer_held": 1}
    by_lane = get(service, "lane coffee")
    assert calls == {"search": 2, "answer_held": 2}
    assert by_lane.status_code == by_route.status_code == 200
    for name in ("content-type", "ratelimit-limit", "ratelimit-policy"):
        assert by_lane.headers[name] == by_route.headers[name]
    assert by_lane.headers["x-request-id"] != by_route.headers["x-request-id"]
    assert int(by_lane.headers["content-length"]) == len(by_lane.content)
    lane, route = by_lane.json(), by_route.json()
    assert lane["search_metadata"]["cached"] is route["search_metadata"]["cached"] is True
    assert lane["search_metadata"]["id"] != route["search_metadata"]["id"]
    assert lane["organic_results"]
    endpoint = lane["search_metadata"]["json_endpoint"]
    same_but_own_metadata(lane, route)
    archived = httpx.get(endpoint, params={"api_key": KEY}, timeout=10)
    assert archived.content == by_lane.content


def test_the_lane_answers_each_key_as_its_own_tenant(
    service: LiveService, calls: Counter[str]
) -> None:
    get(service, "lane tea")
    one = get(service, "lane tea").json()
    two = get(service, "lane tea", OTHER).json()
    bearer = httpx.get(
        f"{service.url}/search.json",
        params={"engine": "bing", "q": "lane tea"},
        headers={"Authorization": f"Bearer {OTHER}"},
        timeout=10,
    ).json()
    assert calls == {"search": 1, "answer_held": 4}
    for body, owner, stranger in ((one, KEY, OTHER), (two, OTHER, KEY), (bearer, OTHER, KEY)):
        endpoint = body["search_metadata"]["json_endpoint"]
        assert httpx.get(endpoint, params={"api_key": owner}, timeout=10).status_code == 200
        assert httpx.get(endpoint, params={"api_key": stranger}, timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("key", "extra", "status"),
    [
        ("sg_no_such_key", {}, 401),
        (None, {}, 401),
        (KEY, {"num": "abc"}, 400),
        (KEY, {"unknown_parameter": "x"}, 400),
    ],
)
def test_what_the_lane_cannot_answer_gets_the_routes_answer(
    service: LiveService,
    calls: Counter[str],
    key: str | None,
    extra: dict[str, str],
    status: int,
) -> None:
    get(service, "lane water")
    calls.clear()
    refused = get(service, "lane water", key, extra=extra)
    assert refused.status_code == status
    assert set(refused.json()) == {"error"}
    assert calls["search"] == 0  # refused before the search, by the route's own checks


def test_a_repeated_key_is_the_routes_400(service: LiveService, calls: Counter[str]) -> None:
    get(service, "lane juice")
    calls.clear()
    query = f"engine=bing&q=lane+juice&api_key={KEY}&api_key={OTHER}"
    refused = httpx.get(f"{service.url}/search.json?{query}", timeout=10)
    assert refused.status_code == 400
    assert "api_key" in refused.json()["error"]
    assert calls["answer_held"] == 0


@pytest.mark.parametrize(
    ("extra", "headers"),
    [
        ({"json_restrictor": "organic_results"}, None),
        ({"zero_trace": "true"}, None),
        ({}, CROSS_ORIGIN),
    ],
)
def test_searches_the_lane_must_not_answer_go_to_the_route(
    service: LiveService,
    calls: Counter[str],
    extra: dict[str, str],
    headers: dict[str, str] | None,
) -> None:
    get(service, "lane milk")
    params = {"engine": "bing", "q": "lane milk", "api_key": KEY, **extra}
    url = f"{service.url}/search.json"
    httpx.get(url, params=params, headers=headers, timeout=10)  # the lane's first look at it
    calls.clear()
    answer = httpx.get(url, params=params, headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["organic_results"]
    assert calls == {"search": 1}


def test_a_spent_limit_is_refused_by_the_lane_as_by_the_route(
    service: LiveService, calls: Counter[str]
) -> None:
    assert get(service, "lane soda", TIGHT).status_code == 200
    assert get(service, "lane soda", TIGHT).status_code == 200
    calls.clear()
    by_lane = get(service, "lane soda", TIGHT)
    assert calls == {"answer_held": 1}
    by_route = get(service, "lane soda", TIGHT, headers=CROSS_ORIGIN)
    assert calls["search"] == 1
    assert by_lane.status_code == by_route.status_code == 429
    # The same refusal, but for the wait, which may have moved by a second between the two.
    waits = [int(r.headers["retry-after"]) for r in (by_lane, by_route)]
    assert abs(waits[0] - waits[1]) <= 1
    assert min(waits) >= 1
    lane_error, route_error = by_lane.json()["error"], by_route.json()["error"]
    assert lane_error.split("retry in")[0] == route_error.split("retry in")[0]
    assert "2 searches per minute" in lane_error
    assert by_lane.headers["ratelimit-remaining"] == by_route.headers["ratelimit-remaining"] == "0"


def requests_counted(service: LiveService, route: str) -> float:
    """``serpgate_http_requests_total`` for ``route``, engine bing, status 200, as scraped."""
    scraped = httpx.get(f"{service.url}/metrics", timeout=10).text
    wanted = f'route="{route}"'
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith("serpgate_http_requests_total{")
        and wanted in line
        and 'engine="bing"' in line
        and 'status="200"' in line
    )


def test_what_the_lane_answers_is_measured_under_the_routes_name(
    service: LiveService, calls: Counter[str]
) -> None:
    get(service, "lane cocoa")
    before = requests_counted(service, "/search.json"), requests_counted(service, "unmatched")
    for _ in range(3):
        assert get(service, "lane cocoa").status_code == 200
    assert calls == {"search": 1, "answer_held": 4}
    after = requests_counted(service, "/search.json"), requests_counted(service, "unmatched")
    assert after == (before[0] + 3, before[1])


def test_a_search_the_lane_passes_on_is_read_once(
    service: LiveService, calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A miss goes to the route with the lane's reading of its query, not read a second time."""
    read_by_route: Counter[str] = Counter()
    original = search_api.search_params

    async def counting(request: Request, services: Services) -> SearchParams:
        read_by_route["read"] += 1
        return await original(request, services)

    monkeypatch.setattr(search_api, "search_params", counting)
    extra = {"hl": "de", "safe": "active"}
    first = get(service, "lane read once", extra=extra)
    assert calls == {"search": 1, "answer_held": 1}
    assert read_by_route["read"] == 0
    by_route = get(service, "lane read once", headers=CROSS_ORIGIN, extra=extra)
    assert read_by_route["read"] == 1
    assert first.status_code == by_route.status_code == 200
    parameters = first.json()["search_parameters"]
    assert parameters == by_route.json()["search_parameters"]
    assert parameters["hl"] == "de"
    assert parameters["safe"] == "active"
    assert "api_key" not in parameters


@pytest.mark.parametrize("headers", [None, CROSS_ORIGIN], ids=["lane", "route"])
def test_an_unforeseen_error_is_the_apps_500_with_its_request_id(
    service: LiveService, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str] | None
) -> None:
    """The lane and the access log sit outside the framework's error middleware
    (``ServingApp``): a fault in the lane's own work, or in the route's, still gets the app's
    JSON 500, and the access log stamps it with the request's id. A fault on demand is the one
    thing a live service does not give, so the search raises one here."""
    get(service, "lane fault")  # held now: without the Origin header the lane would answer it
    search = service.app.state.services.search

    async def fault(*_: object, **__: object) -> None:
        raise RuntimeError("a fault nobody foresaw")

    monkeypatch.setattr(search, "answer_held", fault)
    monkeypatch.setattr(search, "search", fault)
    answer = get(service, "lane fault", headers={**(headers or {}), "X-Request-ID": "fault-1"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error"}
    assert answer.headers["x-request-id"] == "fault-1"
    assert "nobody foresaw" not in answer.text

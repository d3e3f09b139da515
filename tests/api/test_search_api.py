"""The public contract over real HTTP: the app under uvicorn, fetching from the sandbox Bing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.live_service import LiveService, live_service

KEY = "sg_test_key_alice"
OTHER_KEY = "sg_test_key_bob"


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    with live_service(f"alice:developer:{KEY},bob:free:{OTHER_KEY}") as running:
        yield running


@pytest.fixture(scope="module")
def http(service: LiveService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10) as client:
        yield client


def test_search_returns_typed_results_from_the_engine(http: httpx.Client) -> None:
    response = http.get("/search.json", params={"engine": "bing", "q": "coffee", "api_key": KEY})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    meta = body["search_metadata"]
    assert meta["status"] == "Success"
    assert meta["attempts"] == 1
    assert meta["cached"] is False
    assert meta["json_endpoint"].endswith(f"/searches/{meta['id']}.json")
    assert body["search_parameters"] == {
        "engine": "bing",
        "q": "coffee",
        "start": 0,
        "num": 10,
        "device": "desktop",
        "output": "json",
    }
    organic = body["organic_results"]
    assert len(organic) == 10
    assert [r["position"] for r in organic] == list(range(1, 11))
    assert all(r["link"].startswith("https://") and r["title"] for r in organic)
    assert body["search_information"]["total_results"] > 0


@pytest.mark.parametrize(
    ("tab", "block"),
    [({"tbm": "nws"}, "news_results"), ({"udm": "2"}, "images_results"), ({}, "organic_results")],
)
def test_google_tabs_end_to_end(http: httpx.Client, tab: dict[str, str], block: str) -> None:
    asked = {"engine": "google", "q": "espresso", "api_key": KEY, **tab}
    response = http.get("/search.json", params=asked)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["search_metadata"]["status"] == "Success"
    assert {k: str(v) for k, v in body["search_parameters"].items() if k in tab} == tab
    assert body[block]
    assert all(item["link"].startswith("https://") for item in body[block])
    other_tabs = {"news_results", "images_results", "organic_results"} - {block}
    assert not any(body.get(name) for name in other_tabs)


def test_same_query_same_results_and_pages_differ(http: httpx.Client) -> None:
    def links(**extra: str) -> list[str]:
        params = {"engine": "bing", "q": "rust async", "api_key": KEY, **extra}
        return [r["link"] for r in http.get("/search", params=params).json()["organic_results"]]

    first = links()
    assert first == links()
    assert set(first).isdisjoint(links(start="10"))
    assert first != links(q="python async")


def test_pagination_links_point_here_and_never_carry_the_key(
    http: httpx.Client, service: LiveService
) -> None:
    body = http.get("/search", params={"engine": "bing", "q": "tea", "api_key": KEY}).json()
    pagination = body["serpapi_pagination"]
    assert pagination["current"] == 1
    assert pagination["next"].startswith(f"{service.url}/search.json?")
    assert "start=10" in pagination["next"]
    assert "api_key" not in str(pagination)
    assert KEY not in response_text(http, pagination["next"] + f"&api_key={KEY}")


def response_text(http: httpx.Client, url: str) -> str:
    response = http.get(url)
    assert response.status_code == 200, response.text
    return response.text


def test_archive_returns_the_same_search_for_its_tenant_only(http: httpx.Client) -> None:
    body = http.get("/search", params={"engine": "bing", "q": "archive me", "api_key": KEY}).json()
    search_id = body["search_metadata"]["id"]
    for path in (f"/searches/{search_id}", f"/searches/{search_id}.json"):
        again = http.get(path, params={"api_key": KEY})
        assert again.status_code == 200
        assert again.json() == body
    other = http.get(f"/searches/{search_id}.json", params={"api_key": OTHER_KEY})
    assert other.status_code == 404
    assert "error" in other.json()


def test_bearer_header_authenticates_like_the_parameter(http: httpx.Client) -> None:
    response = http.get(
        "/search",
        params={"engine": "bing", "q": "header"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 200


def test_output_html_returns_the_page_as_fetched(http: httpx.Client) -> None:
    response = http.get(
        "/search", params={"engine": "bing", "q": "raw", "output": "html", "api_key": KEY}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'class="b_algo"' in response.text


def test_async_search_answers_processing_then_archives_success(http: httpx.Client) -> None:
    params = {"engine": "bing", "q": "later", "async": "true", "api_key": KEY}
    first = http.get("/search", params=params).json()
    assert first["search_metadata"]["status"] == "Processing"
    assert "organic_results" not in first
    path = f"/searches/{first['search_metadata']['id']}.json"
    deadline = time.monotonic() + 10
    while (done := http.get(path, params={"api_key": KEY}).json())["search_metadata"][
        "status"
    ] == "Processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert done["search_metadata"]["status"] == "Success"
    assert len(done["organic_results"]) == 10


def test_account_shows_plan_limits_and_usage(http: httpx.Client) -> None:
    before = http.get("/account.json", params={"api_key": OTHER_KEY}).json()
    http.get("/search", params={"engine": "bing", "q": "count me", "api_key": OTHER_KEY})
    after = http.get("/account", params={"api_key": OTHER_KEY}).json()
    assert after["plan_id"] == "free"
    assert after["searches_per_month"] == 250
    assert after["account_rate_limit_per_hour"] == 100
    assert after["this_month_usage"] == before["this_month_usage"] + 1
    assert after["this_hour_searches"] == before["this_hour_searches"] + 1
    assert after["plan_searches_left"] == 250 - after["this_month_usage"]
    assert OTHER_KEY not in str(after)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"engine": "bing", "q": "x"}, 401, "missing API key"),
        ({"engine": "bing", "q": "x", "api_key": "sg_wrong"}, 401, "invalid API key"),
        ({"engine": "altavista", "q": "x", "api_key": KEY}, 400, "unsupported engine 'altavista'"),
        ({"engine": "bing", "q": "x", "num": "abc", "api_key": KEY}, 400, "parameter 'num'"),
        ({"engine": "bing", "q": "x", "start": "-1", "api_key": KEY}, 400, "parameter 'start'"),
        ({"engine": "bing", "q": "x", "device": "tv", "api_key": KEY}, 400, "parameter 'device'"),
        ({"engine": "bing", "q": "", "api_key": KEY}, 400, "parameter 'q'"),
        ({"engine": "bing", "api_key": KEY}, 400, "missing required parameter 'q'"),
        ({"engine": "bing", "q": "x", "tbm": "isch", "api_key": KEY}, 400, "'tbm'"),
        ({"engine": "google", "q": "x", "tbm": "shop", "api_key": KEY}, 400, "'nws', 'isch'"),
        ({"engine": "google", "q": "x", "udm": "28", "api_key": KEY}, 400, "parameter 'udm'"),
    ],
)
def test_bad_requests_get_a_clear_json_error(
    http: httpx.Client, params: dict[str, str], status: int, message: str
) -> None:
    response = http.get("/search", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]
    assert set(response.json()) == {"error"}


def test_unknown_route_and_archive_id_are_json_404s(http: httpx.Client) -> None:
    assert http.get("/nope").json() == {"error": "not found"}
    missing = http.get("/searches/ffffffffffffffffffffffff.json", params={"api_key": KEY})
    assert missing.status_code == 404
    assert "no search with id" in missing.json()["error"]


def test_blocked_engine_is_a_502_json_error(http: httpx.Client, service: LiveService) -> None:
    httpx.post(f"{service.sandbox_url}/_sandbox/block", params={"engine": "bing", "on": "1"})
    try:
        response = http.get("/search", params={"engine": "bing", "q": "blocked", "api_key": KEY})
    finally:
        httpx.post(f"{service.sandbox_url}/_sandbox/block", params={"engine": "bing", "on": "0"})
    assert response.status_code == 502
    assert "bing" in response.json()["error"].lower()


def test_health_and_readiness(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["store"] == "ok"


def test_openapi_describes_the_contract(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    search = spec["paths"]["/search"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert {"engine", "q", "start", "num", "device", "safe", "async", "api_key"} <= names
    assert {"200", "400", "401", "429", "502"} <= set(search["responses"])
    assert "SearchResponse" in spec["components"]["schemas"]
    assert {"/searches/{search_id}", "/account", "/healthz", "/readyz"} <= set(spec["paths"])

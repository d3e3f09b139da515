"""SerpApi's own Python client, unchanged but for its base URL, works against serpgate."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import serpapi

from tests.live_service import live_service

KEY = "sg_serpapi_client_key"


@pytest.fixture(scope="module")
def client() -> Iterator[serpapi.Client]:
    with live_service(f"client:developer:{KEY}") as service:
        # The first /locations.json call builds the 37,842-place index (seconds, more on a busy
        # machine); the client's own 10 s timeout is for the calls under test.
        httpx.get(f"{service.url}/locations.json", params={"q": "a", "limit": 1}, timeout=120)
        client = serpapi.Client(api_key=KEY, timeout=10)
        client.BASE_DOMAIN = service.url
        yield client
        client.session.close()


def test_search_archive_and_account(client: serpapi.Client) -> None:
    results = client.search(engine="bing", q="coffee")
    assert isinstance(results, serpapi.SerpResults)
    assert len(results["organic_results"]) == 10
    search_id = results["search_metadata"]["id"]

    archived = client.search_archive(search_id=search_id)
    assert archived["organic_results"] == results["organic_results"]

    account = client.account()
    assert account["plan_id"] == "developer"
    assert account["this_month_usage"] >= 1


def test_next_page_follows_our_pagination(client: serpapi.Client) -> None:
    first = client.search(engine="bing", q="espresso")
    second = first.next_page()
    assert second is not None
    assert second["search_parameters"]["start"] == 10
    assert {r["link"] for r in first["organic_results"]}.isdisjoint(
        r["link"] for r in second["organic_results"]
    )


def test_errors_surface_as_the_clients_http_error(client: serpapi.Client) -> None:
    with pytest.raises(serpapi.HTTPError) as caught:
        client.search(engine="bing", q="x", num="abc")
    assert caught.value.response.status_code == 400


def test_locations(client: serpapi.Client) -> None:
    found = client.locations(q="Austin", limit=3)
    assert len(found) == 3
    assert found[0]["canonical_name"] == "Austin,Texas,United States"
    assert found[0]["google_id"] is None


def test_search_archive_serves_the_page_as_html(client: serpapi.Client) -> None:
    results = client.search(engine="bing", q="latte")
    page = client.search_archive(search_id=results["search_metadata"]["id"], output="html")
    assert isinstance(page, str)
    assert 'class="b_algo"' in page


def test_yield_pages_walks_our_pagination(client: serpapi.Client) -> None:
    first = client.search(engine="bing", q="cappuccino")
    pages = list(first.yield_pages(max_pages=3))
    assert [p["serpapi_pagination"]["current"] for p in pages] == [1, 2, 3]
    links = [r["link"] for p in pages for r in p["organic_results"]]
    assert len(links) == len(set(links)) == 30

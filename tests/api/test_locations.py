"""SerpApi's Locations API over HTTP, and ``location=`` placing a Google search through it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.live_service import live_service

KEY = "sg_locations_key"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        live_service(f"places:developer:{KEY}") as service,
        httpx.Client(base_url=service.url, timeout=30) as client,
    ):
        yield client


def test_prefix_search_ranked_by_population_in_serpapis_shape(http: httpx.Client) -> None:
    # No key: SerpApi's Locations API is open too.
    response = http.get("/locations.json", params={"q": "Austin", "limit": "3"})
    assert response.status_code == 200
    found = response.json()
    assert [p["canonical_name"] for p in found] == [
        "Austin,Texas,United States",
        "Austintown,Ohio,United States",
        "Austin,Minnesota,United States",
    ]
    austin = found[0]
    assert set(austin) >= {
        "id",
        "google_id",
        "google_parent_id",
        "name",
        "canonical_name",
        "country_code",
        "target_type",
        "reach",
        "gps",
    }
    # Google's own ids and audience are not known here, and not invented.
    assert (austin["google_id"], austin["google_parent_id"], austin["reach"]) == (None, None, None)
    assert (austin["name"], austin["country_code"], austin["target_type"]) == (
        "Austin",
        "US",
        "City",
    )
    longitude, latitude = austin["gps"]
    assert -98 < longitude < -97
    assert 30 < latitude < 31


def test_countries_and_regions_are_places_too(http: httpx.Client) -> None:
    found = http.get("/locations.json", params={"q": "texas", "limit": "2"}).json()
    assert [(p["canonical_name"], p["target_type"]) for p in found] == [
        ("Texas,United States", "State"),
        ("Texas City,Texas,United States", "City"),
    ]
    france = http.get("/locations.json", params={"q": "Fran", "limit": "1"}).json()
    assert france[0]["target_type"] == "Country"
    assert france[0]["country_code"] == "FR"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "0"}, "'limit'"),
        ({"limit": "+3"}, "'limit'"),
        ({"radius": "5"}, "'radius'"),
        ({"q": "a" * 300}, "'q'"),
    ],
)
def test_bad_location_queries_are_400s(
    http: httpx.Client, params: dict[str, str], named: str
) -> None:
    response = http.get("/locations.json", params=params)
    assert response.status_code == 400
    assert named in response.json()["error"]
    assert "a" * 100 not in response.text


def test_location_places_a_google_search_by_its_canonical_name(http: httpx.Client) -> None:
    response = http.get(
        "/search",
        params={"engine": "google", "q": "coffee", "location": "Austin, TX", "api_key": KEY},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["search_parameters"]["location"] == "Austin,Texas,United States"
    uule = parse_qs(urlsplit(body["search_metadata"]["engine_url"]).query)["uule"][0]
    assert uule.startswith("w ")
    assert base64.b64decode(uule[2:]).endswith(b"Austin,Texas,United States")


def test_an_unknown_location_is_a_400_naming_close_places(http: httpx.Client) -> None:
    response = http.get(
        "/search",
        params={"engine": "google", "q": "coffee", "location": "Austinn, Texas", "api_key": KEY},
    )
    assert response.status_code == 400
    assert "Austin,Texas,United States" in response.json()["error"]

"""One response contract: every answer the service renders is a valid ``SearchResponse``.

Answers are spliced from bytes (metadata written here, blocks as cached), so nothing in the
rendering path goes through the response model; these tests hold the bytes to it. Each kind of
answer (a fresh Success, a cache hit, a stale-if-error copy, Processing, Error) is rendered from
real parsed pages of every engine whose capture the shared fixtures hold, and validated with the
model, which forbids unknown fields: a field the wire carries and the model lacks fails here.
"""

from __future__ import annotations

import orjson
import pytest

from serpgate.engines.registry import build_engines
from serpgate.errors import BlockedError, SerpgateError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SearchResponse
from serpgate.search import encode_entry, render_answer, with_page
from serpgate.traffic.readthrough import Served
from tests.conftest import serp_page

BASE = "https://serp.example"
# A results page of each engine with several blocks, by fixture path.
PAGES = {
    "bing": "bing/desktop_2019-08-12_q-best-cloud-services.html",
    "google": "google/desktop_2023-09-06_q-playstation-5-games.html",
    "duckduckgo": "duckduckgo/html_2025-01.html",
    "brave": "brave/web_2026-03.html",
    "yahoo": "yahoo/web_2026-03.html",
    "startpage": "startpage/http_client_2026.html",
    "yandex": "yandex/web_2026_sanitized.html",
    "baidu": "baidu/web_2026_sanitized.html",
    "ecosia": "ecosia/web_2026-04.html",
    "mojeek": "mojeek/web_2026-04.html",
    "google_scholar": "google_scholar/web_2021-05-10_q-hello.html",
}


def valid(body: bytes) -> SearchResponse:
    return SearchResponse.model_validate(orjson.loads(body))


def entry_of(engine: str) -> tuple[SearchParams, bytes]:
    params = SearchParams(engine=engine, q="coffee", start=10)
    data = build_engines({})[engine].parse(serp_page(PAGES[engine]), params)
    entry = encode_entry(data, f"https://{engine}.example/search?q=coffee", attempts=2)
    return params, with_page(entry, "p" * 24)


def test_every_engine_has_a_page_here() -> None:
    assert set(PAGES) == set(build_engines({}))


@pytest.mark.fixtures
@pytest.mark.parametrize("engine", sorted(PAGES))
def test_success_hit_and_stale_answers_are_search_responses(engine: str) -> None:
    params, entry = entry_of(engine)
    fresh = valid(
        render_answer("a" * 24, params, BASE, "t0", status="Success", entry=entry, elapsed=0.25)
    )
    assert fresh.search_metadata.status == "Success"
    assert fresh.search_metadata.cached is False
    assert fresh.search_metadata.attempts == 2
    assert fresh.search_metadata.raw_html_file == f"{BASE}/searches/{'a' * 24}.html"
    assert fresh.organic_results, f"{engine}: the page's results reached the answer"
    hit = valid(
        render_answer(
            "b" * 24, params, BASE, "t1", status="Success", entry=entry,
            served=Served(entry, "cache", 30.0),
        )
    )  # fmt: skip
    assert (hit.search_metadata.cached, hit.search_metadata.attempts) == (True, 0)
    assert hit.organic_results == fresh.organic_results
    stale = valid(
        render_answer(
            "c" * 24, params, BASE, "t2", status="Success", entry=entry,
            served=Served(entry, "stale-if-error", 9000.0, error="bing: connection refused"),
        )
    )  # fmt: skip
    assert stale.search_metadata.stale is True
    if fresh.serpapi_pagination is not None:
        assert fresh.serpapi_pagination.previous_link is not None  # start=10 is page 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("Processing", None),
        ("Error", UnrecognizedPage("bing answered a page that is none of what it knows")),
        ("Error", BlockedError("bing: one last step")),
    ],
)
def test_processing_and_error_answers_are_search_responses(
    status: str, error: SerpgateError | None
) -> None:
    params = SearchParams(engine="bing", q="coffee", api_key="sg_secret")
    body = render_answer("d" * 24, params, BASE, "t0", status=status, error=error)
    answer = valid(body)
    assert answer.search_metadata.status == status
    assert answer.search_parameters["q"] == "coffee"
    assert "api_key" not in answer.search_parameters
    assert b"sg_secret" not in body
    if error is None:
        assert answer.search_metadata.processed_at is None
        assert answer.error is None
    else:
        assert answer.error == str(error)


def test_an_unknown_field_on_the_wire_fails_the_contract() -> None:
    params = SearchParams(engine="bing", q="coffee")
    document = orjson.loads(render_answer("e" * 24, params, BASE, "t0", status="Processing"))
    document["search_metadata"]["drifted"] = True
    with pytest.raises(ValueError, match="drifted"):
        SearchResponse.model_validate(document)

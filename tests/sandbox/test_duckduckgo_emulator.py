"""The sandbox DuckDuckGo round trip: corpus page → html.duckduckgo.com markup → the same documents.

First in process, then over a real socket, fetching exactly the URL the engine builds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp
import pytest
from aiohttp import web

from serpgate.engines.duckduckgo import DuckDuckGoEngine
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from serpgate.sandbox.corpus import Corpus, ResultPage
from serpgate.sandbox.duckduckgo import DuckDuckGoEmulator
from serpgate.sandbox.server import create_sandbox_app

CORPUS = Corpus()
# Where the in-process tests pretend the sandbox runs; links on its pages resolve against it.
SANDBOX_DDG = "http://127.0.0.1:8000/duckduckgo"


def _round_trip(query: str, page: int = 1) -> tuple[ResultPage, SerpData]:
    corpus_page = CORPUS.page(query, page, 10)
    html = DuckDuckGoEmulator().render(corpus_page, "/duckduckgo")
    params = SearchParams(engine="duckduckgo", q=query, start=(page - 1) * 10)
    return corpus_page, DuckDuckGoEngine(base_url=SANDBOX_DDG).parse(html, params)


def _day(date: str | None) -> str | None:
    """A corpus date as DuckDuckGo shows it beside the URL, an ISO day."""
    return datetime.strptime(date, "%b %d, %Y").date().isoformat() if date else None


def _assert_same_documents(corpus_page: ResultPage, data: SerpData) -> None:
    docs = corpus_page.documents
    assert len(data.organic_results) == len(docs)
    assert [r.title for r in data.organic_results] == [d.title for d in docs]
    assert [r.link for r in data.organic_results] == [d.url for d in docs]
    assert [r.snippet for r in data.organic_results] == [d.snippet for d in docs]
    assert [r.date for r in data.organic_results] == [_day(d.date) for d in docs]


class TestRoundTrip:
    def test_page_reads_back_as_the_corpus_documents(self) -> None:
        corpus_page, data = _round_trip("coffee grinder")
        _assert_same_documents(corpus_page, data)
        assert [r.position for r in data.organic_results] == list(range(1, 11))
        assert data.organic_results[0].displayed_link == corpus_page.documents[0].url.removeprefix(
            "https://"
        )
        assert data.search_information.query_displayed == "coffee grinder"
        assert data.search_information.organic_results_state == "Results for exact spelling"

    def test_links_go_through_the_redirect_and_come_back(self) -> None:
        corpus_page = CORPUS.page("coffee grinder", 1, 10)
        html = DuckDuckGoEmulator().render(corpus_page, "/duckduckgo")
        assert html.count("//duckduckgo.com/l/?uddg=") >= len(corpus_page.documents)
        assert "<b>coffee</b>" in html.lower()

    def test_some_documents_carry_dates(self) -> None:
        assert any(r.date for r in _round_trip("coffee grinder")[1].organic_results)

    def test_next_form_carries_offset_and_vqd(self) -> None:
        _, data = _round_trip("coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.current == 2
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{SANDBOX_DDG}/html/?q=coffee+grinder&s=20&")
        assert "&dc=21&" in data.pagination.next
        assert "&vqd=4-" in data.pagination.next

    def test_later_pages_positions(self) -> None:
        corpus_page, data = _round_trip("coffee grinder", page=3)
        _assert_same_documents(corpus_page, data)
        assert [r.position for r in data.organic_results] == list(range(21, 31))

    def test_pages_differ(self) -> None:
        _, first = _round_trip("coffee", page=1)
        _, second = _round_trip("coffee", page=2)
        assert {r.link for r in first.organic_results}.isdisjoint(
            {r.link for r in second.organic_results}
        )

    def test_last_page_has_no_next(self) -> None:
        _, data = _round_trip("coffee", page=CORPUS.pages_per_query)
        assert data.organic_results
        assert data.pagination is None

    def test_past_the_last_page_is_fully_empty(self) -> None:
        corpus_page, data = _round_trip("coffee", page=CORPUS.pages_per_query + 1)
        assert corpus_page.documents == ()
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_block_page_raises_blocked(self) -> None:
        with pytest.raises(BlockedError):
            DuckDuckGoEngine().parse(
                DuckDuckGoEmulator().render_block(), SearchParams(engine="duckduckgo", q="x")
            )


class TestPageRequest:
    def test_reads_the_offset(self) -> None:
        asked = DuckDuckGoEmulator().page_request({"q": " coffee  beans ", "s": "20", "dc": "21"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)

    def test_defaults_and_junk(self) -> None:
        asked = DuckDuckGoEmulator().page_request({"q": "coffee", "s": "-4"})
        assert asked is not None
        assert asked.page == 1
        assert DuckDuckGoEmulator().page_request({"q": "  "}) is None
        assert DuckDuckGoEmulator().page_request({}) is None


@pytest.fixture
async def sandbox_port() -> AsyncIterator[int]:
    runner = web.AppRunner(create_sandbox_app([DuckDuckGoEmulator()], CORPUS))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def _get(url: str, headers: dict[str, str] | None = None) -> str:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200
        return await response.text()


class TestOverSocket:
    async def test_fetched_page_reads_back_as_the_corpus(self, sandbox_port: int) -> None:
        engine = DuckDuckGoEngine(base_url=f"http://127.0.0.1:{sandbox_port}/duckduckgo")
        params = SearchParams(engine="duckduckgo", q="espresso machine", start=10)
        request = engine.build_request(params)
        data = engine.parse(await _get(request.url, request.headers), params)
        _assert_same_documents(CORPUS.page("espresso machine", 2, 10), data)

    async def test_next_link_fetches_the_next_page(self, sandbox_port: int) -> None:
        engine = DuckDuckGoEngine(base_url=f"http://127.0.0.1:{sandbox_port}/duckduckgo")
        params = SearchParams(engine="duckduckgo", q="espresso machine")
        request = engine.build_request(params)
        first = engine.parse(await _get(request.url, request.headers), params)
        assert first.pagination is not None
        assert first.pagination.next is not None
        second_params = params.model_copy(update={"start": 10})
        second = engine.parse(await _get(first.pagination.next), second_params)
        _assert_same_documents(CORPUS.page("espresso machine", 2, 10), second)

    async def test_blocked_engine_answers_the_challenge(self, sandbox_port: int) -> None:
        base = f"http://127.0.0.1:{sandbox_port}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{base}/_sandbox/block", params={"engine": "duckduckgo"}) as response,
        ):
            assert response.status == 200
        engine = DuckDuckGoEngine(base_url=f"{base}/duckduckgo")
        params = SearchParams(engine="duckduckgo", q="espresso machine")
        request = engine.build_request(params)
        html = await _get(request.url, request.headers)
        with pytest.raises(BlockedError):
            engine.parse(html, params)

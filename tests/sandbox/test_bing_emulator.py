"""The sandbox Bing round trip: corpus page → Bing markup → BingEngine → the same documents.

First in process, then over a real socket, fetching exactly the URL the engine builds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from serpgate.engines.bing import BingEngine
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.corpus import Corpus, ResultPage
from serpgate.sandbox.server import create_sandbox_app

CORPUS = Corpus()
# Where the in-process tests pretend the sandbox runs; links on its pages resolve against it.
SANDBOX_BING = "http://127.0.0.1:8000/bing"


def _round_trip(query: str, page: int = 1, num: int = 10) -> tuple[ResultPage, SerpData]:
    corpus_page = CORPUS.page(query, page, num)
    html = BingEmulator().render(corpus_page, "/bing")
    params = SearchParams(engine="bing", q=query, start=(page - 1) * num, num=num)
    return corpus_page, BingEngine(base_url=SANDBOX_BING).parse(html, params)


def _assert_same_documents(corpus_page: ResultPage, data: SerpData) -> None:
    docs = corpus_page.documents
    assert len(data.organic_results) == len(docs)
    assert [r.title for r in data.organic_results] == [d.title for d in docs]
    assert [r.link for r in data.organic_results] == [d.url for d in docs]
    assert [r.snippet for r in data.organic_results] == [d.snippet for d in docs]
    assert [r.date for r in data.organic_results] == [d.date for d in docs]


class TestRoundTrip:
    def test_page_reads_back_as_the_corpus_documents(self) -> None:
        corpus_page, data = _round_trip("coffee grinder")
        _assert_same_documents(corpus_page, data)
        assert [r.position for r in data.organic_results] == list(range(1, 11))
        assert data.search_information.total_results == corpus_page.total_results
        assert data.search_information.query_displayed == "coffee grinder"
        assert data.search_information.organic_results_state == "Results for exact spelling"

    def test_some_documents_carry_dates(self) -> None:
        # Guards the date path: the corpus dates about 40% of documents.
        dated = [r for r in _round_trip("coffee grinder")[1].organic_results if r.date]
        assert dated

    def test_related_searches(self) -> None:
        corpus_page, data = _round_trip("coffee grinder")
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == list(corpus_page.related_searches)
        first = data.related_searches[0].link
        assert first is not None
        assert first.startswith(f"{SANDBOX_BING}/search?q=coffee+grinder+")

    def test_pagination(self) -> None:
        _, data = _round_trip("coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.current == 2
        assert data.pagination.next is not None
        assert "first=21" in data.pagination.next
        assert set(data.pagination.other_pages or {}) == {"1", "3"}

    def test_later_pages_total_and_positions(self) -> None:
        corpus_page, data = _round_trip("coffee grinder", page=3)
        _assert_same_documents(corpus_page, data)
        assert data.search_information.total_results == corpus_page.total_results
        assert [r.position for r in data.organic_results] == list(range(21, 31))

    def test_different_queries_give_different_results(self) -> None:
        _, coffee = _round_trip("coffee")
        _, tea = _round_trip("green tea")
        assert {r.link for r in coffee.organic_results}.isdisjoint(
            {r.link for r in tea.organic_results}
        )

    def test_pages_differ(self) -> None:
        _, first = _round_trip("coffee", page=1)
        _, second = _round_trip("coffee", page=2)
        assert {r.link for r in first.organic_results}.isdisjoint(
            {r.link for r in second.organic_results}
        )

    def test_past_the_last_page_is_fully_empty(self) -> None:
        corpus_page, data = _round_trip("coffee", page=CORPUS.pages_per_query + 1)
        assert corpus_page.documents == ()
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_block_page_raises_blocked(self) -> None:
        with pytest.raises(BlockedError, match="One last step"):
            BingEngine().parse(BingEmulator().render_block(), SearchParams(engine="bing", q="x"))


class TestPageRequest:
    def test_reads_first_and_count(self) -> None:
        asked = BingEmulator().page_request({"q": " coffee  beans ", "first": "21", "count": "10"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)

    def test_defaults_and_junk(self) -> None:
        asked = BingEmulator().page_request({"q": "coffee", "first": "x", "count": "-4"})
        assert asked is not None
        assert (asked.page, asked.num) == (1, 1)
        assert BingEmulator().page_request({"q": "  "}) is None
        assert BingEmulator().page_request({}) is None


@pytest.fixture
async def sandbox_port() -> AsyncIterator[int]:
    runner = web.AppRunner(create_sandbox_app([BingEmulator()], CORPUS))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def _fetch(engine: BingEngine, params: SearchParams) -> str:
    request = engine.build_request(params)
    async with (
        aiohttp.ClientSession() as session,
        session.get(request.url, headers=request.headers) as response,
    ):
        assert response.status == 200
        return await response.text()


class TestOverSocket:
    async def test_fetched_page_reads_back_as_the_corpus(self, sandbox_port: int) -> None:
        engine = BingEngine(base_url=f"http://127.0.0.1:{sandbox_port}/bing")
        params = SearchParams(engine="bing", q="espresso machine", start=10)
        data = engine.parse(await _fetch(engine, params), params)
        corpus_page = CORPUS.page("espresso machine", 2, 10)
        _assert_same_documents(corpus_page, data)
        assert data.search_information.total_results == corpus_page.total_results
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"http://127.0.0.1:{sandbox_port}/bing/search?")

    async def test_next_link_fetches_the_next_page(self, sandbox_port: int) -> None:
        engine = BingEngine(base_url=f"http://127.0.0.1:{sandbox_port}/bing")
        params = SearchParams(engine="bing", q="espresso machine")
        first = engine.parse(await _fetch(engine, params), params)
        assert first.pagination is not None
        assert first.pagination.next is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(first.pagination.next) as response,
        ):
            html = await response.text()
        second = engine.parse(html, params.model_copy(update={"start": 10}))
        assert [r.link for r in second.organic_results] == [
            d.url for d in CORPUS.page("espresso machine", 2, 10).documents
        ]

    async def test_blocked_engine_answers_the_challenge(self, sandbox_port: int) -> None:
        base = f"http://127.0.0.1:{sandbox_port}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{base}/_sandbox/block", params={"engine": "bing"}) as response,
        ):
            assert response.status == 200
        engine = BingEngine(base_url=f"{base}/bing")
        params = SearchParams(engine="bing", q="espresso machine")
        html = await _fetch(engine, params)
        with pytest.raises(BlockedError):
            engine.parse(html, params)

"""The sandbox Yahoo round trip: corpus page → Yahoo markup → YahooEngine → the same documents.

First in process, then over a real socket, fetching exactly the URL the engine builds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from serpgate.engines.yahoo import YahooEngine
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from serpgate.sandbox.corpus import Corpus, ResultPage
from serpgate.sandbox.server import create_sandbox_app
from serpgate.sandbox.yahoo import YahooEmulator

CORPUS = Corpus()
# Where the in-process tests pretend the sandbox runs; links on its pages resolve against it.
SANDBOX_YAHOO = "http://127.0.0.1:8000/yahoo"


def _round_trip(query: str, page: int = 1, num: int = 10) -> tuple[ResultPage, SerpData]:
    corpus_page = CORPUS.page(query, page, num)
    html = YahooEmulator().render(corpus_page, "/yahoo")
    params = SearchParams(engine="yahoo", q=query, start=(page - 1) * num, num=num)
    return corpus_page, YahooEngine(base_url=SANDBOX_YAHOO).parse(html, params)


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

    def test_links_are_served_behind_the_tracker(self) -> None:
        corpus_page = CORPUS.page("coffee grinder")
        html = YahooEmulator().render(corpus_page, "/yahoo")
        assert html.count("https://r.search.yahoo.com/") == len(corpus_page.documents)
        assert f'href="{corpus_page.documents[0].url}"' not in html

    def test_some_documents_carry_dates(self) -> None:
        # Guards the date path: the corpus dates about 40% of documents.
        assert any(r.date for r in _round_trip("coffee grinder")[1].organic_results)

    def test_breadcrumb_leaves_the_site_name_out(self) -> None:
        corpus_page, data = _round_trip("coffee grinder")
        first = data.organic_results[0]
        url = corpus_page.documents[0].url
        assert first.displayed_link is not None
        assert first.displayed_link.startswith(f"{url.split('/')[0]}//{url.split('/')[2]} › ")

    def test_related_searches_and_questions(self) -> None:
        corpus_page, data = _round_trip("coffee grinder")
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == list(corpus_page.related_searches)
        first = data.related_searches[0].link
        assert first is not None
        assert first.startswith(f"{SANDBOX_YAHOO}/search?p=coffee+grinder+")
        assert data.related_questions is not None
        assert [(q.question, q.snippet) for q in data.related_questions] == list(
            corpus_page.related_questions
        )

    def test_pagination(self) -> None:
        _, data = _round_trip("coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.current == 2
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{SANDBOX_YAHOO}/search?")
        assert "b=21" in data.pagination.next
        assert set(data.pagination.other_pages or {}) == {"1", "3"}

    def test_later_pages_total_and_positions(self) -> None:
        corpus_page, data = _round_trip("coffee grinder", page=3, num=7)
        _assert_same_documents(corpus_page, data)
        assert data.search_information.total_results == corpus_page.total_results
        assert [r.position for r in data.organic_results] == list(range(15, 22))

    def test_pages_differ(self) -> None:
        _, first = _round_trip("coffee", page=1)
        _, second = _round_trip("coffee", page=2)
        assert {r.link for r in first.organic_results}.isdisjoint(
            {r.link for r in second.organic_results}
        )

    def test_different_queries_give_different_results(self) -> None:
        _, coffee = _round_trip("coffee")
        _, tea = _round_trip("green tea")
        assert {r.link for r in coffee.organic_results}.isdisjoint(
            {r.link for r in tea.organic_results}
        )

    def test_past_the_last_page_is_fully_empty(self) -> None:
        corpus_page, data = _round_trip("coffee", page=CORPUS.pages_per_query + 1)
        assert corpus_page.documents == ()
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_block_page_raises_blocked(self) -> None:
        with pytest.raises(BlockedError):
            YahooEngine().parse(YahooEmulator().render_block(), SearchParams(engine="yahoo", q="x"))


class TestPageRequest:
    def test_reads_b_and_pz(self) -> None:
        asked = YahooEmulator().page_request({"p": " coffee  beans ", "b": "21", "pz": "10"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)

    def test_defaults_and_junk(self) -> None:
        asked = YahooEmulator().page_request({"p": "coffee", "b": "x", "pz": "-4"})
        assert asked is not None
        assert (asked.page, asked.num) == (1, 7)
        assert YahooEmulator().page_request({"p": "  "}) is None
        assert YahooEmulator().page_request({"q": "coffee"}) is None


@pytest.fixture
async def sandbox_port() -> AsyncIterator[int]:
    runner = web.AppRunner(create_sandbox_app([YahooEmulator()], CORPUS))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def _fetch(url: str, headers: dict[str, str] | None = None) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers) as response,
    ):
        assert response.status == 200
        return await response.text()


class TestOverSocket:
    async def test_fetched_page_reads_back_as_the_corpus(self, sandbox_port: int) -> None:
        engine = YahooEngine(base_url=f"http://127.0.0.1:{sandbox_port}/yahoo")
        params = SearchParams(engine="yahoo", q="espresso machine", start=10)
        request = engine.build_request(params)
        data = engine.parse(await _fetch(request.url, request.headers), params)
        corpus_page = CORPUS.page("espresso machine", 2, 10)
        _assert_same_documents(corpus_page, data)
        assert data.search_information.total_results == corpus_page.total_results
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"http://127.0.0.1:{sandbox_port}/yahoo/search?")

    async def test_next_link_fetches_the_next_page(self, sandbox_port: int) -> None:
        engine = YahooEngine(base_url=f"http://127.0.0.1:{sandbox_port}/yahoo")
        params = SearchParams(engine="yahoo", q="espresso machine")
        request = engine.build_request(params)
        first = engine.parse(await _fetch(request.url, request.headers), params)
        assert first.pagination is not None
        assert first.pagination.next is not None
        second = engine.parse(
            await _fetch(first.pagination.next), params.model_copy(update={"start": 10})
        )
        assert [r.link for r in second.organic_results] == [
            d.url for d in CORPUS.page("espresso machine", 2, 10).documents
        ]

    async def test_blocked_engine_answers_error_999(self, sandbox_port: int) -> None:
        base = f"http://127.0.0.1:{sandbox_port}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{base}/_sandbox/block", params={"engine": "yahoo"}) as response,
        ):
            assert response.status == 200
        engine = YahooEngine(base_url=f"{base}/yahoo")
        params = SearchParams(engine="yahoo", q="espresso machine")
        request = engine.build_request(params)
        with pytest.raises(BlockedError):
            engine.parse(await _fetch(request.url, request.headers), params)

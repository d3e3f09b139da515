"""The sandbox Google round trip: corpus page → Google markup → GoogleEngine → the same
documents. First in process, then over a real socket, fetching exactly the URL the engine
builds, and the /sorry/ page the sandbox switches to on request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from serpgate.engines.google import GoogleEngine
from serpgate.errors import BlockedError, JavaScriptRequired
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from serpgate.sandbox.corpus import Corpus, ResultPage
from serpgate.sandbox.google import GoogleEmulator
from serpgate.sandbox.server import create_sandbox_app

CORPUS = Corpus()
# Where the in-process tests pretend the sandbox runs; links on its pages resolve against it.
SANDBOX_GOOGLE = "http://127.0.0.1:8000/google"


def _round_trip(query: str, page: int = 1, num: int = 10) -> tuple[ResultPage, SerpData]:
    corpus_page = CORPUS.page(query, page, num)
    html = GoogleEmulator().render(corpus_page, "/google")
    params = SearchParams(engine="google", q=query, start=(page - 1) * num, num=num)
    return corpus_page, GoogleEngine(base_url=SANDBOX_GOOGLE).parse(html, params)


def _assert_same_documents(corpus_page: ResultPage, data: SerpData) -> None:
    docs = corpus_page.documents
    assert len(data.organic_results) == len(docs)
    assert [r.title for r in data.organic_results] == [d.title for d in docs]
    assert [r.link for r in data.organic_results] == [d.url for d in docs]
    assert [r.snippet for r in data.organic_results] == [d.snippet for d in docs]
    assert [r.date for r in data.organic_results] == [d.date for d in docs]


class TestRoundTrip:
    def test_page_reads_back_as_the_corpus_documents(self) -> None:
        corpus_page, data = _round_trip("pour over coffee")
        _assert_same_documents(corpus_page, data)
        assert [r.position for r in data.organic_results] == list(range(1, 11))
        info = data.search_information
        assert info.total_results == corpus_page.total_results
        assert info.time_taken_displayed is not None
        assert info.query_displayed == "pour over coffee"
        assert info.organic_results_state == "Results for exact spelling"

    def test_some_documents_carry_dates(self) -> None:
        # Guards the date path: the corpus dates about 40% of documents.
        assert [r for r in _round_trip("pour over coffee")[1].organic_results if r.date]

    def test_displayed_link_is_a_breadcrumb(self) -> None:
        corpus_page, data = _round_trip("pour over coffee")
        first = data.organic_results[0]
        assert first.displayed_link is not None
        host = corpus_page.documents[0].url.split("/")[2]
        assert first.displayed_link.startswith(f"https://{host} › ")

    def test_people_also_ask(self) -> None:
        corpus_page, data = _round_trip("pour over coffee")
        assert data.related_questions is not None
        assert [(q.question, q.snippet) for q in data.related_questions] == list(
            corpus_page.related_questions
        )

    def test_related_searches(self) -> None:
        corpus_page, data = _round_trip("pour over coffee")
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == list(corpus_page.related_searches)
        first = data.related_searches[0].link
        assert first is not None
        assert first.startswith(f"{SANDBOX_GOOGLE}/search?q=pour+over+coffee+")

    def test_pagination(self) -> None:
        _, data = _round_trip("pour over coffee", page=2)
        assert data.pagination is not None
        assert data.pagination.current == 2
        assert data.pagination.next == f"{SANDBOX_GOOGLE}/search?q=pour+over+coffee&start=20"
        assert data.pagination.other_pages == {
            "1": f"{SANDBOX_GOOGLE}/search?q=pour+over+coffee",
            "3": f"{SANDBOX_GOOGLE}/search?q=pour+over+coffee&start=20",
        }

    def test_later_pages_total_and_positions(self) -> None:
        corpus_page, data = _round_trip("pour over coffee", page=3)
        _assert_same_documents(corpus_page, data)
        assert data.search_information.total_results == corpus_page.total_results
        assert [r.position for r in data.organic_results] == list(range(21, 31))

    def test_page_size(self) -> None:
        corpus_page, data = _round_trip("pour over coffee", num=20)
        _assert_same_documents(corpus_page, data)
        assert data.pagination is not None
        assert data.pagination.next == (
            f"{SANDBOX_GOOGLE}/search?q=pour+over+coffee&start=20&num=20"
        )

    def test_pages_differ_by_start(self) -> None:
        _, first = _round_trip("espresso", page=1)
        _, second = _round_trip("espresso", page=2)
        assert {r.link for r in first.organic_results}.isdisjoint(
            {r.link for r in second.organic_results}
        )

    def test_different_queries_give_different_results(self) -> None:
        _, coffee = _round_trip("coffee")
        _, tea = _round_trip("green tea")
        assert {r.link for r in coffee.organic_results}.isdisjoint(
            {r.link for r in tea.organic_results}
        )

    def test_last_page_has_no_next(self) -> None:
        _, data = _round_trip("espresso", page=CORPUS.pages_per_query)
        assert data.pagination is not None
        assert data.pagination.next is None

    def test_past_the_last_page_is_fully_empty(self) -> None:
        corpus_page, data = _round_trip("espresso", page=CORPUS.pages_per_query + 1)
        assert corpus_page.documents == ()
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_block_page_raises_blocked(self) -> None:
        params = SearchParams(engine="google", q="x")
        with pytest.raises(BlockedError, match="unusual traffic") as raised:
            GoogleEngine().parse(GoogleEmulator().render_block(), params)
        assert not isinstance(raised.value, JavaScriptRequired)


class TestPageRequest:
    def test_reads_start_and_num(self) -> None:
        asked = GoogleEmulator().page_request({"q": " pour  over ", "start": "20", "num": "10"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("pour over", 3, 10)

    def test_defaults_and_junk(self) -> None:
        asked = GoogleEmulator().page_request({"q": "coffee", "start": "x", "num": "-4"})
        assert asked is not None
        assert (asked.page, asked.num) == (1, 1)
        assert GoogleEmulator().page_request({"q": "  "}) is None
        assert GoogleEmulator().page_request({}) is None


@pytest.fixture
async def sandbox_port() -> AsyncIterator[int]:
    # The wall is lifted: these tests are about the result pages (tests/sandbox/test_wall.py
    # and tests/upstream/test_browser.py are about the wall).
    runner = web.AppRunner(create_sandbox_app([GoogleEmulator()], CORPUS, walled=()))
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


class TestTabs:
    """The first page's news cards and image tiles are what the News and Images tabs read."""

    def _parse(self, **tab: object) -> tuple[ResultPage, SerpData]:
        corpus_page = CORPUS.page("pour over coffee", 1, 10)
        html = GoogleEmulator().render(corpus_page, "/google")
        params = SearchParams(engine="google", q="pour over coffee", **tab)
        return corpus_page, GoogleEngine(base_url=SANDBOX_GOOGLE).parse(html, params)

    def test_web_page_carries_top_stories_and_images_apart_from_organic(self) -> None:
        corpus_page, data = self._parse()
        _assert_same_documents(corpus_page, data)
        first_three = [doc.title for doc in corpus_page.documents[:3]]
        assert [story.title for story in data.top_stories or []] == first_three
        assert [image.title for image in data.inline_images or []] == first_three

    def test_news_tab(self) -> None:
        corpus_page, data = self._parse(tbm="nws")
        news = data.news_results or []
        assert [item.link for item in news] == [doc.url for doc in corpus_page.documents[:3]]
        assert news[0].snippet == corpus_page.documents[0].snippet
        assert data.organic_results == []

    def test_images_tab(self) -> None:
        corpus_page, data = self._parse(udm=2)
        assert [image.link for image in data.images_results or []] == [
            doc.url for doc in corpus_page.documents[:3]
        ]

    def test_videos_tab(self) -> None:
        corpus_page, data = self._parse(tbm="vid")
        assert [video.link for video in data.video_results or []] == [
            doc.url for doc in corpus_page.documents
        ]


class TestOverSocket:
    async def test_fetched_page_reads_back_as_the_corpus(self, sandbox_port: int) -> None:
        engine = GoogleEngine(base_url=f"http://127.0.0.1:{sandbox_port}/google")
        params = SearchParams(engine="google", q="espresso machine", start=10)
        request = engine.build_request(params)
        data = engine.parse(await _get(request.url, request.headers), params)
        corpus_page = CORPUS.page("espresso machine", 2, 10)
        _assert_same_documents(corpus_page, data)
        assert data.search_information.total_results == corpus_page.total_results

    async def test_news_tab_is_asked_and_read(self, sandbox_port: int) -> None:
        engine = GoogleEngine(base_url=f"http://127.0.0.1:{sandbox_port}/google")
        params = SearchParams(engine="google", q="espresso machine", tbm="nws")
        request = engine.build_request(params)
        assert "tbm=nws" in request.url
        data = engine.parse(await _get(request.url, request.headers), params)
        corpus_page = CORPUS.page("espresso machine", 1, 10)
        assert [item.title for item in data.news_results or []] == [
            doc.title for doc in corpus_page.documents[:3]
        ]

    async def test_next_page_link_is_fetchable(self, sandbox_port: int) -> None:
        engine = GoogleEngine(base_url=f"http://127.0.0.1:{sandbox_port}/google")
        params = SearchParams(engine="google", q="espresso machine")
        request = engine.build_request(params)
        first = engine.parse(await _get(request.url, request.headers), params)
        assert first.pagination is not None
        assert first.pagination.next is not None
        second = engine.parse(
            await _get(first.pagination.next),
            SearchParams(engine="google", q="espresso machine", start=10),
        )
        _assert_same_documents(CORPUS.page("espresso machine", 2, 10), second)

    async def test_blocked_engine_serves_the_sorry_page(self, sandbox_port: int) -> None:
        engine = GoogleEngine(base_url=f"http://127.0.0.1:{sandbox_port}/google")
        params = SearchParams(engine="google", q="espresso machine")
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{sandbox_port}/_sandbox/block", params={"engine": "google"}
            ) as response,
        ):
            assert response.status == 200
            assert await response.json() == ["google"]
        request = engine.build_request(params)
        with pytest.raises(BlockedError):
            engine.parse(await _get(request.url, request.headers), params)

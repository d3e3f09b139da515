"""Every sandbox engine: corpus page → the engine's markup → its parser → the same documents,
in process and over a real socket, one parametrised suite for all eleven.

Each emulator speaks its engine's own URL grammar (Google's and Scholar's ``start``, Bing's
1-based ``first``, Yahoo's ``b``, Brave's page ``offset``, Startpage's ``page``, Yandex's 0-based
``p``, Baidu's ``pn`` offset, Mojeek's 1-based ``s``), so the URL each engine builds, and the
pagination links each parser reads back, are followed exactly as they would be upstream. What
only one engine does (Bing's redirect links, Google's tabs, ...) is tested after the suite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from serpgate.engines.base import Engine
from serpgate.engines.registry import build_engines
from serpgate.errors import BlockedError, JavaScriptRequired
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from serpgate.sandbox.corpus import Corpus, ResultPage
from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.server import create_sandbox_app

CORPUS = Corpus()
ENGINES = (
    "google",
    "bing",
    "duckduckgo",
    "yahoo",
    "brave",
    "startpage",
    "yandex",
    "baidu",
    "ecosia",
    "mojeek",
    "google_scholar",
)
EMULATORS = {emulator.engine: emulator for emulator in all_emulators()}
# Where the in-process tests pretend the sandbox runs.
SANDBOX = "http://127.0.0.1:8000"
# Each engine's query string for page 3 of ten results, and what its emulator must read.
PAGE_3 = {
    "google": {"q": "coffee", "start": "20"},
    "bing": {"q": "coffee", "first": "21"},
    "duckduckgo": {"q": "coffee", "s": "20"},
    "yahoo": {"p": "coffee", "b": "21", "pz": "10"},
    "brave": {"q": "coffee", "offset": "2"},
    "startpage": {"query": "coffee", "page": "3"},
    "yandex": {"text": "coffee", "p": "2"},
    "baidu": {"wd": "coffee", "pn": "20"},
    "ecosia": {"q": "coffee", "p": "2"},
    "mojeek": {"q": "coffee", "s": "21"},
    "google_scholar": {"q": "coffee", "start": "20"},
}
# The engines whose page shows a result count.
COUNTED = {"google", "bing", "yahoo", "yandex", "baidu", "mojeek", "google_scholar"}
# The engines whose results carry the corpus documents' dates as written, and those that show
# them in their own format (tested in their own tests below).
DATED = {"google", "bing", "yahoo", "brave"}
REDATED = {"duckduckgo", "startpage"}
# DuckDuckGo's HTML page has a next button only, no numbered pages.
NUMBERED = set(ENGINES) - {"duckduckgo"}
# The engines whose page shows no related searches.
UNRELATED = {"duckduckgo", "startpage", "mojeek", "google_scholar"}


def _engine(name: str, base: str = SANDBOX) -> Engine:
    return build_engines({name: f"{base}/{name}"})[name]


def _round_trip(name: str, query: str, page: int = 1) -> tuple[ResultPage, SerpData]:
    corpus_page = CORPUS.page(query, page, 10)
    html = EMULATORS[name].render(corpus_page, f"/{name}")
    params = SearchParams(engine=name, q=query, start=(page - 1) * 10)
    return corpus_page, _engine(name).parse(html, params)


def _corpus_day(date: str | None) -> datetime | None:
    """A corpus document's date ("Aug 24, 2017"), for engines that write it their own way."""
    return datetime.strptime(date, "%b %d, %Y") if date else None


def _assert_same_documents(corpus_page: ResultPage, data: SerpData) -> None:
    docs = corpus_page.documents
    assert [r.title for r in data.organic_results] == [d.title for d in docs]
    assert [r.link for r in data.organic_results] == [d.url for d in docs]
    assert [r.snippet for r in data.organic_results] == [d.snippet for d in docs]


@pytest.mark.parametrize("name", ENGINES)
class TestRoundTrip:
    def test_page_reads_back_as_the_corpus(self, name: str) -> None:
        corpus_page, data = _round_trip(name, "coffee grinder", page=3)
        assert len(data.organic_results) == 10
        _assert_same_documents(corpus_page, data)
        assert [r.position for r in data.organic_results] == list(range(21, 31))
        assert data.search_information.query_displayed == "coffee grinder"
        assert data.search_information.organic_results_state == "Results for exact spelling"
        if name in COUNTED:
            assert data.search_information.total_results == corpus_page.total_results
        else:
            assert data.search_information.total_results is None

    def test_pagination_links_carry_the_engine_own_paging(self, name: str) -> None:
        _, data = _round_trip(name, "coffee grinder", page=3)
        assert data.pagination is not None
        assert data.pagination.current == 3
        assert data.pagination.next is not None
        asked = {k: v[0] for k, v in parse_qs(urlsplit(data.pagination.next).query).items()}
        following = EMULATORS[name].page_request(asked)
        assert following is not None
        assert (following.query, following.page) == ("coffee grinder", 4)

    def test_past_the_last_page_is_fully_empty_on_the_engine_word(self, name: str) -> None:
        corpus_page, data = _round_trip(name, "coffee", page=CORPUS.pages_per_query + 1)
        assert corpus_page.documents == ()
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_block_page_raises_blocked(self, name: str) -> None:
        with pytest.raises(BlockedError):
            _engine(name).parse(
                EMULATORS[name].render_block(), SearchParams(engine=name, q="coffee")
            )

    def test_reads_its_engine_query_string(self, name: str) -> None:
        asked = EMULATORS[name].page_request(PAGE_3[name])
        assert asked is not None
        assert (asked.query, asked.page) == ("coffee", 3)

    def test_first_page_dates_and_positions(self, name: str) -> None:
        corpus_page, data = _round_trip(name, "coffee grinder")
        _assert_same_documents(corpus_page, data)
        assert [r.position for r in data.organic_results] == list(range(1, 11))
        dates = [r.date for r in data.organic_results]
        if name in DATED:
            assert dates == [d.date for d in corpus_page.documents]
            assert any(dates)  # the corpus dates about 40% of documents
        elif name in REDATED:
            assert any(dates)
        else:
            assert not any(dates)

    def test_pages_and_queries_differ(self, name: str) -> None:
        links = {
            (query, page): {r.link for r in _round_trip(name, query, page)[1].organic_results}
            for query, page in (("coffee", 1), ("coffee", 2), ("green tea", 1))
        }
        assert links["coffee", 1].isdisjoint(links["coffee", 2])
        assert links["coffee", 1].isdisjoint(links["green tea", 1])

    def test_page_2_links_its_neighbours_and_the_last_page_no_next(self, name: str) -> None:
        _, second = _round_trip(name, "coffee grinder", page=2)
        assert second.pagination is not None
        assert second.pagination.next is not None
        assert second.pagination.next.startswith(f"{SANDBOX}/{name}/")
        if name in NUMBERED:
            assert {"1", "3"} <= set(second.pagination.other_pages or {})
        _, last = _round_trip(name, "coffee", page=CORPUS.pages_per_query)
        assert last.pagination is None or last.pagination.next is None

    def test_a_blank_or_missing_query_is_no_page(self, name: str) -> None:
        blank = {k: ("  " if v == "coffee" else v) for k, v in PAGE_3[name].items()}
        assert EMULATORS[name].page_request(blank) is None
        assert EMULATORS[name].page_request({}) is None

    def test_related_searches_where_the_engine_shows_them(self, name: str) -> None:
        corpus_page, data = _round_trip(name, "coffee grinder")
        if name in UNRELATED:
            assert data.related_searches is None  # these engines show none
            return
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == list(corpus_page.related_searches)


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    # Unwalled: the JavaScript wall has its own tests (test_wall.py); here the pages themselves.
    emulators = [EMULATORS[name] for name in ENGINES]
    runner = web.AppRunner(create_sandbox_app(emulators, CORPUS, walled=()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _fetch(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> str:
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
        return await response.text()


@pytest.mark.parametrize("name", ENGINES)
async def test_over_socket_the_engine_url_and_next_link(sandbox_url: str, name: str) -> None:
    engine = _engine(name, sandbox_url)
    params = SearchParams(engine=name, q="espresso machine", start=10)
    async with aiohttp.ClientSession() as session:
        request = engine.build_request(params)
        data = engine.parse(await _fetch(session, request.url, request.headers), params)
        _assert_same_documents(CORPUS.page("espresso machine", 2, 10), data)
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{sandbox_url}/{name}/")
        following = params.model_copy(update={"start": 20})
        third = engine.parse(await _fetch(session, data.pagination.next, {}), following)
        _assert_same_documents(CORPUS.page("espresso machine", 3, 10), third)


@pytest.mark.parametrize("name", ENGINES)
async def test_over_socket_a_blocked_engine_answers_its_block_page(
    sandbox_url: str, name: str
) -> None:
    engine = _engine(name, sandbox_url)
    params = SearchParams(engine=name, q="espresso machine")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sandbox_url}/_sandbox/block", params={"engine": name}) as r:
            assert r.status == 200
            assert await r.json() == [name]
        request = engine.build_request(params)
        html = await _fetch(session, request.url, request.headers)
    with pytest.raises(BlockedError):
        engine.parse(html, params)


class TestBing:
    def test_related_links_and_next_page_are_bing_searches(self) -> None:
        _, data = _round_trip("bing", "coffee grinder", page=2)
        assert data.related_searches is not None
        first = data.related_searches[0].link
        assert first is not None
        assert first.startswith(f"{SANDBOX}/bing/search?q=coffee+grinder+")
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{SANDBOX}/bing/search?")
        assert "first=21" in data.pagination.next

    def test_block_page_is_bings_challenge(self) -> None:
        with pytest.raises(BlockedError, match="One last step"):
            _engine("bing").parse(
                EMULATORS["bing"].render_block(), SearchParams(engine="bing", q="x")
            )

    def test_reads_first_and_count_and_survives_junk(self) -> None:
        bing = EMULATORS["bing"]
        asked = bing.page_request({"q": " coffee  beans ", "first": "21", "count": "10"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)
        junk = bing.page_request({"q": "coffee", "first": "x", "count": "-4"})
        assert junk is not None
        assert (junk.page, junk.num) == (1, 1)


class TestBrave:
    def test_breadcrumb_related_questions_and_links(self) -> None:
        corpus_page, data = _round_trip("brave", "coffee grinder")
        first = data.organic_results[0]
        host = corpus_page.documents[0].url.split("/")[2].removeprefix("www.")
        assert first.displayed_link is not None
        assert first.displayed_link.startswith(f"{host} › ")
        assert data.related_searches is not None
        related = data.related_searches[0].link
        assert related is not None
        assert related.startswith(f"{SANDBOX}/brave/search?q=coffee%20grinder%20")
        assert data.related_questions is not None
        assert [(q.question, q.snippet) for q in data.related_questions] == list(
            corpus_page.related_questions
        )

    def test_next_page_is_a_brave_search_by_page_offset(self) -> None:
        _, data = _round_trip("brave", "coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{SANDBOX}/brave/search?")
        assert "offset=2" in data.pagination.next

    def test_reads_q_and_offset_and_survives_junk(self) -> None:
        brave = EMULATORS["brave"]
        asked = brave.page_request({"q": " coffee  beans ", "offset": "2"})
        assert asked is not None
        assert (asked.query, asked.page) == ("coffee beans", 3)
        junk = brave.page_request({"q": "coffee", "offset": "-1"})
        assert junk is not None
        assert junk.page == 1


class TestDuckDuckGo:
    def test_dates_as_iso_days_and_displayed_links_without_scheme(self) -> None:
        corpus_page, data = _round_trip("duckduckgo", "coffee grinder")
        days = [
            day.date().isoformat() if (day := _corpus_day(d.date)) else None
            for d in corpus_page.documents
        ]
        assert [r.date for r in data.organic_results] == days
        shown = corpus_page.documents[0].url.removeprefix("https://")
        assert data.organic_results[0].displayed_link == shown

    def test_links_go_through_the_redirect_and_come_back(self) -> None:
        corpus_page = CORPUS.page("coffee grinder", 1, 10)
        html = EMULATORS["duckduckgo"].render(corpus_page, "/duckduckgo")
        assert html.count("//duckduckgo.com/l/?uddg=") >= len(corpus_page.documents)
        assert "<b>coffee</b>" in html.lower()

    def test_next_form_carries_offset_and_vqd_and_the_last_page_has_none(self) -> None:
        _, data = _round_trip("duckduckgo", "coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{SANDBOX}/duckduckgo/html/?q=coffee+grinder&s=20&")
        assert "&dc=21&" in data.pagination.next
        assert "&vqd=4-" in data.pagination.next
        _, last = _round_trip("duckduckgo", "coffee", page=CORPUS.pages_per_query)
        assert last.organic_results
        assert last.pagination is None

    def test_reads_the_offset_and_survives_junk(self) -> None:
        ddg = EMULATORS["duckduckgo"]
        asked = ddg.page_request({"q": " coffee  beans ", "s": "20", "dc": "21"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)
        junk = ddg.page_request({"q": "coffee", "s": "-4"})
        assert junk is not None
        assert junk.page == 1


def _startpage(query: str, page: int, html: str) -> SerpData:
    return _engine("startpage").parse(
        html, SearchParams(engine="startpage", q=query, start=(page - 1) * 10)
    )


class TestStartpage:
    def test_world_dates_displayed_links_and_sources(self) -> None:
        corpus_page, data = _round_trip("startpage", "coffee grinder")
        days = [
            f"{day.day} {day:%b %Y}" if (day := _corpus_day(d.date)) else None
            for d in corpus_page.documents
        ]
        assert [r.date for r in data.organic_results] == days
        first = data.organic_results[0]
        assert first.displayed_link == corpus_page.documents[0].url
        assert first.source is not None
        assert first.source in corpus_page.documents[0].url

    def test_props_are_compact_json_with_highlights(self) -> None:
        html = EMULATORS["startpage"].render(CORPUS.page("coffee grinder", 1, 10), "/startpage")
        assert 'React.createElement(UIStartpage.AppSerpWeb, {"render":' in html
        assert "<b>coffee</b>" in html.lower()

    def test_markup_alone_reads_back_the_same(self) -> None:
        corpus_page = CORPUS.page("coffee grinder", 2, 10)
        html = EMULATORS["startpage"].render(corpus_page, "/startpage")
        without_props = html.replace("UIStartpage.AppSerpWeb", "UIStartpage.Gone")
        data = _startpage("coffee grinder", 2, without_props)
        _assert_same_documents(corpus_page, data)
        assert data == _startpage("coffee grinder", 2, html).model_copy(
            update={"pagination": data.pagination}
        )
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert "page=3" in data.pagination.next

    def test_next_page_link_and_the_last_page_has_none(self) -> None:
        _, data = _round_trip("startpage", "coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.next is not None
        expected = f"{SANDBOX}/startpage/serp?q=coffee+grinder&page=3&sc="
        assert data.pagination.next.startswith(expected)
        assert set(data.pagination.other_pages or {}) == {"1", "3"}
        _, last = _round_trip("startpage", "coffee", page=CORPUS.pages_per_query)
        assert last.organic_results
        assert last.pagination is not None  # its numbered pages stay; only next goes
        assert last.pagination.next is None

    def test_reads_query_or_q_and_page_and_survives_junk(self) -> None:
        startpage = EMULATORS["startpage"]
        asked = startpage.page_request({"query": " coffee  beans ", "page": "3"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)
        linked = startpage.page_request({"q": "coffee", "page": "2", "sc": "abc"})
        assert linked is not None
        assert (linked.query, linked.page) == ("coffee", 2)
        zero = startpage.page_request({"query": "coffee", "page": "0"})
        assert zero is not None
        assert zero.page == 1
        assert startpage.page_request({"query": "coffee", "page": "x"}) is not None


class TestYahoo:
    def test_links_are_served_behind_the_tracker(self) -> None:
        corpus_page = CORPUS.page("coffee grinder")
        html = EMULATORS["yahoo"].render(corpus_page, "/yahoo")
        assert html.count("https://r.search.yahoo.com/") == len(corpus_page.documents)
        assert f'href="{corpus_page.documents[0].url}"' not in html

    def test_breadcrumb_related_questions_and_links(self) -> None:
        corpus_page, data = _round_trip("yahoo", "coffee grinder")
        first = data.organic_results[0]
        url = corpus_page.documents[0].url
        assert first.displayed_link is not None  # the site's name left out
        assert first.displayed_link.startswith(f"{url.split('/')[0]}//{url.split('/')[2]} › ")
        assert data.related_searches is not None
        related = data.related_searches[0].link
        assert related is not None
        assert related.startswith(f"{SANDBOX}/yahoo/search?p=coffee+grinder+")
        assert data.related_questions is not None
        assert [(q.question, q.snippet) for q in data.related_questions] == list(
            corpus_page.related_questions
        )

    def test_next_page_is_a_yahoo_search_by_b(self) -> None:
        _, data = _round_trip("yahoo", "coffee grinder", page=2)
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert data.pagination.next.startswith(f"{SANDBOX}/yahoo/search?")
        assert "b=21" in data.pagination.next

    def test_its_own_page_size_of_seven(self) -> None:
        corpus_page = CORPUS.page("coffee grinder", 3, 7)
        html = EMULATORS["yahoo"].render(corpus_page, "/yahoo")
        params = SearchParams(engine="yahoo", q="coffee grinder", start=14, num=7)
        data = _engine("yahoo").parse(html, params)
        _assert_same_documents(corpus_page, data)
        assert [r.date for r in data.organic_results] == [d.date for d in corpus_page.documents]
        assert data.search_information.total_results == corpus_page.total_results
        assert [r.position for r in data.organic_results] == list(range(15, 22))

    def test_reads_b_and_pz_and_survives_junk(self) -> None:
        yahoo = EMULATORS["yahoo"]
        asked = yahoo.page_request({"p": " coffee  beans ", "b": "21", "pz": "10"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("coffee beans", 3, 10)
        junk = yahoo.page_request({"p": "coffee", "b": "x", "pz": "-4"})
        assert junk is not None
        assert (junk.page, junk.num) == (1, 7)
        assert yahoo.page_request({"q": "coffee"}) is None  # Yahoo's query is p


def _google(corpus_page: ResultPage, **params: object) -> SerpData:
    html = EMULATORS["google"].render(corpus_page, "/google")
    asked = SearchParams(engine="google", q=corpus_page.query, **params)
    return _engine("google").parse(html, asked)


class TestGoogle:
    def test_time_taken_breadcrumb_and_people_also_ask(self) -> None:
        corpus_page, data = _round_trip("google", "pour over coffee")
        assert data.search_information.time_taken_displayed is not None
        first = data.organic_results[0]
        assert first.displayed_link is not None
        host = corpus_page.documents[0].url.split("/")[2]
        assert first.displayed_link.startswith(f"https://{host} › ")
        assert data.related_questions is not None
        assert [(q.question, q.snippet) for q in data.related_questions] == list(
            corpus_page.related_questions
        )
        assert data.related_searches is not None
        related = data.related_searches[0].link
        assert related is not None
        assert related.startswith(f"{SANDBOX}/google/search?q=pour+over+coffee+")

    def test_pagination_links_are_googles_own(self) -> None:
        _, data = _round_trip("google", "pour over coffee", page=2)
        assert data.pagination is not None
        base = f"{SANDBOX}/google/search?q=pour+over+coffee"
        assert data.pagination.next == f"{base}&start=20"
        assert data.pagination.other_pages == {"1": base, "3": f"{base}&start=20"}

    def test_page_size(self) -> None:
        corpus_page = CORPUS.page("pour over coffee", 1, 20)
        data = _google(corpus_page, num=20)
        _assert_same_documents(corpus_page, data)
        assert data.pagination is not None
        base = f"{SANDBOX}/google/search?q=pour+over+coffee"
        assert data.pagination.next == f"{base}&start=20&num=20"

    def test_block_page_is_the_sorry_page_not_the_wall(self) -> None:
        params = SearchParams(engine="google", q="x")
        with pytest.raises(BlockedError, match="unusual traffic") as raised:
            _engine("google").parse(EMULATORS["google"].render_block(), params)
        assert not isinstance(raised.value, JavaScriptRequired)

    def test_reads_start_and_num_and_survives_junk(self) -> None:
        google = EMULATORS["google"]
        asked = google.page_request({"q": " pour  over ", "start": "20", "num": "10"})
        assert asked is not None
        assert (asked.query, asked.page, asked.num) == ("pour over", 3, 10)
        junk = google.page_request({"q": "coffee", "start": "x", "num": "-4"})
        assert junk is not None
        assert (junk.page, junk.num) == (1, 1)


class TestGoogleTabs:
    """The first page's news cards and image tiles are what the News and Images tabs read."""

    def test_web_page_carries_top_stories_and_images_apart_from_organic(self) -> None:
        page = CORPUS.page("pour over coffee", 1, 10)
        data = _google(page)
        _assert_same_documents(page, data)
        first_three = [doc.title for doc in page.documents[:3]]
        assert [story.title for story in data.top_stories or []] == first_three
        assert [image.title for image in data.inline_images or []] == first_three

    def test_news_tab(self) -> None:
        page = CORPUS.page("pour over coffee", 1, 10)
        news = _google(page, tbm="nws")
        assert [item.link for item in news.news_results or []] == [
            doc.url for doc in page.documents[:3]
        ]
        assert (news.news_results or [])[0].snippet == page.documents[0].snippet
        assert news.organic_results == []

    def test_images_tab(self) -> None:
        page = CORPUS.page("pour over coffee", 1, 10)
        images = _google(page, udm=2)
        assert [image.link for image in images.images_results or []] == [
            doc.url for doc in page.documents[:3]
        ]

    def test_videos_tab(self) -> None:
        page = CORPUS.page("pour over coffee", 1, 10)
        videos = _google(page, tbm="vid")
        assert [video.link for video in videos.video_results or []] == [
            doc.url for doc in page.documents
        ]


async def test_over_socket_google_news_tab_is_asked_and_read(sandbox_url: str) -> None:
    engine = _engine("google", sandbox_url)
    params = SearchParams(engine="google", q="espresso machine", tbm="nws")
    request = engine.build_request(params)
    assert "tbm=nws" in request.url
    async with aiohttp.ClientSession() as session:
        data = engine.parse(await _fetch(session, request.url, request.headers), params)
    assert [item.title for item in data.news_results or []] == [
        doc.title for doc in CORPUS.page("espresso machine", 1, 10).documents[:3]
    ]

"""BraveEngine against a real captured Brave page, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshot holds the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.brave import BraveEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    return BraveEngine().parse(serp_page(page), SearchParams(engine="brave", q=q, **params))


def _parse_html(html: str, q: str = "x") -> SerpData:
    return BraveEngine().parse(html, SearchParams(engine="brave", q=q))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestWeb2026:
    """A March 2026 page for "javascript tutorial": 20 web results between videos and a FAQ."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("brave/web_2026-03.html", "javascript tutorial")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        # The video cluster, FAQ, "Find elsewhere" and related queries are not web results.
        assert len(results) == 20
        assert [r.position for r in results] == list(range(1, 21))
        first = results[0]
        assert first.title == "JavaScript Tutorial"
        assert first.link == "https://www.w3schools.com/js/"
        assert first.displayed_link == "w3schools.com › js"
        assert first.snippet == (
            "JavaScript is easy to learn. This tutorial covers everything from basic JavaScript "
            "up to the latest 2026 version."
        )
        assert first.date is None
        last = results[-1]
        assert last.title == "JavaScript Tutorial: Learn JavaScript from Scratch"
        assert last.link == "https://www.simplilearn.com/tutorials/javascript-tutorial"
        assert last.displayed_link == (
            "simplilearn.com › home › resources › software development › "
            "javascript tutorial: learn javascript from scratch"
        )

    def test_date_prefix_moves_out_of_the_snippet(self, data: SerpData) -> None:
        tutorial = data.organic_results[2]
        assert tutorial.link == "https://www.javascripttutorial.net/"
        assert tutorial.date == "December 13, 2024"
        assert tutorial.snippet is not None
        assert tutorial.snippet.startswith("Welcome to the JavaScriptTutorial.net website!")
        assert data.organic_results[-1].date == "December 1, 2025"
        assert data.organic_results[-1].snippet == (
            "This JavaScript tutorial✔️helps you to understand arrays, loops, functions, "
            "promises, objects in JavaScript. Read to learn more about JavaScript"
        )

    def test_video_result_keeps_its_description_and_age(self, data: SerpData) -> None:
        video = data.organic_results[4]
        assert video.title == "JavaScript Tutorial - GeeksforGeeks"
        assert video.link == "https://www.geeksforgeeks.org/javascript/javascript-tutorial/"
        assert video.snippet is not None
        assert video.snippet.startswith("HTML adds structure to a web page, CSS styles it")
        assert video.date == "3 weeks ago"

    def test_cluster_becomes_sitelinks(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        expanded = sitelinks.expanded or []
        assert [s.title for s in expanded] == ["Learn CSS", "Learn HTML", "Spaces", "Reference"]
        assert expanded[0].link == "https://www.w3schools.com/css/default.asp"
        assert expanded[0].snippet is not None
        assert expanded[0].snippet.startswith("W3Schools offers free online tutorials,")
        assert data.organic_results[1].sitelinks is None

    def test_related_searches(self, data: SerpData) -> None:
        related = data.related_searches or []
        assert len(related) == 8
        assert related[0].query == "javascript tutorialspoint"
        assert related[0].link == (
            "https://search.brave.com/search?q=javascript%20tutorialspoint&source=relatedQueries"
        )
        assert related[-1].query == "javascript tutorial freecodecamp"

    def test_faq_becomes_related_questions(self, data: SerpData) -> None:
        questions = data.related_questions or []
        assert [q.question for q in questions][:2] == [
            "What is JavaScript?",
            "What does JavaScript do?",
        ]
        assert questions[0].link == "https://www.codecademy.com/learn/introduction-to-javascript"
        assert questions[0].title == "Learn JavaScript | Codecademy"
        assert questions[0].snippet is not None
        assert questions[0].snippet.startswith("JavaScript is one of the most popular languages")

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.organic_results_state == "Results for exact spelling"
        # Brave shows no result count; the query comes from the page title.
        assert info.total_results is None
        assert info.query_displayed == "javascript tutorial"

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert pagination.next == (
            "https://search.brave.com/search?q=javascript%20tutorial&offset=1&spellcheck=0"
        )
        assert list(pagination.other_pages or {}) == ["2"]

    def test_positions_follow_start(self) -> None:
        data = _parse("brave/web_2026-03.html", "javascript tutorial", start=20, num=20)
        assert data.organic_results[0].position == 21

    def test_videos_cluster_as_inline_videos(self, data: SerpData) -> None:
        videos = data.inline_videos
        assert videos is not None
        assert len(videos) == 6
        first = videos[0]
        assert (first.title, first.link, first.platform, first.duration, first.date) == (
            "JavaScript tutorial for beginners 🌐 - YouTube",
            "https://www.youtube.com/watch?v=Ihy0QziLDf0",
            "YouTube",
            "12:03",
            "October 14, 2023",
        )
        assert videos[1].duration is None  # the second card shows none
        assert videos[5].link == "https://www.youtube.com/watch?v=OcwON22ctYc"
        organic = {r.link for r in data.organic_results}
        assert not organic & {v.link for v in videos}

    def test_golden(self, data: SerpData) -> None:
        assert_golden("brave/web_2026-03", data.model_dump(mode="json", exclude_none=True))


# The captured pages hold no Brave block page; these are small synthetic ones modelled on what
# Brave serves a distrusted client: its SvelteKit /captcha route (a proof-of-work card with a
# slider fallback) and the bare rate-limit answer.
@pytest.mark.parametrize(
    "html",
    [
        '<html><head><title>Brave Search</title></head><body><div class="captcha-card svelte-x">'
        '<h1>Confirm you\'re human</h1><div class="captcha-slider">'
        '<button class="captcha-slider-button"></button></div></div></body></html>',
        '<html><body><form method="post" action="/captcha/pow"><button>Continue</button>'
        "</form></body></html>",
        "<html><head><title>Verify you are human</title></head><body><main></main></body></html>",
        '<html><body><script>__sveltekit_x={route:{id:"/captcha"}}</script></body></html>',
        "<html><body><h1>429 Too Many Requests</h1><p>You are being rate limited.</p>"
        "</body></html>",
    ],
)
def test_challenge_pages_raise_blocked(html: str) -> None:
    with pytest.raises(BlockedError) as raised:
        _parse_html(html)
    assert raised.value.retry_after > 0


def test_page_without_results_is_fully_empty_not_an_error() -> None:
    html = (
        '<html><head><title>qwxzv - Brave Search</title></head><body><div id="results">'
        '<div class="snippet standalone" id="no-results">No results found</div></div></body></html>'
    )
    data = _parse_html(html, "qwxzv")
    assert data.organic_results == []
    assert data.search_information.organic_results_state == "Fully empty"
    assert data.pagination is None


def test_query_that_names_a_challenge_is_not_one() -> None:
    # An empty page echoes the query; "too many requests" there is the user's words, not Brave's.
    html = (
        "<html><head><title>too many requests - Brave Search</title></head>"
        '<body><div id="results"><div id="no-results">No results found</div></div></body></html>'
    )
    data = _parse_html(html, "too many requests")
    assert data.search_information.organic_results_state == "Fully empty"


def test_older_markup_with_result_header_and_snippet_description() -> None:
    # The 2023-24 markup: a.result-header, span.snippet-title, p.snippet-description.
    html = (
        '<html><body><div id="results"><div class="snippet fdb" data-pos="0" data-type="web">'
        '<a href="https://example.org/a" class="result-header"><span class="snippet-title">'
        'Example <strong>A</strong></span><div class="netloc">example.org</div></a>'
        '<p class="snippet-description">March 3, 2026 - What A is about.</p></div>'
        '<div class="snippet fdb" data-pos="1" data-type="ad">'
        '<a href="/a/redirect?click_url=x" class="result-header"><span class="snippet-title">'
        "Sponsored</span></a></div></div></body></html>"
    )
    results = _parse_html(html).organic_results
    assert [(r.title, r.link, r.displayed_link) for r in results] == [
        ("Example A", "https://example.org/a", "example.org")
    ]
    assert results[0].date == "March 3, 2026"
    assert results[0].snippet == "What A is about."


def test_relative_links_are_not_results() -> None:
    html = (
        '<html><body><div id="results"><div class="snippet" data-type="web">'
        '<a href="/a/redirect?x=1"><div class="title">Sponsored</div></a></div></div></body></html>'
    )
    # Not a result, and so nothing read: without Brave's "No results found" that is no answer.
    with pytest.raises(UnrecognizedPage):
        _parse_html(html)


class TestBuildRequest:
    def test_first_page(self) -> None:
        request = BraveEngine().build_request(SearchParams(engine="brave", q="coffee shops"))
        assert request.method == "GET"
        assert request.url.startswith("https://search.brave.com/search?")
        assert _query(request.url) == {"q": "coffee shops", "source": "web"}
        assert "Chrome" in request.headers["User-Agent"]

    def test_later_page_sends_the_page_index_as_offset(self) -> None:
        params = SearchParams(engine="brave", q="coffee", start=40, num=20)
        assert _query(BraveEngine().build_request(params).url)["offset"] == "2"

    def test_country_and_safe_search(self) -> None:
        params = SearchParams(engine="brave", q="kaffee", gl="de", safe="active")
        query = _query(BraveEngine().build_request(params).url)
        assert query["country"] == "de"
        assert query["safesearch"] == "strict"
        off = SearchParams(engine="brave", q="kaffee", safe="off")
        assert _query(BraveEngine().build_request(off).url)["safesearch"] == "off"

    def test_language_goes_to_accept_language(self) -> None:
        params = SearchParams(engine="brave", q="kaffee", hl="de")
        headers = BraveEngine().build_request(params).headers
        assert headers["Accept-Language"].startswith("de")

    def test_base_url_points_elsewhere(self) -> None:
        engine = BraveEngine(base_url="http://127.0.0.1:8080/brave/")
        request = engine.build_request(SearchParams(engine="brave", q="coffee"))
        assert request.url.startswith("http://127.0.0.1:8080/brave/search?")

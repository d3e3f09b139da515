"""YahooEngine against a real captured Yahoo page, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshot holds the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.yahoo import YahooEngine, unwrap
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    return YahooEngine().parse(serp_page(page), SearchParams(engine="yahoo", q=q, **params))


def _parse_html(html: str, q: str = "x") -> SerpData:
    return YahooEngine().parse(html, SearchParams(engine="yahoo", q=q))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestWeb2026:
    """A March 2026 page for "javascript tutorial", saved from a browser (direct links)."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("yahoo/web_2026-03.html", "javascript tutorial")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        # Seven algo results; the video carousel and "People also ask" sit between them.
        assert len(results) == 7
        assert [r.position for r in results] == list(range(1, 8))
        first = results[0]
        assert first.title == "JavaScript Tutorial - W3Schools"
        assert first.link == "https://www.w3schools.com/Js/"
        # The site name ("W3School") shares the breadcrumb's element and stays out of it.
        assert first.displayed_link == "https://www.w3schools.com › Js"
        assert first.snippet == (
            "Well organized and easy to understand Web building tutorials with lots of examples "
            "of how to use HTML, CSS, JavaScript, SQL, Python, PHP, Bootstrap, Java, XML and more."
        )
        last = results[-1]
        assert last.title == "Learn JavaScript - Codecademy"
        assert last.link == "https://www.codecademy.com/learn/introduction-to-javascript"
        assert last.displayed_link == "https://www.codecademy.com › learn › introduction-to-java"
        assert last.snippet == (
            "Begin your web development journey with our JavaScript course. Explore dynamic "
            "scripting for interactive web solutions."
        )

    def test_date_prefix_moves_out_of_the_snippet(self, data: SerpData) -> None:
        gfg = data.organic_results[2]
        assert gfg.title == "JavaScript Tutorial - GeeksforGeeks"
        assert gfg.date == "Mar 13, 2026"
        assert gfg.snippet is not None
        assert gfg.snippet.startswith("JavaScript provides a versatile set of data structures")
        assert data.organic_results[4].link == "https://javascript.info/"
        assert data.organic_results[4].date == "2 days ago"
        assert data.organic_results[5].date == "Oct 2, 2025"
        assert data.organic_results[0].date is None

    def test_quick_links_become_sitelinks(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        expanded = sitelinks.expanded or []
        assert len(expanded) == 10
        assert expanded[0].title == "Class Intro"
        assert expanded[0].link == "https://www.w3schools.com/Js/js_classes.asp"
        assert expanded[-1].title == "Js Arithmetic"
        assert data.organic_results[1].sitelinks is None

    def test_related_searches_from_both_blocks(self, data: SerpData) -> None:
        related = data.related_searches or []
        queries = [r.query for r in related]
        # Eight below the results, four more in the right rail; shared ones once.
        assert len(queries) == 12
        assert queries[0] == "javascript tutorial for beginners"
        assert queries[-1] == "javascript tutorial gfg"
        # The rail cuts labels short ("javascript tutorial... for geeks"); the link does not.
        assert "javascript tutorial geeks for geeks" in queries
        assert related[0].link is not None
        assert _query(related[0].link)["p"] == "javascript tutorial for beginners"

    def test_people_also_ask(self, data: SerpData) -> None:
        questions = data.related_questions or []
        assert len(questions) == 4
        assert questions[0].question == "What is the JavaScript tutorial?"
        assert questions[0].link == "https://www.javascripttutorial.net/"
        assert questions[0].displayed_link == "www.javascripttutorial.net/"
        assert (
            questions[-1].question == "How to learn data structure and algorithm with JavaScript?"
        )

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.organic_results_state == "Results for exact spelling"
        assert info.query_displayed == "javascript tutorial"
        # This capture shows no "About N search results" line.
        assert info.total_results is None

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert pagination.next is not None
        assert _query(pagination.next)["b"] == "8"
        assert sorted(pagination.other_pages or {}) == ["2", "3", "4", "5"]
        assert _query((pagination.other_pages or {})["5"])["b"] == "29"

    def test_golden(self, data: SerpData) -> None:
        assert_golden("yahoo/web_2026-03", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestHttpClient2021Hello:
    """The 2021 page for "Hello": a dictionary card, People also ask, videos, images and deals
    cards, none of which is a web result."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("yahoo/http_client_2021-05-10_q-hello.html", "Hello")

    def test_dictionary_answer_box(self, data: SerpData) -> None:
        box = data.answer_box
        assert box is not None
        assert (box.type, box.title, box.answer, box.snippet) == (
            "dictionary_results",
            "hel·lo",
            "used as a greeting or to begin a phone conversation",
            "/həˈlō/ exclamation",
        )

    def test_cards_stay_out_of_organic_results(self, data: SerpData) -> None:
        assert [r.title for r in data.organic_results] == [
            "Hello | Definition of Hello by Merriam-Webster",
            "HELLO! - Daily royal, celebrity, fashion, beauty & lifestyle news",
            "Adele - Hello - YouTube",
            "hello network",
            "Hello | Definition of Hello at Dictionary.com",
            "HELLO | meaning in the Cambridge English Dictionary",
            "Hello - Wikipedia",
            "HELLO! US Edition - Latest news and Photos",
            "Hello! | Super Simple Songs - YouTube",
        ]

    def test_related_questions(self, data: SerpData) -> None:
        assert data.related_questions is not None
        assert [q.question for q in data.related_questions] == [
            "What does Hello mean in texting?",
            "What is the plural of Hello?",
            "What is the history of the word Hello?",
            "What can you do with Hello?",
        ]

    def test_golden(self, data: SerpData) -> None:
        assert_golden(
            "yahoo/http_client_2021-05-10_q-hello", data.model_dump(mode="json", exclude_none=True)
        )


class TestUnwrap:
    def test_tracker_link_gives_its_target(self) -> None:
        href = (
            "https://r.search.yahoo.com/_ylt=AwrFG;_ylu=Y29sbwNiZjEEcG9zAzEE/RV=2/RE=1774/RO=10"
            "/RU=https%3a%2f%2fwww.example.com%2fa%3fb%3d1%26c%3d2/RK=2/RS=Qx1q-"
        )
        assert unwrap(href) == "https://www.example.com/a?b=1&c=2"

    def test_tracker_link_without_rk(self) -> None:
        assert unwrap("https://r.search.yahoo.com/x/RU=https%3a%2f%2fgo.dev%2f/RS=abc") == (
            "https://go.dev/"
        )

    def test_direct_link_is_kept(self) -> None:
        assert unwrap("https://www.w3schools.com/Js/") == "https://www.w3schools.com/Js/"


def test_served_page_with_tracker_links_and_older_title_markup() -> None:
    # How Yahoo served results to HTTP clients before the 2025 redesign: the breadcrumb inside
    # the title anchor, the clean title in aria-label, links behind the RU= tracker; and an ad.
    html = (
        '<html><body><div id="web"><ol class="searchCenterMiddle">'
        '<li><div class="dd algo algo-sr relsrch fst Sr"><div class="compTitle options-toggle">'
        '<h3 class="title"><a class="d-ib fz-20 lh-26 td-hu tc va-bot mxw-100p" aria-label='
        '"Go Docs" href="https://r.search.yahoo.com/_ylt=A0/RV=2/RE=17/RO=10/RU=https%3a%2f%2f'
        'go.dev%2fdoc%2f/RK=2/RS=abc-"><span class=" d-ib p-abs t-0 l-0 fz-14 lh-20 fc-obsidian'
        ' wr-bw ls-n pb-4">go.dev/doc</span>Go Docs</a></h3></div><div class="compText aAbs">'
        '<p class="fz-ms lh-1_43x">The Go <b>programming</b> language.</p></div></div></li>'
        '<li><div class="dd algo algo-sr relsrch Sr"><div class="compTitle"><h3 class="title">'
        '<a href="https://www.bing.com/aclick?ld=e8abc">Sponsored</a></h3></div></div></li>'
        "</ol></div></body></html>"
    )
    results = _parse_html(html).organic_results
    assert len(results) == 1
    assert results[0].title == "Go Docs"
    assert results[0].link == "https://go.dev/doc/"
    assert results[0].displayed_link == "go.dev/doc"
    assert results[0].snippet == "The Go programming language."


def test_total_results_from_the_pager() -> None:
    html = (
        '<html><body><div id="web"><ol><li><div class="dd algo algo-sr"><div class="compTitle">'
        '<a href="https://example.org/"><h3 class="title">Example</h3></a></div></div></li></ol>'
        '</div><div class="compPagination"><div class="pages"><strong>1</strong></div>'
        "<span>About 1,230,000 search results</span></div></body></html>"
    )
    assert _parse_html(html).search_information.total_results == 1_230_000


def test_page_without_results_is_fully_empty_not_an_error() -> None:
    html = (
        '<html><body><div id="web"><ol><li><div class="dd zrp"><p>We did not find results for:'
        " <b>qwxzv</b>. Check spelling or type a new query.</p></div></li></ol></div></body></html>"
    )
    data = _parse_html(html, "qwxzv")
    assert data.organic_results == []
    assert data.search_information.organic_results_state == "Fully empty"
    assert data.pagination is None


# The captured pages hold no Yahoo refusal; these are small synthetic ones modelled on what Yahoo
# serves: the GDPR consent wall at consent.yahoo.com, the bare "error 999" rate-limit page, and
# a CAPTCHA form.
def test_consent_wall_raises_blocked() -> None:
    html = (
        "<html><head><title>Yahoo is part of the Yahoo family of brands</title></head><body>"
        '<div id="consent-page"><form method="post" class="consent-form" action="https://'
        'consent.yahoo.com/v2/collectConsent?sessionId=3_cc-session_abc">'
        '<input type="hidden" name="csrfToken" value="x">'
        '<button type="submit" name="agree" value="agree">Accept all</button>'
        '<button type="submit" name="reject" value="reject">Reject all</button>'
        "</form></div></body></html>"
    )
    with pytest.raises(BlockedError, match="consent"):
        _parse_html(html)


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><p>Sorry, Unable to process request at this time -- error 999.</p>"
        "</body></html>",
        '<html><body><form action="/captcha/verify"><div class="g-recaptcha" data-sitekey="k">'
        "</div></form></body></html>",
    ],
)
def test_rate_limit_and_captcha_raise_blocked(html: str) -> None:
    with pytest.raises(BlockedError) as raised:
        _parse_html(html)
    assert raised.value.retry_after > 0


class TestBuildRequest:
    def test_first_page(self) -> None:
        request = YahooEngine().build_request(SearchParams(engine="yahoo", q="coffee shops"))
        assert request.method == "GET"
        assert request.url.startswith("https://search.yahoo.com/search?")
        assert _query(request.url) == {"p": "coffee shops", "b": "1", "pz": "10"}
        assert "Chrome" in request.headers["User-Agent"]

    def test_later_page_uses_the_rank_of_its_first_result(self) -> None:
        params = SearchParams(engine="yahoo", q="coffee", start=20, num=20)
        query = _query(YahooEngine().build_request(params).url)
        assert (query["b"], query["pz"]) == ("21", "20")

    def test_language_and_safe_search(self) -> None:
        params = SearchParams(engine="yahoo", q="kaffee", hl="de", safe="active")
        request = YahooEngine().build_request(params)
        assert _query(request.url)["vl"] == "lang_de"
        # Yahoo keeps both as preferences in its sB cookie.
        preferences = parse_qs(request.headers["Cookie"].removeprefix("sB="))
        assert preferences["vm"] == ["r"]
        assert preferences["vl"] == ["lang_de"]
        off = SearchParams(engine="yahoo", q="kaffee", safe="off")
        cookie = YahooEngine().build_request(off).headers["Cookie"]
        assert parse_qs(cookie.removeprefix("sB="))["vm"] == ["p"]

    def test_chinese_scripts_are_told_apart(self) -> None:
        for hl, language in (("zh-tw", "lang_zh_cht"), ("zh-cn", "lang_zh_chs"), ("fr", "lang_fr")):
            params = SearchParams(engine="yahoo", q="tea", hl=hl)
            assert _query(YahooEngine().build_request(params).url)["vl"] == language

    def test_base_url_points_elsewhere(self) -> None:
        engine = YahooEngine(base_url="http://127.0.0.1:8080/yahoo/")
        request = engine.build_request(SearchParams(engine="yahoo", q="coffee"))
        assert request.url.startswith("http://127.0.0.1:8080/yahoo/search?")

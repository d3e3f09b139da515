"""GoogleEngine against real captured Google pages, small pages in Google's markup for the
blocks no capture holds, and the requests it builds.

Every expected value from a captured page was read off the page itself; the golden snapshots
hold the rest. Sanitized captures have every link replaced by ``http://test.test``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.base import MOBILE_UA
from serpgate.engines.google import GoogleEngine
from serpgate.engines.google.engine import uule
from serpgate.engines.google.links import Links
from serpgate.errors import BlockedError, JavaScriptRequired, UnrecognizedPage, UpstreamError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import SERP_DIR, serp_page
from tests.golden import assert_golden

RESULT_PAGES = (
    "desktop_2023-04-21_q-coffee",
    "desktop_2023-04-21_q-google",
    "desktop_2026-05-27_sanitized",
    "mobile_2023-04-21_q-google",
    "nojs_2023-06-02_q-google",
    "no_results_2026-04-13_sanitized",
)


def _params(q: str = "coffee", **params: object) -> SearchParams:
    return SearchParams(engine="google", q=q, **params)


def _parse(page: str, q: str, **params: object) -> SerpData:
    return GoogleEngine().parse(serp_page(f"google/{page}.html"), _params(q, **params))


def _parse_html(html: str, q: str = "coffee", **params: object) -> SerpData:
    return GoogleEngine().parse(html, _params(q, **params))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
@pytest.mark.parametrize("page", RESULT_PAGES)
def test_golden(page: str) -> None:
    data = _parse(page, "google")
    assert_golden(f"google/{page}", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestDesktopCoffee2023:
    """A 100-result page from San Francisco: local pack, PAA, knowledge panel, a video."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2023-04-21_q-coffee", "coffee", num=100)

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 95
        assert [r.position for r in results] == list(range(1, 96))
        first, last = results[0], results[-1]
        assert (first.title, first.link) == ("Coffee", "https://en.wikipedia.org/wiki/Coffee")
        assert first.displayed_link == "https://en.wikipedia.org › wiki › Coffee"
        assert first.source == "Wikipedia"
        assert first.snippet is not None
        assert first.snippet.startswith("Coffee is a beverage prepared from roasted coffee beans.")
        assert last.title == "Single Serve Coffee Makers & K-Cup Pods | Keurig®"
        assert last.link == "https://www.keurig.com/"

    def test_inline_sitelinks(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        assert sitelinks.inline is not None
        assert [s.title for s in sitelinks.inline] == [
            "History",
            "Coffee bean",
            "Coffee production",
            "Coffee preparation",
        ]
        assert sitelinks.inline[1].link == "https://en.wikipedia.org/wiki/Coffee_bean"

    def test_dated_snippet(self, data: SerpData) -> None:
        cnn = next(r for r in data.organic_results if r.link.startswith("https://www.cnn.com/"))
        assert cnn.title == "Coffee affects physical activity and sleep, study finds - CNN"
        assert cnn.date == "Mar 27, 2023"
        assert cnn.snippet is not None
        assert cnn.snippet.startswith("Coffee has differing effects on physical activity")

    def test_results_indented_under_their_site_keep_positions(self, data: SerpData) -> None:
        titles = [r.title for r in data.organic_results[12:15]]
        assert titles == ["Starbucks Coffee Company", "Starbucks Coffee Company", "Cold Coffees"]
        assert data.organic_results[14].link == "https://www.starbucks.com/menu/drinks/cold-coffees"

    def test_video_result(self, data: SerpData) -> None:
        video = next(r for r in data.organic_results if "youtube.com" in r.link)
        assert video.title == "Beabadoobee - Coffee - YouTube"
        assert video.link == "https://www.youtube.com/watch?v=C6CeA6vRtW4"
        assert video.snippet is not None
        # The page itself runs the description's lines together.
        assert video.snippet.startswith("Beabadoobee - CoffeeListen on Spotify - http://dirtyh")

    def test_carousels_are_not_organic(self, data: SerpData) -> None:
        titles = {r.title for r in data.organic_results}
        assert "Crumb Lover’s Coffee Cake" not in titles  # the recipes carousel
        assert "Javalencia" not in titles  # the local pack

    def test_local_pack(self, data: SerpData) -> None:
        assert data.local_results is not None
        places = data.local_results.places
        assert [p.title for p in places] == ["Javalencia", "Blue Bottle Coffee", "Planet Cafe"]
        first = places[0]
        assert (first.rating, first.reviews, first.type) == (4.4, 71, "Coffee shop")
        assert first.address == "1594 Market St"
        assert (places[1].rating, places[1].reviews, places[1].type) == (4.1, 30, "Coffee shop")
        assert places[2].address == "244 Gough St"
        more = data.local_results.more_locations_link
        assert more is not None
        assert _query(more)["tbm"] == "lcl"

    def test_people_also_ask(self, data: SerpData) -> None:
        assert data.related_questions is not None
        assert [q.question for q in data.related_questions] == [
            "Is coffee good for health?",
            "How coffee affects the body?",
            "What are the 4 types of coffee?",
            "Which coffee brand is best?",
        ]

    def test_knowledge_graph(self, data: SerpData) -> None:
        graph = data.knowledge_graph
        assert graph is not None
        assert (graph.title, graph.type) == ("Coffee", "Beverage")
        assert graph.description is not None
        assert graph.description.startswith("Coffee is a beverage prepared from roasted")
        assert graph.source is not None
        assert graph.source.link == "https://en.wikipedia.org/wiki/Coffee"
        assert graph.attributes == {"acidity_level": "about 5"}

    def test_related_searches(self, data: SerpData) -> None:
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == [
            "coffee near me",
            "coffee types",
            "coffee beans",
            "coffee starbucks",
            "coffee origin",
            "coffee benefits",
            "coffee plant",
            "coffee shop",
        ]

    def test_statistics_and_next_page(self, data: SerpData) -> None:
        info = data.search_information
        assert (info.total_results, info.time_taken_displayed) == (3_420_000_000, 1.13)
        assert info.query_displayed == "coffee"
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert _query(data.pagination.next)["start"] == "100"

    def test_no_ads_no_answer_box(self, data: SerpData) -> None:
        assert data.ads is None
        assert data.answer_box is None
        assert data.top_stories is None


@pytest.mark.fixtures
class TestDesktopGoogle2023:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2023-04-21_q-google", "google")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 9
        assert (results[0].title, results[0].link) == ("Google", "https://google.com/")
        assert results[2].title == "Google Account"
        assert results[2].displayed_link == "https://www.google.com › account › about"
        assert results[2].snippet == (
            "In your Google Account, you can see and manage your info, activity, ..."
        )
        assert (results[-1].title, results[-1].link) == ("Google", "https://images.google.com/")

    def test_inline_sitelinks(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        assert sitelinks.inline is not None
        assert [(s.title, s.link) for s in sitelinks.inline] == [
            ("Drive", "https://www.google.com/drive/"),
            ("Photos", "https://www.google.com/photos/about/"),
            ("Connect a device", "https://www.google.com/device"),
            ("Google Earth", "https://earth.google.com/"),
        ]

    def test_top_stories(self, data: SerpData) -> None:
        stories = data.top_stories
        assert stories is not None
        assert len(stories) == 7
        assert stories[0].title == (
            "Google Nest speakers will now chime instead of talk when controlling smart "
            "home devices"
        )
        assert (stories[0].source, stories[0].date) == ("The Verge", "26 mins ago")
        assert stories[0].link.startswith("https://www.theverge.com/2023/4/21/23692794/")
        assert stories[-1].title == "How to organize your Google Drive: 5 tips to know"
        assert (stories[-1].source, stories[-1].date) == ("ZDNET", "10 hours ago")

    def test_knowledge_graph(self, data: SerpData) -> None:
        graph = data.knowledge_graph
        assert graph is not None
        assert (graph.title, graph.type) == ("Google", "Technology company")
        assert graph.website == "http://www.google.com/"
        assert graph.attributes is not None
        assert graph.attributes["founders"] == "Larry Page, Sergey Brin"
        assert graph.attributes["subsidiaries"] == "YouTube, Google UK, Google Japan, Kaggle"
        assert graph.attributes["ceo"] == "Sundar Pichai (Oct 2, 2015–)"

    def test_people_also_ask_and_related(self, data: SerpData) -> None:
        assert data.related_questions is not None
        assert data.related_questions[0].question == "What does Google stand for?"
        assert len(data.related_questions) == 4
        assert data.related_searches is not None
        assert len(data.related_searches) == 8
        assert data.related_searches[0].query == "google map"

    def test_statistics(self, data: SerpData) -> None:
        info = data.search_information
        assert (info.total_results, info.time_taken_displayed) == (25_150_000_000, 0.62)


@pytest.mark.fixtures
class TestDesktop2026Sanitized:
    """A 2026 DOM snapshot with a German interface: the numbered pager is back."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2026-05-27_sanitized", "how to fetch in JS")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert results[0].title == "Using the Fetch API - MDN Web Docs"
        assert results[0].source == "MDN Web Docs"
        assert results[0].date == "20.08.2025"
        assert results[0].snippet is not None
        assert results[0].snippet.startswith("With the Fetch API, you")
        assert results[-1].title == "Using Fetch API to Access JSON - javascript"
        assert results[-1].source == "Stack Overflow"
        assert {r.link for r in results} == {"http://test.test"}

    def test_video_results_are_organic(self, data: SerpData) -> None:
        video = data.organic_results[4]
        assert video.title == "How to FETCH data from an API using JavaScript ↩️"
        assert video.source == "YouTube · Bro Code"
        assert video.snippet is not None

    def test_statistics_in_german(self, data: SerpData) -> None:
        info = data.search_information
        assert (info.total_results, info.time_taken_displayed) == (114_000_000, 0.25)
        assert info.query_displayed == "how to fetch in JS"

    def test_related_searches_keep_their_spaces(self, data: SerpData) -> None:
        # The snapshot dropped the space before each bolded word; the link still has it.
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches][:3] == [
            "Fetch mode",
            "Await fetch",
            "Fetch HTML",
        ]
        assert len(data.related_searches) == 8

    def test_numbered_pager(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert pagination.next is not None
        assert _query(pagination.next)["start"] == "10"
        assert list(pagination.other_pages or {}) == [str(n) for n in range(2, 11)]
        assert _query((pagination.other_pages or {})["10"])["start"] == "90"

    def test_no_answer_box_without_an_ai_overview(self, data: SerpData) -> None:
        assert data.answer_box is None
        assert data.related_questions is None


@pytest.mark.fixtures
class TestMobile2023:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("mobile_2023-04-21_q-google", "google", device="mobile")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert [r.title for r in results] == ["Google", "Google", "Google Account"]
        assert [r.link for r in results] == [
            "https://google.com/",
            "https://www.google.com/",
            "https://www.google.com/account/about/",
        ]
        assert results[2].displayed_link == "https://www.google.com › about"
        assert results[2].source == "Google"
        assert results[1].snippet == (
            "Search the world's information, including webpages, images, videos and more."
        )

    def test_sitelink_chips(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        assert sitelinks.inline is not None
        assert len(sitelinks.inline) == 7
        assert sitelinks.inline[-1].title == "Google Fonts"

    def test_people_also_ask_and_more_results(self, data: SerpData) -> None:
        assert data.related_questions is not None
        assert len(data.related_questions) == 4
        assert data.search_information.total_results is None  # mobile shows no count
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert _query(data.pagination.next)["start"] == "10"


@pytest.mark.fixtures
class TestBasicNoJs2023:
    """The basic page plain HTTP clients got until 2025: /url?q= redirects everywhere."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("nojs_2023-06-02_q-google", "google")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert (results[0].title, results[0].link) == ("Google", "https://www.google.com/")
        assert results[0].displayed_link == "www.google.com"
        assert results[0].snippet is not None
        assert results[0].snippet.startswith("Search the world's information")
        assert results[-1].title == (
            "Classroom Management Tools & Resources - Google for Education"
        )
        assert results[-1].link == "https://edu.google.com/workspace-for-education/classroom/"
        assert results[-1].snippet == (
            "Google Classroom is your all-in-one place for teaching and learning."
        )

    def test_redirects_unwrapped(self, data: SerpData) -> None:
        assert all("/url?" not in r.link for r in data.organic_results)
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        assert sitelinks.inline is not None
        assert [s.title for s in sitelinks.inline] == ["Google device", "Docs", "Drive", "Images"]
        assert sitelinks.inline[3].link == "https://www.google.com/imghp?hl=EN"

    def test_knowledge_graph(self, data: SerpData) -> None:
        graph = data.knowledge_graph
        assert graph is not None
        assert (graph.title, graph.type, graph.website) == (
            "Google",
            "Technology company",
            "http://www.google.com/",
        )
        assert graph.source is not None
        assert graph.source.name == "Wikipedia"
        assert graph.attributes is not None
        assert graph.attributes["founders"] == "Larry Page and Sergey Brin"
        assert graph.attributes["cmo"] == "Lorraine Twohill"

    def test_related_searches_and_next(self, data: SerpData) -> None:
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == [
            "www.google search web",
            "Google account",
            "Google Maps",
            "Google Mail",
            "Google Play",
            "Google image search upload",
            "Google Account sign in",
            "Google Images",
        ]
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert _query(data.pagination.next)["start"] == "10"

    def test_positions_follow_start(self) -> None:
        data = _parse("nojs_2023-06-02_q-google", "google", start=10)
        assert [r.position for r in data.organic_results] == list(range(11, 21))


@pytest.mark.fixtures
def test_no_results_page_is_fully_empty() -> None:
    data = _parse("no_results_2026-04-13_sanitized", "123123123123")
    assert data.organic_results == []
    info = data.search_information
    assert info.organic_results_state == "Fully empty"
    assert (info.total_results, info.time_taken_displayed) == (0, 0.25)


@pytest.mark.fixtures
@pytest.mark.parametrize("page", ["block_recaptcha_2020", "block_sorry_2026"])
def test_sorry_pages_are_blocks(page: str) -> None:
    with pytest.raises(BlockedError, match="unusual traffic") as raised:
        _parse(page, "weather")
    assert not isinstance(raised.value, JavaScriptRequired)
    assert raised.value.retry_after > 0


# The page Google has answered plain HTTP clients since January 2025, as it arrives: a title,
# a <noscript> refresh to /httpservice/retry/enablejs, an obfuscated script, and a fallback
# link carrying emsg=SG_REL.
ENABLE_JS_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Google Search</title>
<style>body{background-color:var(--xhUGwc)}</style></head><body>
<noscript><style>table,div,span,p{display:none}</style>
<meta content="0;url=/httpservice/retry/enablejs?sei=Yt2nacGCPcjO5OUPkMycAQ" http-equiv="refresh">
<div style="display:block">Please click
<a href="/httpservice/retry/enablejs?sei=Yt2nacGCPcjO5OUPkMycAQ">here</a>
if you are not redirected within a few seconds.</div></noscript>
<script nonce="n0nce">(function(){var sctm=false;})();</script>
<div class="lJ9FBc">If you're having trouble accessing Google Search, please&nbsp;<a
href="/search?q=coffee&amp;sca_esv=5339e6c0&amp;emsg=SG_REL&amp;sei=Yt2nacGCPcjO5OUPkMycAQ">click
here</a>, or send&nbsp;<a href="https://support.google.com/websearch">feedback</a>.</div>
</body></html>"""


class TestJavaScriptWall:
    def test_enable_javascript_page(self) -> None:
        with pytest.raises(JavaScriptRequired):
            _parse_html(ENABLE_JS_PAGE)

    def test_is_a_block(self) -> None:
        with pytest.raises(BlockedError):
            _parse_html(ENABLE_JS_PAGE)

    def test_fallback_link_alone(self) -> None:
        page = (
            "<html><head><title>Google Search</title></head><body><div>If you're having trouble"
            ' accessing Google Search, please <a href="/search?q=x&amp;emsg=SG_REL">click here'
            "</a>.</div></body></html>"
        )
        with pytest.raises(JavaScriptRequired):
            _parse_html(page)

    def test_turn_on_javascript_card(self) -> None:
        page = (
            "<html><head><title>Google Search</title></head><body><div><h1>Turn on JavaScript"
            " to keep searching</h1><p>The browser you're using has JavaScript turned off. To"
            " continue your search, turn it on.</p></div></body></html>"
        )
        with pytest.raises(JavaScriptRequired):
            _parse_html(page)

    def test_result_page_with_the_same_noscript_is_not_a_wall(self) -> None:
        page = (
            '<html><body><noscript><meta content="0;url=/httpservice/retry/enablejs?sei=x" '
            'http-equiv="refresh"></noscript><div id="center_col"><div id="rso">'
            f"{_result('https://example.com/', 'Example Domain')}</div></div></body></html>"
        )
        assert [r.title for r in _parse_html(page).organic_results] == ["Example Domain"]


def test_sorry_page_without_a_form_is_a_block() -> None:
    page = (
        "<html><body><div>Our systems have detected unusual traffic from your computer "
        "network. Please try your request again later.</div></body></html>"
    )
    with pytest.raises(BlockedError, match="unusual traffic"):
        _parse_html(page)


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><h1>502.</h1><p>That’s an error.</p></body></html>",
        "<html><body>hello</body></html>",
        "",
        # A results container with nothing in it and no "did not match" notice: a new layout,
        # or a body cut off after the container opened.
        '<html><body><div id="center_col"><div id="rso"><div class="new-card">'
        "<span>Example</span></div></div></div></body></html>",
        # The basic page's hidden search-tools card alone.
        '<html><body><div class="ZINbbc" style="display:none">Any time</div></body></html>',
    ],
)
def test_unknown_pages_are_unrecognized_not_empty_results(page: str) -> None:
    with pytest.raises(UnrecognizedPage):
        _parse_html(page)


def test_empty_results_page_with_googles_notice_is_no_results() -> None:
    page = (
        '<html><body><div id="center_col"><div id="topstuff"><div class="card-section"><p>'
        "Your search - <em>zzxq</em> - did not match any documents.</p></div></div>"
        '<div id="rso"></div></div></body></html>'
    )
    data = _parse_html(page)
    assert data.organic_results == []
    assert data.search_information.organic_results_state == "Fully empty"


def test_consent_page_is_a_block() -> None:
    page = (
        "<html><body><h1>Before you continue to Google</h1>"
        '<form action="https://consent.google.com/save" method="POST">'
        '<input type="hidden" name="set_eom" value="true"><button>Reject all</button></form>'
        "</body></html>"
    )
    with pytest.raises(BlockedError, match="consent"):
        _parse_html(page)


def _result(url: str, title: str, snippet: str = "A page.") -> str:
    """One organic result in 2023 desktop markup."""
    return (
        '<div class="MjjYud"><div class="g" jscontroller="SC7lYd" data-hveid="CAEQAA">'
        f'<div class="yuRUbf"><a href="{url}"><br><h3 class="LC20lb">{title}</h3>'
        f'<div class="TbwUpd"><cite role="text">{url}</cite></div></a></div>'
        f'<div data-sncf="1" data-snf="nke7rc"><div class="VwiC3b">{snippet}</div></div>'
        "</div></div>"
    )


# Blocks no capture holds, in the markup Google shipped them with (2023-2025): ads above and
# below the results, a featured snippet, an expanded sitelinks grid, a local pack with hours,
# and a news card.
FEATURES_PAGE = f"""<html><body><div id="center_col">
<div id="taw"><div id="tvcap"><div id="tads" aria-label="Ads" role="region">
 <div data-text-ad="1" class="uEierd" data-ta-slot="0" data-hveid="CAIQAA">
  <div class="v5yQqb"><a class="sVXRqc" data-pcu="https://www.roaster.example/,https://www.roaster.example/shop"
   href="https://www.googleadservices.com/pagead/aclk?sa=L&amp;ai=DChcS&amp;adurl=">
   <div class="CCgQ5 vCa9Yd QfkTvb N8QANc Va3FIb EE3Upf" role="heading" aria-level="3">
    <span>Fresh Coffee Beans - Roasted To Order</span></div>
   <div class="d8lRkd"><span class="U3A9Ac qV8iec">Sponsored</span>
    <span class="x2VHCd OSrXXb ob9lvb" role="text">https://www.roaster.example/shop</span></div>
  </a></div>
  <div class="MUxGbd yDYNvb lyLwlc lEBKkf">Small-batch coffee, roasted the day it ships.</div>
 </div>
 <div data-text-ad="1" class="uEierd" data-ta-slot="0" data-hveid="CAMQAA">
  <div class="v5yQqb"><a class="sVXRqc" data-pcu="https://grinders.example/"
   href="https://www.googleadservices.com/pagead/aclk?sa=L&amp;ai=DChcT">
   <div role="heading" aria-level="3"><span>Burr Grinders on Sale</span></div>
   <span role="text">grinders.example</span></a></div>
  <div class="MUxGbd yDYNvb lyLwlc">Conical burrs for every brew.</div>
 </div></div></div></div>
<div id="res" role="main"><div id="search"><div id="rso">
 <div class="ULSxyf"><block-component><div class="g wF4fFd JnwWd g-blk" data-hveid="CA0QAA">
  <div class="xpdopen"><div class="ifM9O"><div class="wDYxhc" data-md="61">
   <div class="LGOjhe" data-attrid="wa:/description" aria-level="3" role="heading">
    <span class="ILfuVd"><span class="hgKElc">Coffee is a beverage brewed from roasted
    <b>coffee beans</b>.</span></span></div></div>
  <div class="yuRUbf"><a href="https://en.wikipedia.org/wiki/Coffee"><br>
   <h3 class="LC20lb MBeuO DKV0Md">Coffee - Wikipedia</h3><div class="TbwUpd NJjxre">
   <cite class="iUh30 tjvcx" role="text">https://en.wikipedia.org<span> › wiki › Coffee</span>
   </cite></div></a></div></div></div></div></block-component></div>
 <div class="MjjYud"><div class="g" data-hveid="CAQQAA">
  <div jscontroller="SC7lYd" data-hveid="CAUQAA"><div class="yuRUbf">
   <a href="https://www.starbucks.com/"><br><h3 class="LC20lb">Starbucks Coffee Company</h3>
   <div class="TbwUpd"><span class="VuuXrf">Starbucks</span>
   <cite role="text">https://www.starbucks.com</cite></div></a></div>
   <div data-sncf="1" data-snf="nke7rc"><div class="VwiC3b">More than just great coffee.</div></div>
  </div>
  <div class="VttTV"><table class="jmjoTe"><tbody><tr class="mslg">
   <td><div class="usJj9c"><h3 class="r"><a class="l" href="https://www.starbucks.com/menu">Menu</a></h3>
    <div class="zz3gNc">Explore our menu of drinks and food.</div></div></td>
   <td><div class="usJj9c"><h3 class="r"><a class="l" href="https://www.starbucks.com/rewards">Rewards</a></h3>
    <div class="zz3gNc">Join Starbucks Rewards.</div></div></td></tr></tbody></table></div>
 </div></div>
 {_result("https://www.peets.com/", "Peet's Coffee", "Since 1966.")}
 <div class="ULSxyf"><div class="MjjYud"><div jsmodel="QPRQHf"><h2>Local Results</h2>
  <div jscontroller="AtSb" class="w7Dbne"><div class="rllt__details">
   <div class="dbg0pd" aria-level="3" role="heading">
    <span class="OSrXXb">Ritual Coffee Roasters</span></div>
   <div><span class="Y0A0hc"><span class="yi40Hd YrbPuc">4.5</span><span class="z3HNkc"
    aria-label="Rated 4.5 out of 5," role="img"></span>
    <span class="RDApEe YrbPuc">(1.2K)</span></span>
    · <span aria-label="Moderately expensive" role="img">$$</span> · Coffee shop</div>
   <div>1026 Valencia St</div>
   <div><span class="WQWxe">Open</span> ⋅ Closes 6 PM</div></div></div>
  <g-more-link><a href="/search?q=coffee&amp;tbm=lcl">More places</a></g-more-link>
 </div></div></div>
 <div class="MjjYud"><g-section-with-header><div aria-level="2" role="heading">Top stories</div>
  <div class="SoaBEf"><a class="WlydOe" href="https://news.example/coffee-prices">
   <div class="SoAPf"><div class="MgUUmf NUnG9d"><span>Daily Grind</span></div>
   <div class="n0jPhd ynAwRc MBeuO nDgy9d" role="heading" aria-level="3">
    Coffee prices hit a record</div>
   <div class="GI74Re nDgy9d">Arabica futures rose again.</div>
   <div class="OSrXXb rbYSKb LfVVr"><span>2 hours ago</span></div></div></a></div>
 </g-section-with-header></div>
</div></div></div>
<div id="bottomads"><div id="tadsb" aria-label="Ads" role="region">
 <div data-text-ad="1" data-hveid="CBEQAA"><a data-pcu="https://mugs.example/"
   href="https://www.googleadservices.com/pagead/aclk?sa=L&amp;ai=DChcU">
   <div role="heading" aria-level="3"><span>Coffee Mugs</span></div></a>
  <div class="MUxGbd yDYNvb lyLwlc">Stoneware mugs.</div></div></div></div>
</div></body></html>"""


class TestFeaturesPage:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse_html(FEATURES_PAGE)

    def test_ads_top_and_bottom(self, data: SerpData) -> None:
        assert data.ads is not None
        assert [(a.position, a.block_position, a.title) for a in data.ads] == [
            (1, "top", "Fresh Coffee Beans - Roasted To Order"),
            (2, "top", "Burr Grinders on Sale"),
            (3, "bottom", "Coffee Mugs"),
        ]
        first = data.ads[0]
        assert first.link == "https://www.roaster.example/"
        assert first.displayed_link == "https://www.roaster.example/shop"
        assert first.description == "Small-batch coffee, roasted the day it ships."

    def test_featured_snippet(self, data: SerpData) -> None:
        box = data.answer_box
        assert box is not None
        assert box.type == "organic_result"
        assert box.snippet == "Coffee is a beverage brewed from roasted coffee beans."
        assert (box.title, box.link) == (
            "Coffee - Wikipedia",
            "https://en.wikipedia.org/wiki/Coffee",
        )
        assert box.displayed_link == "https://en.wikipedia.org › wiki › Coffee"

    def test_organic_results_skip_every_feature(self, data: SerpData) -> None:
        assert [r.title for r in data.organic_results] == [
            "Starbucks Coffee Company",
            "Peet's Coffee",
        ]

    def test_expanded_sitelinks(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        assert sitelinks.expanded is not None
        assert [(s.title, s.link, s.snippet) for s in sitelinks.expanded] == [
            ("Menu", "https://www.starbucks.com/menu", "Explore our menu of drinks and food."),
            ("Rewards", "https://www.starbucks.com/rewards", "Join Starbucks Rewards."),
        ]
        assert data.organic_results[1].sitelinks is None

    def test_local_pack_with_hours(self, data: SerpData) -> None:
        assert data.local_results is not None
        (place,) = data.local_results.places
        assert place.title == "Ritual Coffee Roasters"
        assert (place.rating, place.reviews, place.type) == (4.5, 1200, "Coffee shop")
        assert (place.address, place.hours) == ("1026 Valencia St", "Open ⋅ Closes 6 PM")
        assert data.local_results.more_locations_link == (
            "https://www.google.com/search?q=coffee&tbm=lcl"
        )

    def test_news_card(self, data: SerpData) -> None:
        assert data.top_stories is not None
        (story,) = data.top_stories
        assert (story.title, story.source, story.date) == (
            "Coffee prices hit a record",
            "Daily Grind",
            "2 hours ago",
        )


def test_calculator_answer_box() -> None:
    page = (
        '<html><body><div id="center_col"><div id="rso"><div class="card-section">'
        '<span id="cwles">6 × 7 =</span><span id="cwos" class="qv3Wpe">42</span>'
        "</div></div></div></body></html>"
    )
    box = _parse_html(page).answer_box
    assert box is not None
    assert (box.type, box.answer) == ("calculator_result", "42")


class TestLinks:
    def test_unwraps_google_redirects(self) -> None:
        links = Links("https://www.google.com")
        assert links.target("/url?q=https://example.com/a%3Fb%3D1&sa=U") == (
            "https://example.com/a?b=1"
        )
        assert links.target("https://www.google.com/url?url=https://example.com/&sa=t") == (
            "https://example.com/"
        )

    def test_leaves_other_links_alone(self) -> None:
        links = Links("https://www.google.com")
        assert links.target("https://example.com/url?q=https://elsewhere.example/") == (
            "https://example.com/url?q=https://elsewhere.example/"
        )
        assert links.target("/search?q=tea") == "https://www.google.com/search?q=tea"
        assert links.target("#") is None

    def test_keeps_a_mount_path(self) -> None:
        links = Links("http://127.0.0.1:8000/google")
        assert links.absolute("/google/search?q=tea") == "http://127.0.0.1:8000/google/search?q=tea"


class TestBuildRequest:
    def test_minimal(self) -> None:
        request = GoogleEngine().build_request(_params("coffee beans"))
        assert request.method == "GET"
        assert request.url == "https://www.google.com/search?q=coffee+beans"
        assert "Chrome" in request.headers["User-Agent"]

    def test_paging_language_country_safe(self) -> None:
        request = GoogleEngine().build_request(
            _params("kaffee", start=20, num=20, hl="de", gl="at", safe="active")
        )
        assert request.url.startswith("https://www.google.com/search?")
        assert _query(request.url) == {
            "q": "kaffee",
            "start": "20",
            "num": "20",
            "hl": "de",
            "gl": "at",
            "safe": "active",
        }
        assert request.headers["Accept-Language"].startswith("de")

    def test_google_domain_picks_the_host(self) -> None:
        request = GoogleEngine().build_request(_params(google_domain="google.co.uk"))
        assert urlsplit(request.url).netloc == "www.google.co.uk"

    def test_configured_base_url_wins_over_google_domain(self) -> None:
        engine = GoogleEngine(base_url="http://127.0.0.1:8000/google/")
        request = engine.build_request(_params(google_domain="google.de"))
        assert request.url == "http://127.0.0.1:8000/google/search?q=coffee"

    def test_location_becomes_uule(self) -> None:
        request = GoogleEngine().build_request(_params(location="San Francisco, USA"))
        # The value Google's own location setting sent for this place (seen in a 2020 capture).
        assert "uule=w+CAIQICISU2FuIEZyYW5jaXNjbywgVVNB" in request.url
        assert "near=" not in request.url

    def test_uule_of_a_long_name(self) -> None:
        # Names of 128 bytes or more need a two-byte length, so the header no longer aligns.
        assert uule("A" * 130).startswith("w CAIQICKCAU")

    def test_mobile_device(self) -> None:
        request = GoogleEngine().build_request(_params(device="mobile"))
        assert request.headers["User-Agent"] == MOBILE_UA

    def test_links_resolve_against_the_domain_searched(self) -> None:
        page = (
            '<html><body><div id="center_col"><div id="rso">'
            f'{_result("https://example.com/", "Example Domain")}</div></div><div id="botstuff">'
            '<div id="bres"><a href="/search?q=tee">tee</a></div></div></body></html>'
        )
        data = _parse_html(page, google_domain="google.de")
        assert data.related_searches is not None
        assert data.related_searches[0].link == "https://www.google.de/search?q=tee"


class TestBlocksInGooglesMarkup:
    """Blocks no capture holds in every variant, in the markup Google serves them with."""

    def test_featured_snippet_outside_center_col_with_mobile_nesting(self) -> None:
        # Mobile nests the quoted page's title the other way round (h3 > a), and some layouts
        # put the snippet above #center_col.
        page = (
            '<html><body><div id="main"><div id="Odp5De"><div class="ifM9O" data-hveid="CAE">'
            '<span class="hgKElc">Coffee is a <b>brewed drink</b> made from roasted beans.</span>'
            '<div class="yuRUbf"><h3 class="LC20lb"><a href="https://en.wikipedia.org/wiki/Coffee">'
            "Coffee - Wikipedia</a></h3><cite>en.wikipedia.org › wiki › Coffee</cite></div>"
            '</div></div><div id="center_col"><div id="rso">'
            f"{_result('https://example.com/', 'Example Domain')}</div></div></div></body></html>"
        )
        box = _parse_html(page).answer_box
        assert box is not None
        assert box.title == "Coffee - Wikipedia"
        assert box.link == "https://en.wikipedia.org/wiki/Coffee"
        assert box.snippet == "Coffee is a brewed drink made from roasted beans."

    def test_a_card_linking_to_google_search_is_never_organic(self) -> None:
        page = (
            '<html><body><div id="center_col"><div id="rso">'
            f"{_result('/search?q=Blue+Bottle+Coffee&stick=H4sI', 'Blue Bottle Coffee')}"
            f"{_result('https://bluebottlecoffee.com/', 'Blue Bottle Coffee | Fresh Roasted')}"
            "</div></div></body></html>"
        )
        results = _parse_html(page).organic_results
        assert [(r.position, r.link) for r in results] == [(1, "https://bluebottlecoffee.com/")]

    def test_hotel_pack(self) -> None:
        page = (
            '<html><body><div id="center_col"><div id="rso"><div class="VkpGBb">'
            '<a class="rllt__link" role="link"><div class="rllt__details">'
            '<div class="dbg0pd" role="heading" aria-level="3"><span>Hotel Zetta</span></div>'
            "<div>4.3 (1,024) · $229 · 4-star hotel</div>"
            "<div>55 5th St · (415) 543-8555</div>"
            '<div class="rllt__wrapped RGCvMc"><span class="X37Bwb"></span><span>"Great '
            'location near Union Square."</span></div></div></a></div></div></div></body></html>'
        )
        local = _parse_html(page).local_results
        assert local is not None
        hotel = local.places[0]
        assert (hotel.title, hotel.rating, hotel.reviews) == ("Hotel Zetta", 4.3, 1024)
        assert (hotel.price, hotel.type) == ("$229", "4-star hotel")
        assert (hotel.address, hotel.phone) == ("55 5th St", "(415) 543-8555")
        assert hotel.description == "Great location near Union Square."

    def test_basic_page_ad_lands_on_its_adurl(self) -> None:
        page = (
            '<html><body><div class="Gx5Zad xpd EtOod pkphOe"><div class="egMi0 kCrYT">'
            '<a href="/aclk?sa=l&amp;ai=DChcSE&amp;adurl=https://www.bluebottlecoffee.com/'
            'subscriptions"><div class="BNeawe vvjwJb AP7Wnd" role="heading">Coffee '
            'Subscriptions - Blue Bottle</div><div class="BNeawe UPmit AP7Wnd">'
            '<span class="dloBPe">Ad</span> · www.bluebottlecoffee.com/</div></a></div>'
            '<div class="kCrYT"><div class="BNeawe s3v9rd AP7Wnd">Freshly roasted, delivered.'
            '</div></div></div><div class="Gx5Zad xpd EtOod pkphOe"><div class="egMi0 kCrYT">'
            '<a href="/url?q=https://example.com/&amp;sa=U"><h3 class="zBAuLc l97dzf">'
            '<div class="BNeawe vvjwJb AP7Wnd">Example Domain</div></h3></a></div>'
            '<div class="kCrYT"><div class="BNeawe s3v9rd AP7Wnd">A page.</div></div></div>'
            "</body></html>"
        )
        data = _parse_html(page)
        assert data.ads is not None
        ad = data.ads[0]
        assert (ad.title, ad.block_position) == ("Coffee Subscriptions - Blue Bottle", "top")
        assert ad.link == "https://www.bluebottlecoffee.com/subscriptions"
        assert ad.tracking_link is not None
        assert ad.tracking_link.startswith("https://www.google.com/aclk?")
        assert ad.description == "Freshly roasted, delivered."
        assert [r.title for r in data.organic_results] == ["Example Domain"]

    def test_basic_page_map_pack(self) -> None:
        entry = (
            '<div class="X7NTVe"><a class="tHmfQe" href="/maps/place/{slug}?sa=X">'
            '<div class="am3QBf"><span><h3 class="zBAuLc"><div class="BNeawe deIvCb AP7Wnd">'
            '{name}</div></h3></span><span><div class="BNeawe tAd8D AP7Wnd">{first}</div></span>'
            '<span><div class="BNeawe tAd8D AP7Wnd">{second}</div></span></div></a></div>'
        )
        page = (
            '<html><body><div class="Gx5Zad xpd EtOod pkphOe">'
            + entry.format(
                slug="Javalencia",
                name="Javalencia",
                first="4.4 (71) · Coffee shop",
                second="1594 Market St · Open ⋅ Closes 6 PM",
            )
            + entry.format(
                slug="Blue+Bottle",
                name="Blue Bottle Coffee",
                first="4.1 (30) · $$ · Coffee shop",
                second="55 S Van Ness Ave",
            )
            + '<a href="/search?q=coffee&amp;tbm=lcl&amp;sa=X">More places</a></div>'
            '<div class="Gx5Zad xpd EtOod pkphOe"><div class="egMi0 kCrYT">'
            '<a href="/url?q=https://example.com/&amp;sa=U"><h3 class="zBAuLc l97dzf">'
            '<div class="BNeawe vvjwJb AP7Wnd">Example Domain</div></h3></a></div>'
            '<div class="kCrYT"><div class="BNeawe s3v9rd AP7Wnd">A page.</div></div></div>'
            "</body></html>"
        )
        data = _parse_html(page)
        assert data.local_results is not None
        places = data.local_results.places
        assert [(p.title, p.rating, p.reviews, p.type) for p in places] == [
            ("Javalencia", 4.4, 71, "Coffee shop"),
            ("Blue Bottle Coffee", 4.1, 30, "Coffee shop"),
        ]
        assert (places[0].address, places[1].price) == ("1594 Market St", "$$")
        assert data.local_results.more_locations_link == (
            "https://www.google.com/search?q=coffee&tbm=lcl&sa=X"
        )
        assert [r.title for r in data.organic_results] == ["Example Domain"]


def _outcome(read: Callable[[], SerpData]) -> object:
    """What reading gives: the data, or the type and message of the error it raises."""
    try:
        return read().model_dump(mode="json")
    except UpstreamError as exc:
        return type(exc), exc.message


@pytest.mark.fixtures
@pytest.mark.parametrize(
    "page",
    sorted(p.stem for p in (SERP_DIR / "google").glob("*.html"))
    or ["desktop_2023-04-21_q-google"],  # the folder is absent: serp_page skips, or fails in CI
)
def test_a_page_read_from_its_bytes_reads_as_from_its_text(page: str) -> None:
    """``parse_page`` builds the tree from the UTF-8 bytes that came, skipping a decode and an
    encode; every captured page (results, tabs, blocks) reads the same either way."""
    html = serp_page(f"google/{page}.html")
    params = _params("google")
    engine = GoogleEngine()
    from_text = _outcome(lambda: engine.parse(html, params))
    assert _outcome(lambda: engine.parse_page(html.encode(), "utf-8", params)) == from_text
    # Another charset is decoded first, as a page's bytes in it must be.
    latin = "<html><body><div id='search'>Caf\u00e9</div></body></html>"
    assert _outcome(lambda: engine.parse_page(latin.encode("latin-1"), "iso8859-1", params)) == (
        _outcome(lambda: engine.parse(latin, params))
    )

"""StartpageEngine against a real Startpage page, and the requests it builds.

Every expected value below was read off the page itself (its embedded React props and its
markup); the golden snapshot holds the rest.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from serpgate.engines.startpage import StartpageEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden

_PARAMS = SearchParams(engine="startpage", q="javascript tutorial")


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.fixtures
class TestHttpClient2026:
    """The capture went through a code formatter: its props are a JavaScript object literal."""

    @pytest.fixture
    def html(self) -> str:
        return serp_page("startpage/http_client_2026.html")

    @pytest.fixture
    def data(self, html: str) -> SerpData:
        return StartpageEngine().parse(html, _PARAMS)

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "JavaScript Tutorial - W3Schools"
        assert results[0].link == "https://www.w3schools.com/js/"
        assert results[0].displayed_link == "https://www.w3schools.com/js/"
        assert results[0].source == "W3Schools"
        assert results[0].snippet == (
            "Well organized and easy to understand Web building tutorials with lots of examples "
            "of how to use HTML, CSS, JavaScript, SQL, Python, PHP, Bootstrap, Java, ..."
        )
        assert results[-1].title == "JavaScript Tutorial - GeeksforGeeks"
        assert results[-1].link == "https://www.geeksforgeeks.org/javascript/javascript-tutorial/"
        assert results[-1].source == "GeeksforGeeks"

    def test_highlights_and_entities_are_gone(self, data: SerpData) -> None:
        results = data.organic_results
        assert all("<" not in r.title and "&" not in (r.snippet or "") for r in results)
        assert results[6].snippet is not None
        assert results[6].snippet.startswith(
            "JavaScript Tutorials · 1: How to Get Started With JavaScript |"
        )

    def test_date_prefix_becomes_date(self, data: SerpData) -> None:
        results = data.organic_results
        assert [r.date for r in results] == [None] * 3 + ["14 Oct 2023"] + [None] * 4 + [
            "9 May 2024",
            "13 Mar 2026",
        ]
        assert results[8].snippet == (
            "Take this course... learn a lot, make all exercises, practice a lot, resolve of "
            "problems you can. It takes time, but it's worth it."
        )
        assert results[-1].snippet == (
            "JavaScript is a programming language used to create dynamic content for websites. "
            "It is a lightweight, cross-platform, and single-threaded programming language."
        )

    def test_pagination_from_props(self, data: SerpData) -> None:
        assert data.pagination is not None
        assert data.pagination.current == 1
        assert data.pagination.next == (
            "https://www.startpage.com/serp?q=javascript+tutorial&page=2&sc=wnEHetqY4mdm00"
        )
        assert sorted(data.pagination.other_pages or {}) == ["2", "3", "4", "5"]

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.query_displayed == "javascript tutorial"
        assert info.organic_results_state == "Results for exact spelling"
        # Neither the props nor the markup state a total.
        assert info.total_results is None

    def test_markup_fallback_reads_the_same_results(self, html: str, data: SerpData) -> None:
        without_props = html.replace("UIStartpage.AppSerpWeb", "UIStartpage.Gone")
        markup = StartpageEngine().parse(without_props, _PARAMS)
        assert markup.organic_results == data.organic_results
        assert markup.pagination is not None
        assert markup.pagination.current == 1
        assert markup.pagination.next is not None
        next_query = _query(markup.pagination.next)
        assert markup.pagination.next.startswith("https://www.startpage.com/sp/search?")
        assert (next_query["query"], next_query["page"], next_query["sc"]) == (
            ["javascript tutorial"],
            ["2"],
            ["wnEHetqY4mdm00"],
        )
        assert sorted(markup.pagination.other_pages or {}) == ["2", "3", "4", "5"]

    def test_golden(self, data: SerpData) -> None:
        assert_golden("startpage/http_client_2026", data.model_dump(mode="json", exclude_none=True))


def _page(props: str, body: str = "") -> str:
    return (
        f"<html><body>{body}<script>function hydrate() {{ ReactDOM.hydrate("
        f"React.createElement(UIStartpage.AppSerpWeb, {props}), root); }}</script></body></html>"
    )


def _props(*results: dict[str, object], display_type: str = "web-google") -> str:
    mainline = [
        {"display_type": "ads-google-top", "results": [{"extraArgs": "p=1"}]},
        {"display_type": display_type, "results": list(results)},
    ]
    return orjson.dumps({"render": {"presenter": {"regions": {"mainline": mainline}}}}).decode()


def _parse(html: str, **params: object) -> SerpData:
    return StartpageEngine().parse(html, SearchParams(engine="startpage", q="x", **params))


class TestEmbeddedProps:
    def test_compact_json_with_braces_and_quotes_in_strings(self) -> None:
        props = _props(
            {
                "clickUrl": "https://a.example/",
                "title": 'Braces }) and "quotes" in <b>titles</b>',
                "description": "5 days ago <b>...</b> Text with {curly} &amp; more.",
                "displayUrl": "https://a.example/",
                "siteLinks": [{"title": "Docs", "clickUrl": "https://a.example/docs"}],
            },
            display_type="web-bing",
        )
        data = _parse(_page(props), start=20)
        [result] = data.organic_results
        assert result.position == 21
        assert result.title == 'Braces }) and "quotes" in titles'
        assert result.date == "5 days ago"
        assert result.snippet == "Text with {curly} & more."
        assert result.sitelinks is not None
        assert [(s.title, s.link) for s in result.sitelinks.inline or []] == [
            ("Docs", "https://a.example/docs")
        ]

    def test_javascript_object_literal(self) -> None:
        props = """{
          render: {
            presenter: {
              regions: {
                mainline: [
                  {
                    display_type: 'web-google',
                    results: [
                      {
                        clickUrl: 'https://b.example/it\\'s',
                        title: 'It\\'s a "quoted" <b>title</b>',
                        description: 'Oct 14, 2023 <b>...</b> Said \\'hi\\'.',
                      },
                    ],
                  },
                ],
              },
            },
          },
        }"""
        [result] = _parse(_page(props)).organic_results
        assert result.link == "https://b.example/it's"
        assert result.title == 'It\'s a "quoted" title'
        assert result.date == "Oct 14, 2023"
        assert result.snippet == "Said 'hi'."

    def test_no_results_is_fully_empty(self) -> None:
        notice = '<div class="no-results"><h2>No results found for <b>x</b></h2></div>'
        data = _parse(_page(_props(), body=notice))
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_empty_props_without_the_notice_are_unrecognised(self) -> None:
        with pytest.raises(UnrecognizedPage):
            _parse(_page(_props()))

    def test_cut_off_props_fall_back_to_markup(self) -> None:
        markup = (
            '<div class="w-gl"><div class="result"><a class="result-title result-link" '
            'href="https://c.example/"><h2 class="wgl-title">From markup</h2></a>'
            '<p class="description">Only here.</p></div></div>'
        )
        html = _page('{"render": {"presenter": {"regions"', body=markup)
        [result] = _parse(html).organic_results
        assert (result.title, result.link, result.snippet) == (
            "From markup",
            "https://c.example/",
            "Only here.",
        )


# The captures hold no block page. These are modelled on what scrapers report Startpage sends:
# a redirect to /sp/captcha (or /sp/captcha-block) whose page has a CAPTCHA form and a
# form#blocked_feedback_form, and never the app's props.
_FEEDBACK_BLOCK = """<!DOCTYPE html><html lang="en" class="theme--"><head><title></title></head>
<body><main><h1>Please confirm you are human</h1>
<form id="blocked_feedback_form" method="post" action="/sp/blocked-feedback">
<textarea name="feedback"></textarea><button type="submit">Send</button></form>
</main></body></html>"""

_CAPTCHA_BLOCK = """<!DOCTYPE html><html lang="en"><head><title>Startpage</title></head>
<body><form action="/sp/captcha-block/verify" method="post"><div class="captcha"></div>
<button type="submit">Continue</button></form></body></html>"""


# What a client that does not follow redirects reads: the body of the 307 to the CAPTCHA.
_CAPTCHA_REDIRECT = """<html><body>Redirecting to <a
href="https://www.startpage.com/sp/captcha-block#?bc=US&amp;query=x&amp;cat=web">
https://www.startpage.com/sp/captcha-block</a></body></html>"""


class TestBlockPages:
    @pytest.mark.parametrize("html", [_FEEDBACK_BLOCK, _CAPTCHA_BLOCK, _CAPTCHA_REDIRECT])
    def test_captcha_page_raises_blocked(self, html: str) -> None:
        with pytest.raises(BlockedError, match="CAPTCHA") as caught:
            _parse(html)
        assert caught.value.retry_after > 0

    def test_an_empty_page_is_not_a_block_nor_no_results(self) -> None:
        with pytest.raises(UnrecognizedPage):
            _parse("<html><body><p>Nothing here.</p></body></html>")


class TestBuildRequest:
    def _request(self, **params: object) -> tuple[str, dict[str, list[str]], dict[str, str]]:
        request = StartpageEngine().build_request(
            SearchParams(engine="startpage", q="coffee beans", **params)
        )
        assert request.method == "GET"
        return request.url.split("?")[0], _query(request.url), request.headers

    def test_first_page(self) -> None:
        url, query, headers = self._request()
        assert url == "https://www.startpage.com/sp/search"
        assert query == {"query": ["coffee beans"], "cat": ["web"]}
        assert "Cookie" not in headers
        assert headers["Referer"] == "https://www.startpage.com/"

    def test_page_is_one_based(self) -> None:
        assert self._request(start=20)[1]["page"] == ["3"]
        assert self._request(start=40, num=20)[1]["page"] == ["3"]

    def test_language_and_region(self) -> None:
        _, query, headers = self._request(hl="de", gl="at")
        assert query["language"] == query["lui"] == ["deutsch"]
        assert headers["Cookie"] == "preferences=search_results_regionEEEde_AT"
        assert self._request(hl="en", gl="gb")[2]["Cookie"].endswith("EEEen-GB_GB")
        assert self._request(gl="us")[2]["Cookie"].endswith("EEEen_US")

    def test_unknown_language_is_left_to_startpage(self) -> None:
        assert "language" not in self._request(hl="xx")[1]

    @pytest.mark.parametrize(("safe", "qadf"), [("active", "heavy"), ("off", "none")])
    def test_adult_filter(self, safe: str, qadf: str) -> None:
        assert self._request(safe=safe)[1]["qadf"] == [qadf]

    def test_base_url_is_a_setting(self) -> None:
        request = StartpageEngine("http://127.0.0.1:9/startpage").build_request(
            SearchParams(engine="startpage", q="x")
        )
        assert re.match(r"^http://127\.0\.0\.1:9/startpage/sp/search\?query=x", request.url)

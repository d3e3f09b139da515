"""DuckDuckGoEngine against real html.duckduckgo.com pages, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshots hold the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.duckduckgo import DuckDuckGoEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    html = serp_page(page)
    return DuckDuckGoEngine().parse(html, SearchParams(engine="duckduckgo", q=q, **params))


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.fixtures
class TestHtml2025January:
    """Early 2025: every link goes through the //duckduckgo.com/l/?uddg= redirect."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("duckduckgo/html_2025-01.html", "foo")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "Foo Fighters - Wikipedia"
        assert results[0].link == "https://en.wikipedia.org/wiki/Foo_Fighters"
        assert results[0].displayed_link == "en.wikipedia.org/wiki/Foo_Fighters"
        assert results[0].snippet == (
            "Foo Fighters are a rock band formed in 1994 by former Nirvana drummer Dave Grohl. "
            "They have won 15 Grammy Awards and were inducted into the Rock and Roll Hall of "
            "Fame in 2021."
        )
        assert results[1].title == "foo | Meaning & Origin - Dictionary.com"
        assert results[-1].title == "Foo Tokyo｜Official Website（フートウキョウ公式）"
        assert results[-1].link == "https://footokyo.jp/"
        assert results[-1].displayed_link == "footokyo.jp"

    def test_redirects_are_unwrapped_with_their_escapes(self, data: SerpData) -> None:
        links = [r.link for r in data.organic_results]
        assert all("duckduckgo.com" not in link for link in links)
        assert links[4] == "https://www.youtube.com/watch?v=eBG7P-K-r1Y"
        assert links[8] == "https://www.merriam-webster.com/dictionary/foo"

    def test_date_beside_the_url(self, data: SerpData) -> None:
        dated = {r.position: r.date for r in data.organic_results if r.date}
        assert dated == {4: "2025-01-11"}

    def test_next_page_form_with_vqd(self, data: SerpData) -> None:
        assert data.pagination is not None
        assert data.pagination.current == 1
        assert data.pagination.next is not None
        assert data.pagination.next.startswith("https://html.duckduckgo.com/html/?")
        assert _query(data.pagination.next) == {
            "q": ["foo"],
            "s": ["10"],
            "nextParams": [""],
            "v": ["l"],
            "o": ["json"],
            "dc": ["11"],
            "api": ["d.js"],
            "vqd": ["4-128689170714965609075396407614104177165"],
            "kl": ["wt-wt"],
        }

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.query_displayed == "foo"
        assert info.organic_results_state == "Results for exact spelling"
        assert info.total_results is None
        assert data.ads is None

    def test_golden(self, data: SerpData) -> None:
        assert_golden("duckduckgo/html_2025-01", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestHtml2025June:
    """Mid 2025: the same markup with direct hrefs instead of redirects."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("duckduckgo/html_2025-06.html", "eino")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert results[0].title == (
            "GitHub - cloudwego/eino: The ultimate LLM/AI application development ..."
        )
        assert results[0].link == "https://github.com/cloudwego/eino"
        assert results[0].displayed_link == "github.com/cloudwego/eino"
        assert results[1].title == "Eino: 概述 | CloudWeGo"
        assert results[1].date == "2025-06-23"
        assert results[-1].title == "Eino - Wikipedia"
        assert results[-1].link == "https://en.wikipedia.org/wiki/Eino"
        assert results[-1].snippet == (
            "Eino is a Finnish and Estonian masculine given name derived from Henri or Enewald. "
            "It is also the name of many notable people in various fields, such as sports, "
            "politics, arts and science."
        )

    def test_dates(self, data: SerpData) -> None:
        assert [r.date for r in data.organic_results] == [
            None,
            "2025-06-23",
            None,
            "2025-06-13",
            "2025-01-16",
            "2025-01-16",
            "2025-06-20",
            "2025-06-19",
            None,
            None,
        ]

    def test_next_page(self, data: SerpData) -> None:
        assert data.pagination is not None
        assert data.pagination.next is not None
        query = _query(data.pagination.next)
        assert query["vqd"] == ["4-167208798460794982980732831674372650598"]
        assert (query["q"], query["s"], query["dc"]) == (["eino"], ["10"], ["11"])

    def test_no_next_page_when_its_form_points_back(self) -> None:
        # Asked as if this were the second page, the form's offset is not ahead of ours.
        data = _parse("duckduckgo/html_2025-06.html", "eino", start=10)
        assert data.pagination is None
        assert [r.position for r in data.organic_results] == list(range(11, 21))

    def test_golden(self, data: SerpData) -> None:
        assert_golden("duckduckgo/html_2025-06", data.model_dump(mode="json", exclude_none=True))


# The captures hold neither ads, an empty page nor the anomaly page; these are small pages
# modelled on the live markup that searxng, ddgs and others document for them.
_AD_PAGE = """<html><body><div id="links" class="results">
<div class="result results_links results_links_deep result--ad result--ad--small">
  <div class="links_main links_deep result__body">
    <h2 class="result__title">
      <a rel="nofollow" class="result__a"
        href="https://duckduckgo.com/y.js?ad_domain=beans.example&amp;ad_provider=bingv7aa">Fresh
        <b>Coffee</b> Beans</a>
    </h2>
    <div class="result__extras"><div class="result__extras__url">
      <a class="result__url" href="https://duckduckgo.com/y.js?ad_domain=beans.example">
        beans.example</a>
    </div></div>
    <a class="result__snippet" href="https://duckduckgo.com/y.js">Roasted this week.</a>
  </div>
</div>
<div class="result results_links results_links_deep web-result ">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a class="result__a" href="/l/?uddg=https%3A%2F%2Fcoffee.example%2F">
      Coffee</a></h2>
    <a class="result__snippet" href="https://coffee.example/">All about coffee.</a>
  </div>
</div>
</div></body></html>"""

_NO_RESULTS_PAGE = """<html><body><div id="links" class="results">
<div class="result results_links results_links_deep result--no-result">
  <div class="no-results">No results.</div>
</div>
</div></body></html>"""

_ANOMALY_PAGE = """<!DOCTYPE html><html><body class="body--html">
<form id="challenge-form" action="//duckduckgo.com/anomaly.js?sv=html&amp;cc=botnet" method="POST">
  <div class="anomaly-modal__mask"><div class="anomaly-modal__modal" data-testid="anomaly-modal">
    <div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div>
    <div class="anomaly-modal__description">Please complete the following challenge to confirm
      this search was made by a human.</div>
    <div class="anomaly-modal__instructions">Select all squares containing a duck:</div>
    <div class="anomaly-modal__puzzle"></div>
  </div></div>
</form></body></html>"""


@pytest.mark.fixtures
class TestJs2019:
    """The 2019 JavaScript page (puppeteer DOM): an ad above, one below the results, one beside."""

    PAGE = "duckduckgo/js_2019-09_q-cloud-service.html"

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse(self.PAGE, "cloud service")

    def test_ads_in_their_blocks(self, data: SerpData) -> None:
        assert data.ads is not None
        assert [(a.block_position, a.position, a.title, a.displayed_link) for a in data.ads] == [
            ("top", 1, "Cloud services | Tier1 network with 1600 telcos",
             "www.tatacommunications.com/Cloud_services/Enquire_now"),
            ("bottom", 1, "Webinar Sponsored by Itential | ONUG September 11, 2019 10am",
             "www.onug.net"),
            ("right", 1, "Creative Cloud for Students | Save 60%. Only $19.99/month",
             "www.adobe.com/CreativeCloud/Students"),
        ]  # fmt: skip
        assert all(a.link.startswith("https://duckduckgo.com/y.js?u3=") for a in data.ads)

    def test_organic_results_without_the_ads(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert (results[0].title, results[0].link) == (
            "The Best Cloud Storage and File-Sharing Services for 2019 ...",
            "https://www.pcmag.com/roundup/306323/the-best-cloud-storage-providers-and-file-syncing-services",
        )
        assert results[-1].title == "Anthos | Anthos | Google Cloud"

    def test_golden(self, data: SerpData) -> None:
        assert_golden(
            "duckduckgo/js_2019-09_q-cloud-service", data.model_dump(mode="json", exclude_none=True)
        )


@pytest.mark.fixtures
def test_lite_challenge_is_a_block() -> None:
    with pytest.raises(BlockedError, match="anomaly"):
        _parse("duckduckgo/block_lite_challenge_2026.html", "javascript tutorial")


# The JavaScript page's markup since 2024 (article[data-testid=result] inside an
# <li data-layout="organic">), as the many scrapers that read it document it.
_JS_LAYOUT_PAGE = """<html><body><div id="react-layout"><section data-testid="mainline">
<ol class="react-results--main">
<li data-layout="ad"><article data-testid="ad"><h2><a data-testid="result-title-a"
  href="https://duckduckgo.com/y.js?ad_domain=beans.example">Fresh <b>Coffee</b> Beans</a></h2>
  <div data-result="snippet"><span>Roasted this week.</span></div></article></li>
<li data-layout="organic"><article id="r1-0" data-testid="result" data-nrn="result">
  <div><a data-testid="result-extras-url-link" href="https://coffee.example/"><span>coffee.example</span></a></div>
  <h2><a href="https://coffee.example/" rel="noopener" data-testid="result-title-a">
    <span>All about <b>coffee</b></span></a></h2>
  <div data-result="snippet"><div><span>Beans, roasts and brewing.</span></div></div>
</article></li>
<li data-layout="organic"><article id="r1-1" data-testid="result" data-nrn="result">
  <h2><a href="https://en.wikipedia.org/wiki/Coffee" data-testid="result-title-a">
    Coffee - Wikipedia</a></h2>
  <div data-result="snippet"><span>Coffee is a beverage brewed from roasted coffee beans.
  </span></div>
</article></li>
</ol></section>
<div data-testid="related-searches"><a href="/?q=coffee+beans&amp;ia=web">coffee beans</a></div>
</div></body></html>"""


def test_the_javascript_layout_is_read_not_called_empty() -> None:
    data = _parse_text(_JS_LAYOUT_PAGE)
    read = [
        (r.position, r.title, r.link, r.snippet, r.displayed_link) for r in data.organic_results
    ]
    assert read == [
        (1, "All about coffee", "https://coffee.example/", "Beans, roasts and brewing.",
         "coffee.example"),
        (2, "Coffee - Wikipedia", "https://en.wikipedia.org/wiki/Coffee",
         "Coffee is a beverage brewed from roasted coffee beans.", None),
    ]  # fmt: skip
    assert data.ads is not None
    assert [(a.title, a.description) for a in data.ads] == [
        ("Fresh Coffee Beans", "Roasted this week.")
    ]
    assert data.related_searches is not None
    assert [(r.query, r.link) for r in data.related_searches] == [
        ("coffee beans", "https://html.duckduckgo.com/?q=coffee+beans&ia=web")
    ]


def test_a_javascript_page_whose_results_cannot_be_read_is_unrecognised() -> None:
    # The result list is there, its articles are not (a layout that moved on): not "no results".
    page = (
        '<html><body><section data-testid="mainline"><ol><li data-layout="organic">'
        "<div>?</div></li></ol></section></body></html>"
    )
    with pytest.raises(UnrecognizedPage):
        _parse_text(page)


def test_another_engines_page_is_unrecognised() -> None:
    with pytest.raises(UnrecognizedPage):
        _parse_text(
            '<html><body><ol id="b_results"><li class="b_algo"><h2><a href="https://x.test/">x</a></h2></li></ol></body></html>'
        )


def _parse_text(html: str, **params: object) -> SerpData:
    return DuckDuckGoEngine().parse(html, SearchParams(engine="duckduckgo", q="coffee", **params))


class TestSyntheticPages:
    def test_ads_are_kept_apart_from_organic_results(self) -> None:
        data = _parse_text(_AD_PAGE)
        assert data.ads is not None
        assert [(a.title, a.displayed_link, a.description) for a in data.ads] == [
            ("Fresh Coffee Beans", "beans.example", "Roasted this week.")
        ]
        assert data.ads[0].link.startswith("https://duckduckgo.com/y.js?ad_domain=beans.example")
        assert [(r.position, r.title, r.link) for r in data.organic_results] == [
            (1, "Coffee", "https://coffee.example/")
        ]

    def test_no_results_is_fully_empty(self) -> None:
        data = _parse_text(_NO_RESULTS_PAGE)
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"
        assert data.pagination is None

    def test_anomaly_page_raises_blocked(self) -> None:
        with pytest.raises(BlockedError, match="anomaly") as caught:
            _parse_text(_ANOMALY_PAGE)
        assert caught.value.retry_after > 0

    def test_anomaly_modal_without_its_form_still_blocks(self) -> None:
        page = (
            '<html><body><div class="anomaly-modal__title">'
            "Unfortunately, bots use DuckDuckGo too.</div></body></html>"
        )
        with pytest.raises(BlockedError):
            _parse_text(page)


class TestBuildRequest:
    def _request(self, **params: object) -> tuple[str, dict[str, list[str]], dict[str, str]]:
        request = DuckDuckGoEngine().build_request(
            SearchParams(engine="duckduckgo", q="coffee beans", **params)
        )
        assert request.method == "GET"
        return request.url.split("?")[0], _query(request.url), request.headers

    def test_first_page(self) -> None:
        url, query, headers = self._request()
        assert url == "https://html.duckduckgo.com/html/"
        assert query == {"q": ["coffee beans"], "kl": ["wt-wt"]}
        assert headers["Referer"] == "https://html.duckduckgo.com/"
        assert "Chrome" in headers["User-Agent"]

    def test_later_page_mirrors_the_next_form(self) -> None:
        _, query, _ = self._request(start=20)
        assert query == {
            "q": ["coffee beans"],
            "s": ["20"],
            "nextParams": [""],
            "v": ["l"],
            "o": ["json"],
            "dc": ["21"],
            "api": ["d.js"],
            "kl": ["wt-wt"],
        }

    @pytest.mark.parametrize(
        ("gl", "hl", "kl"),
        [
            ("us", "en", "us-en"),
            ("us", "es", "us-es"),
            ("us", None, "us-en"),
            ("ch", "fr", "ch-fr"),
            ("ch", None, "ch-de"),
            ("de", "en", "de-de"),
            ("gb", "en", "uk-en"),
            ("es", None, "es-es"),
            ("zz", "en", "wt-wt"),
            (None, "de", "wt-wt"),
        ],
    )
    def test_region(self, gl: str | None, hl: str | None, kl: str) -> None:
        _, query, _ = self._request(gl=gl, hl=hl)
        assert query["kl"] == [kl]

    @pytest.mark.parametrize(("safe", "kp"), [("active", "1"), ("off", "-2")])
    def test_safe_search(self, safe: str, kp: str) -> None:
        _, query, _ = self._request(safe=safe)
        assert query["kp"] == [kp]

    def test_base_url_is_a_setting(self) -> None:
        request = DuckDuckGoEngine("http://127.0.0.1:9/duckduckgo/").build_request(
            SearchParams(engine="duckduckgo", q="x")
        )
        assert request.url.startswith("http://127.0.0.1:9/duckduckgo/html/?q=x")

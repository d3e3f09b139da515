"""BingEngine against real captured Bing pages, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshots hold the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.bing import BingEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData, Sitelinks
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    return BingEngine().parse(serp_page(page), SearchParams(engine="bing", q=q, **params))


def _sitelinks(data: SerpData, ad: int) -> Sitelinks:
    assert data.ads is not None
    sitelinks = data.ads[ad].sitelinks
    assert sitelinks is not None
    return sitelinks


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestHttpClient2026:
    """A 2026 page as a plain HTTP client gets it: links behind the /ck/a tracker."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("bing/http_client_2026.html", "javascript tutorial")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "JavaScript Tutorial - W3Schools"
        assert results[0].link == "https://www.w3schools.com/Js/"
        assert results[0].displayed_link == "https://www.w3schools.com › Js"
        assert results[0].source == "w3schools.com"
        assert results[0].snippet is not None
        assert results[0].snippet.startswith("Learn JavaScript The Programming Language of the Web")
        assert results[2].link == "https://www.w3schools.com/js/js_intro.asp"
        assert results[2].displayed_link == "https://www.w3schools.com › js › js_intro.asp"
        assert results[-1].title == "Tutorial: Learn JavaScript - W3Schools.com"
        assert results[-1].link == (
            "https://support.w3schools.com/hc/en-gb/articles/"
            "4410407881489-Tutorial-Learn-JavaScript"
        )
        assert results[-1].snippet == (
            "JavaScript is the world's most popular programming language. JavaScript is the "
            "programming language of the Web. JavaScript is easy to learn. This tutorial will "
            "teach you JavaScript from basic to ad..."
        )

    def test_no_tracker_links_survive(self, data: SerpData) -> None:
        assert all("bing.com/ck/a" not in r.link for r in data.organic_results)

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.total_results == 52
        assert info.query_displayed == "javascript tutorial"
        assert info.organic_results_state == "Results for exact spelling"

    def test_pagination(self, data: SerpData) -> None:
        assert data.pagination is not None
        assert data.pagination.current == 1
        assert data.pagination.next is not None
        assert _query(data.pagination.next)["first"] == "11"
        assert data.pagination.next.startswith("https://www.bing.com/search?")
        assert sorted(data.pagination.other_pages or {}) == ["2", "3"]
        assert _query((data.pagination.other_pages or {})["3"])["first"] == "21"

    def test_no_panel_or_related_searches_on_this_page(self, data: SerpData) -> None:
        assert data.knowledge_graph is None
        assert data.related_searches is None

    def test_golden(self, data: SerpData) -> None:
        assert_golden("bing/http_client_2026", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestNoJs2021:
    """A 2021 no-JS page (Spanish results): direct links, dates, deep links, entity panel."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("bing/nojs_2021.html", "bing")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert results[0].title == "Bing"
        assert results[0].link == "https://www.bing.com/"
        assert results[0].snippet == (
            "Bing te ayuda a convertir la información en acción, ya que facilita y acelera la "
            "transición de la búsqueda a la actividad concreta."
        )
        assert results[-1].title == "SEM con Microsoft Advertising - Microsoft …"
        assert results[-1].link == "https://about.ads.microsoft.com/es-es"
        assert results[-1].displayed_link == "https://about.ads.microsoft.com/es-es"

    def test_leading_date_moves_out_of_the_snippet(self, data: SerpData) -> None:
        malavida = data.organic_results[1]
        assert malavida.title == "Bing - Descargar para PC Gratis - Malavida"
        assert malavida.displayed_link == "https://www.malavida.com/es/soft/bing"
        assert malavida.date == "24/1/2013"
        assert malavida.snippet is not None
        assert malavida.snippet.startswith("8/10 (87 votos) - Descargar Bing para PC")
        assert data.organic_results[2].date == "6/10/2016"
        assert data.organic_results[4].date is None

    def test_deep_links_become_sitelinks(self, data: SerpData) -> None:
        sitelinks = data.organic_results[0].sitelinks
        assert sitelinks is not None
        expanded = sitelinks.expanded or []
        # Six shown, two more behind "See more".
        assert len(expanded) == 8
        assert expanded[0].title == "Bing News"
        assert expanded[0].link == "https://www.bing.com/news"
        assert expanded[-1].title == "Personalization"
        assert data.organic_results[1].sitelinks is None

    def test_search_information(self, data: SerpData) -> None:
        assert data.search_information.total_results == 106_000_000
        assert data.search_information.query_displayed == "bing"

    def test_knowledge_graph(self, data: SerpData) -> None:
        kg = data.knowledge_graph
        assert kg is not None
        assert kg.title == "Bing"
        assert kg.type == "Web Search Engine"
        assert kg.description is not None
        assert kg.description.startswith("Microsoft Bing is a web search engine owned and")
        # The full text from the panel's expansion, not the cut-off preview.
        assert kg.description.endswith("It is developed using ASP.NET.")
        assert kg.website == "http://www.bing.com/"
        assert kg.source is not None
        assert kg.source.link == "http://en.wikipedia.org/wiki/Bing_(search_engine)"
        assert kg.attributes is not None
        assert kg.attributes["headquarters"] == "Bellevue, WA"
        assert kg.attributes["written_in"] == "ASP.NET"

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert sorted(pagination.other_pages or {}) == ["2", "3", "4", "5"]
        assert pagination.next is not None
        assert _query(pagination.next)["first"] == "10"

    def test_positions_follow_start(self) -> None:
        data = _parse("bing/nojs_2021.html", "bing", start=10)
        assert [r.position for r in data.organic_results] == list(range(11, 21))

    def test_golden(self, data: SerpData) -> None:
        assert_golden("bing/nojs_2021", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestDesktop2019Ads:
    """The 2019 German-market desktop page: three ad blocks (top, bottom, right rail)."""

    PAGE = "bing/desktop_2019-08-12_q-best-cloud-services.html"

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse(self.PAGE, "best cloud services")

    def test_swiss_result_count(self, data: SerpData) -> None:
        assert data.search_information.total_results == 44_300_000  # "44’300’000 results"

    def test_ads_by_block(self, data: SerpData) -> None:
        assert data.ads is not None
        placed = [(ad.block_position, ad.position) for ad in data.ads]
        assert placed == [("top", n) for n in (1, 2, 3, 4)] + [("bottom", n) for n in (1, 2, 3)] + [
            ("right", n) for n in (1, 2, 3, 4, 5)
        ]

    def test_an_ad_keeps_its_landing_page_and_its_tracker_apart(self, data: SerpData) -> None:
        assert data.ads is not None
        first = data.ads[0]
        assert first.title == "Cloud Service für KMU - Cloud Service Management"
        assert first.link.startswith(
            "https://www.onventoo.com/ch/de/cloud-services?utm_source=bing"
        )
        assert first.tracking_link is not None
        assert first.tracking_link.startswith("https://www.bing.com/aclick?ld=e3EqLOlsr78xJ5Ia")
        assert first.displayed_link == "https://www.onventoo.com/Cloud-Service"
        assert first.description == (
            "Zuverlässige Cloud Services für Unternehmen. Nutzen Sie die Flexibilität der Cloud. "
            "Mehr Möglichkeiten für Unternehmen dank zuverlässiger Cloud Services."
        )
        right = data.ads[-1]
        assert right.title == "Cloud Service - Such Cloud Service"
        assert right.link.startswith("https://www.zapmeta.ch/ws?q=cloud%20service")

    def test_ad_sitelinks_expanded_and_inline(self, data: SerpData) -> None:
        assert data.ads is not None
        expanded = _sitelinks(data, 0).expanded
        assert expanded is not None
        assert [(s.title, s.snippet) for s in expanded] == [
            ("Office 365 Funktionen", "Mehr zu den Funktionen. Erleben Sie die Möglichkeiten."),
            (
                "O365 Beratung buchen",
                "Gleich eine Beratung online buchen. Kostenlose Erstberatung zu O365.",
            ),
            ("Beratung online buchen", "Online eine Beratung buchen. Unverbindliche Erstberatung."),
            ("Office 365 Möglichkeiten", "Mehr zu den Möglichkeiten. Erleben Sie die Funktionen."),
        ]
        assert expanded[0].link.startswith("https://www.onventoo.com/ch/de/office-365-funktionen?")
        assert (expanded[0].tracking_link or "").startswith("https://www.bing.com/aclick?")
        inline = _sitelinks(data, 1).inline
        assert inline is not None
        assert [s.title for s in inline] == [
            "IT Services",
            "IT Outsourcing",
            "Cloud Computing",
            "IT Support",
            "IT Service Kosten",
            "Server Housing",
        ]
        offers = _sitelinks(data, 3).inline
        assert offers is not None
        assert [s.title for s in offers] == [
            "Tresorit Business - ab 10,00 €/Monat",
            "Tresorit Premium - ab 10,00 €/Monat",
        ]

    def test_video_answer_as_inline_videos(self, data: SerpData) -> None:
        videos = data.inline_videos
        assert videos is not None
        assert [(v.title, v.platform, v.duration, v.date) for v in videos] == [
            ("Best Cloud Storage Services", "YouTube", "2:53", "6 years ago"),
            ("Best FREE Cloud Storage Services 2018-2019", "YouTube", "7:43", "3 years ago"),
            ("The BEST 5 Cloud Storage Providers of 2019", "YouTube", "7:34", "1 year ago"),
        ]
        assert videos[0].link == (
            "https://www.bing.com/videos/search?q=best+cloud+services&view=detail"
            "&mid=290CA9759620470B1444290CA9759620470B1444&FORM=VIRE"
        )

    def test_ads_and_answers_stay_out_of_organic_results(self, data: SerpData) -> None:
        assert [r.title for r in data.organic_results] == [
            "The Best Cloud Storage and File-Sharing Services for 2019 ...",
            "Best cloud storage of 2019 online: free, paid and business ...",
            "The Best Free Cloud Storage Services for Backup in 2019",
            "Die 10 besten Cloud-Speicher | heise Download",
            "Best cloud computing services of 2019 | TechRadar",
            "Cloud Storage Comparison 2019: Compare 50+ Cloud Providers",
        ]

    def test_golden(self, data: SerpData) -> None:
        assert_golden(
            "bing/desktop_2019-08-12_q-best-cloud-services",
            data.model_dump(mode="json", exclude_none=True),
        )


@pytest.mark.fixtures
class TestHttpClient2021Hello:
    """The 2021 page for "Hello": People also ask, images and videos answers, an entity pane."""

    PAGE = "bing/http_client_2021-05-10_q-hello.html"

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse(self.PAGE, "Hello")

    def test_related_questions(self, data: SerpData) -> None:
        assert data.related_questions is not None
        assert [q.question for q in data.related_questions] == [
            "What does Hello mean in texting?",
            "What is the plural of Hello?",
            "What is the history of the word Hello?",
            "What can you do with Hello?",
        ]
        first = data.related_questions[0]
        assert first.title == "HELLO | meaning in the Cambridge English Dictionary"
        assert first.link == "https://dictionary.cambridge.org/dictionary/english/hello"
        assert first.displayed_link == "dictionary.cambridge.org/dictionary/english/hello"
        assert (first.snippet or "").startswith(
            "Hello is also said at the beginning of a telephone conversation."
        )

    def test_video_answer_as_inline_videos(self, data: SerpData) -> None:
        videos = data.inline_videos
        assert videos is not None
        assert [(v.title, v.channel, v.duration, v.date) for v in videos] == [
            ("HELLO NEIGHBOR 2 ALPHA 1..", "Thinknoodles", "27:24", "9 months ago"),
            ("Hello Neighbor 2 Just Came Out!", "DanTDM", "22:36", "9 months ago"),
            ("Adele - Hello", "AdeleVEVO", "6:07", "Oct 23, 2015"),
            ('Hello Kitty "DIY Tent" | Sweet Moments with Hello Kitty', "Hello Kitty and Friends",
             "0:57", "2 months ago"),
            ("Hello Neighbor Animated Series Full Pilot [22min]", "tinyBuildGAMES", "21:39",
             "9 months ago"),
        ]  # fmt: skip
        assert {v.platform for v in videos} == {"YouTube"}
        assert videos[2].link.startswith("https://www.bing.com/videos/search?q=hello&docid=")

    def test_answers_are_not_organic_results(self, data: SerpData) -> None:
        # The page's nine web results, in order; the question cards' sources, the images and
        # videos answers and the entity pane are not among them.
        assert [r.title for r in data.organic_results] == [
            "HELLO! - Daily royal, celebrity, fashion, beauty ...",
            "Hello Neighbor - Stealth Horror Game",
            "Adele - Hello - YouTube",
            "hello network",
            "Hello | Definition of Hello by Merriam-Webster",
            "Hello - definition of hello by The Free Dictionary",
            "HELLO | meaning in the Cambridge English Dictionary",
            "Hello! | Super Simple Songs - YouTube",
            "Hello - Wikipedia",
        ]
        assert data.ads is None

    def test_golden(self, data: SerpData) -> None:
        assert_golden(
            "bing/http_client_2021-05-10_q-hello", data.model_dump(mode="json", exclude_none=True)
        )


@pytest.mark.fixtures
def test_challenge_page_raises_blocked() -> None:
    # The page's inline CSS mentions b_algo; the challenge markup is what must decide.
    with pytest.raises(BlockedError, match="One last step") as raised:
        _parse("bing/block_challenge_2026-04.html", "javascript tutorial")
    assert raised.value.retry_after > 0


def test_page_without_results_is_fully_empty_not_an_error() -> None:
    html = (
        '<html><body><input id="sb_form_q" value="qwxzv"><ol id="b_results">'
        '<li class="b_no"><h1>There are no results for <strong>qwxzv</strong></h1></li>'
        "</ol></body></html>"
    )
    data = BingEngine().parse(html, SearchParams(engine="bing", q="qwxzv"))
    assert data.organic_results == []
    assert data.search_information.organic_results_state == "Fully empty"


_ONE_RESULT = (
    '<ol id="b_results"><li class="b_algo"><h2><a href="https://x.test/">X</a></h2></li></ol>'
)


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("About 52 results", 52),
        ("106.000.000 results", 106_000_000),
        ("11-20 of 1,230 results", 1230),
        ("Environ 1 230 résultats", 1230),
        ("44’300’000 results", 44_300_000),
    ],
)
def test_total_results_in_every_spelling(text: str, total: int) -> None:
    html = f'<html><body><span class="sb_count">{text}</span>{_ONE_RESULT}</body></html>'
    data = BingEngine().parse(html, SearchParams(engine="bing", q="x"))
    assert data.search_information.total_results == total


def test_related_searches_from_the_classic_block() -> None:
    html = (
        '<html><body><ol id="b_results"><li class="b_ans"><div class="b_rs" id="brsv3">'
        '<h2>Related searches for <strong>coffee</strong></h2><ul class="b_vList b_divsec">'
        '<li><a href="/search?q=coffee+beans&amp;FORM=QSRE1"><div class="b_suggestionIcon">'
        '</div><div class="b_suggestionText">coffee <strong>beans</strong></div></a></li>'
        "</ul></div></li></ol></body></html>"
    )
    # Related searches alone are no evidence that the page's results were read.
    with pytest.raises(UnrecognizedPage):
        BingEngine().parse(html, SearchParams(engine="bing", q="coffee"))
    html = html.replace(
        '<ol id="b_results">',
        '<ol id="b_results"><li class="b_algo"><h2><a href="https://x.test/">X</a></h2></li>',
    )
    data = BingEngine().parse(html, SearchParams(engine="bing", q="coffee"))
    assert data.related_searches is not None
    assert [(r.query, r.link) for r in data.related_searches] == [
        ("coffee beans", "https://www.bing.com/search?q=coffee+beans&FORM=QSRE1")
    ]


class TestBuildRequest:
    def test_first_page(self) -> None:
        request = BingEngine().build_request(SearchParams(engine="bing", q="coffee shops"))
        assert request.method == "GET"
        assert request.url.startswith("https://www.bing.com/search?")
        assert _query(request.url) == {"q": "coffee shops", "count": "10"}
        assert "Chrome" in request.headers["User-Agent"]
        assert "Mobile" not in request.headers["User-Agent"]

    def test_later_page_uses_first_and_the_pager_form(self) -> None:
        params = SearchParams(engine="bing", q="coffee", start=20, num=10)
        query = _query(BingEngine().build_request(params).url)
        assert query["first"] == "21"
        assert query["count"] == "10"
        assert query["FORM"] == "PERE1"

    def test_language_country_and_safe_search(self) -> None:
        params = SearchParams(engine="bing", q="kaffee", hl="de", gl="at", safe="active")
        query = _query(BingEngine().build_request(params).url)
        assert query["setlang"] == "de"
        assert query["cc"] == "at"
        assert query["adlt"] == "strict"
        off = SearchParams(engine="bing", q="kaffee", safe="off")
        assert _query(BingEngine().build_request(off).url)["adlt"] == "off"

    def test_mobile_device_sends_a_mobile_browser(self) -> None:
        params = SearchParams(engine="bing", q="coffee", device="mobile")
        assert "Mobile" in BingEngine().build_request(params).headers["User-Agent"]

    def test_base_url_points_elsewhere(self) -> None:
        engine = BingEngine(base_url="http://127.0.0.1:8080/bing/")
        request = engine.build_request(SearchParams(engine="bing", q="coffee"))
        assert request.url.startswith("http://127.0.0.1:8080/bing/search?")

"""YandexEngine against real captured Yandex pages, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshots hold the rest.
The 2026 pages are sanitized DOM snapshots (every link is http://test.test, and the sanitizer
dropped the spaces around bold words), so they are asserted for structure, not URLs.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from serpgate.engines.yandex import YandexEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    return YandexEngine().parse(serp_page(page), SearchParams(engine="yandex", q=q, **params))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestWeb2026:
    """The 2026 layout: a neural answer first, ten web cards, a promoted card last."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("yandex/web_2026_sanitized.html", "how to fetch in javascript")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        # Twelve serp-items: the neural answer and the promoted card are not web results.
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "Using theFetchAPI - Web APIs | MDN"
        assert results[0].displayed_link == "developer.mozilla.org › en-US/docs/Web/API/Fetch_…"
        assert results[0].snippet is not None
        assert results[0].snippet.startswith("TheFetchAPI provides aJavaScriptinterface")
        assert results[1].title == "Fetch"
        assert results[1].displayed_link == "learn.javascript.ru › Сетевые запросы"
        assert results[-1].title == "A complete guidetoFetchAPIinJavaScript- LogRocket Blog"
        assert all(r.link == "http://test.test" for r in results)

    def test_neural_answer_is_not_a_result(self, data: SerpData) -> None:
        assert "Базовый синтаксис" not in [r.title for r in data.organic_results]

    def test_neural_answer_is_the_ai_overview(self, data: SerpData) -> None:
        overview = data.ai_overview
        assert overview is not None
        blocks = overview.text_blocks
        assert blocks[0].type == "paragraph"
        assert blocks[0].snippet is not None
        # The footnote links after the text ("developer.mozilla.org") are not text.
        assert blocks[0].snippet.startswith("Fetch API— современный интерфейс в JavaScript")
        assert blocks[0].snippet.endswith("способ работы с сетевыми запросами.")
        assert (blocks[1].type, blocks[1].snippet) == ("heading", "Базовый синтаксис")
        assert blocks[3].type == "list"
        assert blocks[3].list is not None
        assert [item.split("—")[0] for item in blocks[3].list] == ["url", "options"]
        assert [b.snippet for b in blocks if b.type == "heading"][:3] == [
            "Базовый синтаксис",
            "Пример GET-запроса",
            "Дополнительные параметры options",
        ]
        assert overview.references is not None
        assert len(overview.references) == 30
        assert [r.source for r in overview.references[:3]] == [
            "developer.mozilla.org",
            "blog.logrocket.com",
            "skillbox.ru",
        ]

    def test_promoted_card_is_an_ad(self, data: SerpData) -> None:
        assert data.ads is not None
        assert len(data.ads) == 1
        ad = data.ads[0]
        assert ad.title == "JavaScript: полное руководство; справочник по самому..."
        assert ad.displayed_link == "market.yandex.ru › Javascript-полное-ру..."
        assert ad.block_position == "bottom"

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.query_displayed == "how to fetch in javascript"
        assert info.organic_results_state == "Results for exact spelling"
        assert info.total_results is None  # the 2026 page prints no count

    def test_pagination_by_p(self, data: SerpData) -> None:
        # The 2026 pager labels its pages from 0; the p each link carries is what counts.
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert sorted(pagination.other_pages or {}) == ["2", "3", "4", "5"]
        assert _query((pagination.other_pages or {})["3"])["p"] == "2"
        assert pagination.next is not None
        assert _query(pagination.next)["p"] == "1"

    def test_golden(self, data: SerpData) -> None:
        assert_golden("yandex/web_2026", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestHttpClient2021:
    """Page 2 of "Hello" on yandex.com in 2021: h2 > a titles, direct links, a result count."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("yandex/http_client_2021-05_q-hello.html", "Hello", start=10)

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert [r.position for r in results] == list(range(11, 21))
        assert results[0].title == "hello - Wiktionary"
        assert results[0].link == "https://en.wiktionary.org/wiki/hello"
        assert results[0].displayed_link == "en.wiktionary.org › wiki/hello"
        assert results[0].snippet is not None
        assert results[0].snippet.startswith("Hello (first attested in 1826), from holla")
        assert results[1].title == "Почему мы говорим hello и hi: история английских... / Хабр"
        assert results[1].link == "https://habr.com/ru/company/englishdom/blog/529116/"
        assert results[3].displayed_link == "ru.glosbe.com › Словарь английский › Русский › hello"
        assert results[-1].title == "HELLO! - Перевод на русский - bab.la"
        assert results[-1].displayed_link == "babla.ru › английский-русский/hello"

    def test_search_information(self, data: SerpData) -> None:
        # "12 million results found"
        assert data.search_information.total_results == 12_000_000
        assert data.search_information.query_displayed == "Hello"

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 2
        assert pagination.next == "https://yandex.com/search/?text=Hello&p=2&lr=20742"
        assert (pagination.other_pages or {})[
            "1"
        ] == "https://yandex.com/search/?text=Hello&p=0&lr=20742"

    def test_golden(self, data: SerpData) -> None:
        assert_golden("yandex/http_client_2021", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestNoResults2026:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("yandex/no_results_2026_sanitized.html", "кличка")

    def test_fully_empty_on_yandex_own_evidence(self, data: SerpData) -> None:
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_recommendations_are_related_searches(self, data: SerpData) -> None:
        assert data.related_searches is not None
        assert [r.query for r in data.related_searches] == [
            "кличка для большой злой собаки",
            "что будет если не мыть лицо с мылом",
            "чем отличается бык от бугая",
            "как попросить у домового выиграть в лоторею",
        ]

    def test_golden(self, data: SerpData) -> None:
        assert_golden("yandex/no_results_2026", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
def test_captcha_page_is_blocked() -> None:
    with pytest.raises(BlockedError, match="not a robot") as raised:
        _parse("yandex/block_captcha_2026.html", "coffee")
    assert raised.value.retry_after > 0


class TestRecognition:
    def test_unknown_page_is_unrecognized(self) -> None:
        with pytest.raises(UnrecognizedPage):
            YandexEngine().parse(
                "<html><body>hello</body></html>", SearchParams(engine="yandex", q="x")
            )

    def test_result_list_with_nothing_readable_is_unrecognized(self) -> None:
        html = '<ul id="search-result"><li class="serp-item"><div class="NewCard">x</div></li></ul>'
        with pytest.raises(UnrecognizedPage):
            YandexEngine().parse(html, SearchParams(engine="yandex", q="x"))

    @pytest.mark.fixtures
    def test_other_engines_pages_are_not_yandex_results(self) -> None:
        for page in ("bing/http_client_2026.html", "google/desktop_2023-04-21_q-google.html"):
            with pytest.raises(UnrecognizedPage):
                _parse(page, "x")


class TestRequest:
    def test_first_page(self) -> None:
        request = YandexEngine().build_request(SearchParams(engine="yandex", q="coffee beans"))
        assert request.url == "https://yandex.com/search/?text=coffee+beans"
        assert "Mozilla" in request.headers["User-Agent"]

    def test_page_is_zero_based_and_size_is_numdoc(self) -> None:
        params = SearchParams(engine="yandex", q="coffee", start=40, num=20, hl="ru")
        query = _query(YandexEngine().build_request(params).url)
        assert query == {"text": "coffee", "p": "2", "numdoc": "20", "lang": "ru"}

    def test_region_and_domain(self) -> None:
        params = SearchParams(engine="yandex", q="кофе", lr="213", yandex_domain="Yandex.RU")
        request = YandexEngine().build_request(params)
        assert request.url.startswith("https://yandex.ru/search/?")
        assert _query(request.url) == {"text": "кофе", "lr": "213"}

    def test_configured_base_url_wins_over_yandex_domain(self) -> None:
        engine = YandexEngine(base_url="http://127.0.0.1:8001/yandex")
        request = engine.build_request(
            SearchParams(engine="yandex", q="coffee", yandex_domain="yandex.com.tr")
        )
        assert request.url == "http://127.0.0.1:8001/yandex/search/?text=coffee"

    def test_region_is_a_number(self) -> None:
        with pytest.raises(ValidationError):
            SearchParams(engine="yandex", q="coffee", lr="Moscow")


class TestCardsAndWizards:
    """Markup as Yandex writes it, cut down to what tells a web card from the rest."""

    _CARD = (
        '<li class="serp-item"><div class="Organic"><h2><a class="OrganicTitle-Link"'
        ' href="https://{host}/">{title}</a></h2><div class="Path">{host}</div>'
        '<div class="OrganicText">text</div>{label}</div></li>'
    )

    def _page(self, *items: str) -> SerpData:
        html = f'<ul id="search-result">{"".join(items)}</ul>'
        return YandexEngine().parse(html, SearchParams(engine="yandex", q="coffee"))

    def test_wizard_with_a_linked_heading_is_not_a_result(self) -> None:
        video = (
            '<li class="serp-item" data-fast-wzrd="videowiz"><div class="VideoWizard">'
            '<h2><a href="https://yandex.ru/video/search?text=coffee">Видео</a></h2></div></li>'
        )
        data = self._page(video, self._CARD.format(host="a.test", title="A", label=""))
        assert [r.title for r in data.organic_results] == ["A"]

    def test_ad_labels_of_2021_and_now(self) -> None:
        old = '<div class="label label_theme_direct">реклама</div>'
        new = (
            '<div class="AdvLabel OrganicAdvLabel"><span class="AdvLabel-Text">Реклама</span></div>'
        )
        data = self._page(
            self._CARD.format(host="ad1.test", title="Ad 1", label=old),
            self._CARD.format(host="web.test", title="Web", label=""),
            self._CARD.format(host="ad2.test", title="Ad 2", label=new),
        )
        assert [r.title for r in data.organic_results] == ["Web"]
        assert data.ads is not None
        assert [(a.title, a.block_position) for a in data.ads] == [
            ("Ad 1", "top"),
            ("Ad 2", "bottom"),
        ]

    def test_sitelinks_once_each(self) -> None:
        links = "".join(
            f'<div class="Sitelinks-Item"><a class="Sitelinks-Title" href="https://a.test/{n}">'
            f"Page {n}</a></div>"
            for n in (1, 2)
        )
        card = self._CARD.format(
            host="a.test", title="A", label=f'<div class="Sitelinks sitelinks">{links}</div>'
        )
        sitelinks = self._page(card).organic_results[0].sitelinks
        assert sitelinks is not None
        assert [(s.title, s.link) for s in sitelinks.inline or []] == [
            ("Page 1", "https://a.test/1"),
            ("Page 2", "https://a.test/2"),
        ]

"""BaiduEngine against real captured Baidu pages, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshots hold the rest.
The 2026 pages are sanitized DOM snapshots of a browser that had translated the page into
English (every link is http://test.test), so they are asserted for structure, not URLs.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from serpgate.engines.baidu import BaiduEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    return BaiduEngine().parse(serp_page(page), SearchParams(engine="baidu", q=q, **params))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestHttpClient2021:
    """ "Hello" in 2021: Baidu's own cards (translation, Baike, Tieba, music, images, video)
    and web results behind its /link?url= redirect; a recommendation widget without a title."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("baidu/http_client_2021-05-10_q-hello.html", "Hello")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        # Eleven c-containers; the recommendation list has no title of its own.
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "hello - 百度翻译"
        assert results[1].title == "hello(词语释义) - 百度百科"
        assert results[1].snippet == (
            "Hello出自英语。本义为“你好、喂”。Hello是我们日常生活中使用频率较高的一个词。"
        )
        assert results[5].title == "hello是什么意思_hello的翻译_音标_读音_用法_例句_爱词霸..."
        assert results[5].displayed_link == "www.iciba.com/hello"
        assert results[7].title == "hello network"
        assert results[7].snippet == (
            "Connect with people who share your interests. Discover communities you love. "
            "Join fun conversations."
        )
        assert results[-1].displayed_link == "dict.cn/hello"

    def test_cards_link_their_real_target(self, data: SerpData) -> None:
        # A card's title goes through /link?url=; its ``mu`` names the page itself.
        assert data.organic_results[0].link == "http://fanyi.baidu.com/#en/zh/hello"
        assert data.organic_results[1].link == "https://baike.baidu.com/item/hello/38467"
        # A direct title link stays as it is.
        assert (
            data.organic_results[3].link == "http://music.163.com/song?id=35847388&market=baiduqk"
        )
        # A web result without ``mu`` keeps Baidu's redirect, the only link the page gives.
        assert data.organic_results[7].link == (
            "http://www.baidu.com/link?url=gEuAslrSkKEnugLTJNutjNmHsec20bQbBdV978XPPPG"
        )

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.total_results == 100_000_000  # 百度为您找到相关结果约100,000,000个
        assert info.query_displayed == "Hello"

    def test_related_searches(self, data: SerpData) -> None:
        related = data.related_searches
        assert related is not None
        assert len(related) == 9
        assert related[0].query == "Hello语音软件"
        assert related[2].query == "Hello Kitty"
        assert related[0].link is not None
        assert _query(related[0].link)["wd"] == "Hello语音软件"

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert pagination.next is not None
        assert _query(pagination.next)["pn"] == "10"
        assert sorted(pagination.other_pages or {}, key=int) == [str(n) for n in range(2, 11)]

    def test_golden(self, data: SerpData) -> None:
        assert_golden("baidu/http_client_2021", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
class TestWeb2026:
    """The 2024+ card layout (translated): data-module abstract and source blocks."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("baidu/web_2026_sanitized.html", "what is megadeath")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 9
        assert [r.title for r in results[:3]] == [
            "Baidu Translate",
            "megadeath- Baidu Baike",
            "Megadeth | Members, Songs, Albums, Rust in Peace, Symphony of...",
        ]
        assert results[1].displayed_link == "Baidu Baike"  # the icon-font glyph left out
        assert results[1].snippet is not None
        assert results[1].snippet.startswith('"Megadeath"is an English word')
        assert results[2].displayed_link == "Encyclopædia Britannica official website"
        assert results[7].title == "Megadeth | Fandom"
        assert results[7].displayed_link == "megadeth.fandom.com/"
        assert results[-1].title == "Arnold Dreams Database 1991-1997"
        assert all(r.link == "http://test.test" for r in results)

    def test_date_moves_out_of_the_snippet(self, data: SerpData) -> None:
        britannica = data.organic_results[2]
        assert britannica.date == "December 1, 2023"
        assert britannica.snippet is not None
        assert britannica.snippet.startswith("WhyisMegadeth retiring?")

    def test_related_and_pagination(self, data: SerpData) -> None:
        assert data.related_searches is not None
        assert len(data.related_searches) == 10
        assert data.pagination is not None
        assert data.pagination.next is not None
        assert _query(data.pagination.next)["pn"] == "10"

    def test_golden(self, data: SerpData) -> None:
        assert_golden("baidu/web_2026", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
def test_no_results_page_is_fully_empty() -> None:
    data = _parse("baidu/no_results_2026_sanitized.html", "site:example.invalid")
    assert data.organic_results == []
    assert data.search_information.organic_results_state == "Fully empty"
    assert_golden("baidu/no_results_2026", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
def test_security_verification_is_blocked() -> None:
    with pytest.raises(BlockedError, match="百度安全验证") as raised:
        _parse("baidu/block_captcha_2026_sanitized.html", "coffee")
    assert raised.value.retry_after > 0


class TestRecognition:
    def test_unknown_page_is_unrecognized(self) -> None:
        with pytest.raises(UnrecognizedPage):
            BaiduEngine().parse(
                "<html><body>hello</body></html>", SearchParams(engine="baidu", q="x")
            )

    def test_result_column_with_nothing_readable_is_unrecognized(self) -> None:
        html = '<div id="content_left"><div class="c-container"><p>new layout</p></div></div>'
        with pytest.raises(UnrecognizedPage):
            BaiduEngine().parse(html, SearchParams(engine="baidu", q="x"))


class TestRequest:
    def test_first_page(self) -> None:
        request = BaiduEngine().build_request(SearchParams(engine="baidu", q="咖啡"))
        assert _query(request.url) == {"wd": "咖啡", "ie": "utf-8"}
        assert request.url.startswith("https://www.baidu.com/s?")

    def test_offset_and_size(self) -> None:
        params = SearchParams(engine="baidu", q="coffee", start=40, num=20)
        assert _query(BaiduEngine().build_request(params).url) == {
            "wd": "coffee",
            "ie": "utf-8",
            "pn": "40",
            "rn": "20",
        }

    def test_language_filter(self) -> None:
        params = SearchParams(engine="baidu", q="咖啡", ct=2)
        assert _query(BaiduEngine().build_request(params).url)["ct"] == "2"
        with pytest.raises(ValidationError):
            SearchParams(engine="baidu", q="咖啡", ct=3)


def test_promoted_block_is_an_ad() -> None:
    html = (
        '<div id="content_left"><div id="3001" class="EC_result" cmatchid="222">'
        '<h3 class="t"><a href="https://www.baidu.com/baidu.php?url=ad">咖啡机 - 官网</a></h3>'
        '<div class="c-abstract">促销</div><span class="ec-tuiguang">广告</span></div>'
        '<div class="result c-container" id="1"><h3 class="t">'
        '<a href="http://www.baidu.com/link?url=abc">咖啡 - 维基百科</a></h3>'
        '<div class="c-abstract">咖啡是</div></div></div>'
    )
    data = BaiduEngine().parse(html, SearchParams(engine="baidu", q="咖啡"))
    assert [r.title for r in data.organic_results] == ["咖啡 - 维基百科"]
    assert data.ads is not None
    assert [(a.title, a.block_position, a.description) for a in data.ads] == [
        ("咖啡机 - 官网", "top", "促销")
    ]

"""The helpers every engine's parser shares: text, links, numbers, dates, selectors."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Recognition,
    absolute_url,
    css_any,
    css_within,
    echoes_query,
    looks_blocked,
    node_text,
    parse_count,
    parse_int,
    query_param,
    split_leading_date,
    split_marked_date,
    url_path,
)
from serpgate.errors import UnrecognizedPage
from serpgate.models.response import (
    Ad,
    OrganicResult,
    RelatedSearch,
    SearchInformation,
    SerpData,
)


def _node(html: str, selector: str = "#x") -> LexborNode:
    node = LexborHTMLParser(html).css_first(selector)
    assert node is not None
    return node


class TestNodeText:
    def test_inline_markup_keeps_the_spaces_around_it(self) -> None:
        assert node_text(_node("<p id=x>Download <b>Bing</b> for\n  Windows</p>")) == (
            "Download Bing for Windows"
        )

    def test_inline_markup_inside_a_word_joins_it(self) -> None:
        assert node_text(_node("<p id=x>Java<b>Script</b>s</p>")) == "JavaScripts"

    def test_blocks_and_breaks_separate_words(self) -> None:
        html = "<div id=x><div>Menu</div><div>Prices</div>line<br>line<ul><li>a</li><li>b</li></ul>"
        assert node_text(_node(html)) == "Menu Prices line line a b"
        assert node_text(_node("<div id=x><a><div>in</div></a>after</div>")) == "in after"

    def test_no_node_no_text(self) -> None:
        assert node_text(None) == ""

    def test_a_whole_region_reads_as_its_text(self) -> None:
        spans = "".join(f"<span>{n} </span>" for n in range(3000))
        assert node_text(_node(f"<div id=x>{spans}</div>")).endswith("2998 2999")


class TestQueryParam:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("https://x.test/search?q=coffee+beans&start=10", "coffee beans"),
            ("/search?start=10&q=caf%C3%A9", "café"),
            ("/search?q=first&q=second", "first"),
            ("/search?q=&start=10", ""),
            ("/search?start=10", None),
            ("/search?xq=1&q=2", "2"),
            ("/search#q=fragment", None),
            ("/search?a=1#&q=fragment", None),
            ("/search?x=a?q=1", None),
            ("http://[broken/search?q=still", "still"),
        ],
    )
    def test_value(self, url: str, expected: str | None) -> None:
        assert query_param(url, "q") == expected


class TestAbsoluteUrl:
    @pytest.mark.parametrize(
        ("href", "expected"),
        [
            ("https://example.test/a", "https://example.test/a"),
            ("/search?q=x", "http://127.0.0.1:8000/search?q=x"),
            ("search?q=x", "http://127.0.0.1:8000/bing/search?q=x"),
            ("//cdn.test/a", "http://cdn.test/a"),
            ("  /padded ", "http://127.0.0.1:8000/padded"),
            ("", None),
            (None, None),
            ("#top", None),
            ("javascript:void(0)", None),
            ("//[broken", None),
        ],
    )
    def test_resolves_against_the_mount(self, href: str | None, expected: str | None) -> None:
        assert absolute_url("http://127.0.0.1:8000/bing", href) == expected

    def test_url_path_of_a_malformed_url_is_empty(self) -> None:
        assert url_path("https://www.bing.com/ck/a?u=a1") == "/ck/a"
        assert url_path("http://[broken/ck/a") == ""


class TestNumbers:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [("12", 12), ("١٢", 12), ("²", None), ("-1", None), ("", None), (None, None),
         ("9" * 18, 10**18 - 1), ("9" * 19, None), ("12a", None)],
    )  # fmt: skip
    def test_parse_int(self, text: str | None, expected: int | None) -> None:
        assert parse_int(text) == expected

    def test_parse_count(self) -> None:
        assert parse_count("About 1,230,000 results") == 1_230_000
        assert parse_count("Ungefähr 114.000.000 Ergebnisse") == 114_000_000
        assert parse_count("no number") is None
        assert parse_count("About " + "9" * 5000 + " results") is None


class TestDates:
    @pytest.mark.parametrize(
        ("text", "separators", "expected"),
        [
            ("Mar 5, 2019 · Text", ("·",), ("Mar 5, 2019", "Text")),
            ("24/1/2013 — Text", ("·", "—"), ("24/1/2013", "Text")),
            ("2 days ago - Text", ("-",), ("2 days ago", "Text")),
            ("14 Oct 2023 ... Text", ("...",), ("14 Oct 2023", "Text")),
            ("5. März 2019 · Text", ("·",), ("5. März 2019", "Text")),
            ("2013年1月24日 · Text", ("·",), ("2013年1月24日", "Text")),
            ("Mar 5, 2019 Text", ("·",), (None, "Mar 5, 2019 Text")),
            ("Version 1.2 · Text", ("·",), (None, "Version 1.2 · Text")),
        ],
    )
    def test_split_leading_date(
        self, text: str, separators: tuple[str, ...], expected: tuple[str | None, str]
    ) -> None:
        assert split_leading_date(text, *separators) == expected

    def test_split_marked_date(self) -> None:
        text = "Mar 13, 2026 · Learn JavaScript"
        assert split_marked_date(text, "Mar 13, 2026 ·", "·") == (
            "Mar 13, 2026",
            "Learn JavaScript",
        )
        assert split_marked_date(text, "Mar 13, 2026", "·") == (None, text)
        assert split_marked_date(text, "", "·") == (None, text)


class TestSelectors:
    def test_css_any_takes_the_first_selector_that_finds_nodes(self) -> None:
        tree = LexborHTMLParser("<p class=b>1</p><p class=b>2</p><p class=c>3</p>")
        assert [node_text(n) for n in css_any(tree, ".a", ".b", ".c")] == ["1", "2"]
        assert css_any(tree, ".a") == []

    def test_css_within_is_the_descendant_selector(self) -> None:
        html = (
            "<div id=x><div class='box item'><i class=item>1</i>"
            "<div class=box><i class=item>2</i></div></div><i class=item>out</i>"
            "<div class=box><i class=item>3</i></div></div>"
        )
        root = _node(html)
        within = [node_text(n) for n in css_within(root, ".box", ".item")]
        assert within == [node_text(n) for n in root.css(".box .item")] == ["1", "2", "3"]

    def test_looks_blocked_ignores_the_query(self) -> None:
        page = "<p>Results for captcha solver</p>"
        tree = LexborHTMLParser(page)
        assert not looks_blocked(tree, page, "captcha solver", ("captcha",))
        assert looks_blocked(tree, page, "solver", ("captcha",))
        captcha = "<form action='/captcha'></form>"
        assert looks_blocked(LexborHTMLParser(captcha), captcha, "x", ())


class TestRecognition:
    """The three-step contract: evidence before extraction, results or the engine's own "none"."""

    def test_a_page_without_evidence_is_unrecognised(self) -> None:
        with pytest.raises(UnrecognizedPage, match="bing answered a page that is neither"):
            Recognition.of("bing", results_page=False, no_results=False)

    def test_a_results_page_that_gave_nothing_is_unrecognised(self) -> None:
        page = Recognition.of("bing", results_page=True, no_results=False)
        with pytest.raises(UnrecognizedPage, match="no result could be read"):
            page.confirm(SerpData(related_searches=[RelatedSearch(query="q")]))

    def test_the_engines_own_no_results_is_an_empty_success(self) -> None:
        page = Recognition.of("bing", results_page=False, no_results=True)
        data = page.confirm(SerpData())
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_results_are_confirmed_and_the_state_follows_them(self) -> None:
        page = Recognition.of("bing", results_page=True, no_results=False)
        result = OrganicResult(position=1, title="t", link="https://x.test/")
        empty_state = SearchInformation(organic_results_state="Fully empty")
        data = page.confirm(SerpData(search_information=empty_state, organic_results=[result]))
        assert data.search_information.organic_results_state == "Results for exact spelling"
        ad = Ad(position=1, block_position="right", title="t", link="https://x.test/")
        only_ads = page.confirm(SerpData(ads=[ad]))
        assert only_ads.search_information.organic_results_state == "Fully empty"

    def test_the_search_box_echoes_the_query(self) -> None:
        tree = LexborHTMLParser('<form><input id="q" value=" Coffee  beans"></form>')
        assert echoes_query(tree, "coffee beans", "#nope", "#q")
        assert not echoes_query(tree, "coffee", "#q")
        assert not echoes_query(tree, "coffee beans", "#nope")

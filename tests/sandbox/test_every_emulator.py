"""What every sandbox emulator shares: reading odd query strings, the page size a corpus page
carries, pagers that stay small however far a client pages, and the shared markup helpers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.registry import build_engines
from serpgate.models.params import SearchParams
from serpgate.sandbox.corpus import Corpus
from serpgate.sandbox.emulator import highlight, pager_numbers, query_int, query_text
from serpgate.sandbox.emulators import all_emulators

CORPUS = Corpus()
EMULATORS = {emulator.engine: emulator for emulator in all_emulators()}
# The query parameter each engine puts its search terms in.
QUERY_NAME = {"yahoo": "p", "startpage": "query", "yandex": "text", "baidu": "wd"}
# Each engine's paging parameters, for values no engine would send.
PAGING = (
    "first",
    "count",
    "num",
    "start",
    "s",
    "b",
    "pz",
    "offset",
    "page",
    "p",
    "pn",
    "rn",
    "numdoc",
)


@pytest.mark.parametrize("engine", EMULATORS)
@pytest.mark.parametrize("junk", ["²", "-5", "", "ten", "9" * 5000, "1e3", " 7 "])
def test_odd_paging_values_fall_back_to_a_real_page(engine: str, junk: str) -> None:
    # The query last: Yahoo spells its query "p", which is Yandex's and Ecosia's page.
    query = dict.fromkeys(PAGING, junk) | {QUERY_NAME.get(engine, "q"): "coffee"}
    asked = EMULATORS[engine].page_request(query)
    assert asked is not None
    assert asked.query == "coffee"
    assert asked.page >= 1
    assert asked.num >= 1


@pytest.mark.parametrize("engine", EMULATORS)
def test_a_far_page_renders_a_small_pager(engine: str) -> None:
    # Rendering every page number up to the one asked for would take minutes here.
    page = CORPUS.page("coffee", 10**12, 10)
    html = EMULATORS[engine].render(page, f"/{engine}")
    assert len(html) < 50_000


@pytest.mark.parametrize(("engine", "size"), [("bing", "count"), ("google", "num")])
def test_page_links_keep_the_page_size_past_the_last_page(engine: str, size: str) -> None:
    """An empty page past the query's last spells its page links with the size asked for,
    which the engines that page by result rank read back."""
    num = 20
    page = CORPUS.page("coffee", CORPUS.pages_per_query + 1, num)
    assert page.documents == ()
    assert page.num == num
    base = f"http://127.0.0.1:8000/{engine}"
    params = SearchParams(engine=engine, q="coffee", start=CORPUS.pages_per_query * num, num=num)
    html = EMULATORS[engine].render(page, f"/{engine}")
    data = build_engines({engine: base})[engine].parse(html, params)
    assert data.pagination is not None
    links = list((data.pagination.other_pages or {}).values())
    assert links
    for link in links:
        assert parse_qs(urlsplit(link).query)[size] == [str(num)]


def test_bing_past_the_last_page_links_back_with_its_page_size() -> None:
    page = CORPUS.page("coffee", CORPUS.pages_per_query + 1, 50)
    html = EMULATORS["bing"].render(page, "/bing")
    # Page 5 of 50 results a page starts at result 201; the size once came from the (empty)
    # document list, which made it 10.
    assert "first=201&amp;count=50" in html


class TestHelpers:
    def test_query_text_takes_the_first_filled_name(self) -> None:
        assert query_text({"query": "", "q": "  coffee   beans "}, "query", "q") == "coffee beans"
        assert query_text({}, "q") == ""

    def test_query_int(self) -> None:
        assert query_int({"s": "30"}, "s", 0) == 30
        assert query_int({"s": "-30"}, "s", 0) == -30
        assert query_int({"s": "²"}, "s", 7) == 7
        assert query_int({}, "s", 7) == 7

    def test_highlight_bolds_whole_query_words(self) -> None:
        assert highlight("Coffee & coffees: a <guide>", "coffee") == (
            "<b>Coffee</b> &amp; coffees: a &lt;guide&gt;"
        )
        assert highlight("plain", " ") == "plain"

    def test_pager_numbers(self) -> None:
        assert list(pager_numbers(CORPUS.page("coffee", 2, 10), 10)) == [1, 2, 3]
        assert list(pager_numbers(CORPUS.page("coffee", 4, 10), 3)) == [3, 4, 5]
        last = CORPUS.pages_per_query
        assert list(pager_numbers(CORPUS.page("coffee", last, 10), 10)) == list(range(1, last + 1))

    def test_document_day(self) -> None:
        dated = next(
            d for n in range(1, 4) for d in CORPUS.page("coffee", n, 10).documents if d.date
        )
        assert dated.day is not None
        assert dated.day.strftime("%b %d, %Y").replace(" 0", " ") == dated.date


@pytest.mark.parametrize("engine", EMULATORS)
@pytest.mark.parametrize("query", ["[coffee]", "a[1] b]", "http://[::1]/x", "@:/#?%"])
def test_queries_with_url_syntax_render_and_parse(engine: str, query: str) -> None:
    """Query terms go into the synthetic hosts; ``[`` there once crashed five emulators
    (``urlsplit`` read it as an IPv6 literal) and answered 500."""
    page = CORPUS.page(query, 1, 10)
    html = EMULATORS[engine].render(page, f"/{engine}")
    params = SearchParams(engine=engine, q=query)
    data = build_engines({engine: "http://127.0.0.1:8000"})[engine].parse(html, params)
    links = [result.link for result in data.organic_results or []]
    assert len(links) == len(page.documents)
    for link in links:
        assert urlsplit(link).hostname

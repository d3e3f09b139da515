"""The property every parser keeps, whatever page it is handed: results that are really on the
page, the engine's typed block, or ``UnrecognizedPage``. Never anything else.

The parsers will meet pages nobody has captured: a new layout, another engine's page behind a
misrouted request, a body cut off mid-transfer, a proxy's error page, markup that never closes.
Anything a parser raises other than its typed refusals reaches the client as an error it cannot
act on, and an empty "Success" for a page the parser did not recognise is a confident lie that
the service would cache and charge. So each registered engine (those added later included: the
list comes from the registry) reads every captured page of every other engine, garbage of several
kinds, and (with hypothesis) its own pages cut short and mutated: elements, attributes and class
names deleted at random. Each outcome must be:

- ``BlockedError`` (a typed block) or ``UnrecognizedPage``; or
- ``SerpData`` whose every title and link is on the page (the link perhaps behind the engine's
  click tracker), that the service's JSON encoder takes, and that is empty only on a page that is
  the engine's own no-results page.
"""

from __future__ import annotations

import base64
import html as htmllib
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serpgate.engines.base import Engine
from serpgate.engines.registry import build_engines
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import SERP_DIR, serp_page

ENGINES: dict[str, Engine] = build_engines({})

# Every capture in ../shared/fixtures/serp (see its INDEX.md); test_the_list_is_complete keeps
# it so as pages are added.
CAPTURED = (
    "baidu/block_captcha_2026_sanitized.html",
    "baidu/http_client_2021-05-10_q-hello.html",
    "baidu/no_results_2026_sanitized.html",
    "baidu/web_2026_sanitized.html",
    "bing/block_challenge_2026-04.html",
    "bing/desktop_2019-08-12_q-best-cloud-services.html",
    "bing/http_client_2021-05-10_q-hello.html",
    "bing/http_client_2026.html",
    "bing/nojs_2021.html",
    "brave/web_2026-03.html",
    "duckduckgo/block_lite_challenge_2026.html",
    "duckduckgo/html_2021-05-10_q-hello.html",
    "duckduckgo/html_2025-01.html",
    "duckduckgo/html_2025-06.html",
    "duckduckgo/js_2019-09_q-cloud-service.html",
    "ecosia/block_captcha_2026_sanitized.html",
    "ecosia/web_2026-04.html",
    "google/block_recaptcha_2020.html",
    "google/block_sorry_2026.html",
    "google/desktop_2019-03-19_q-van-gogh-paintings.html",
    "google/desktop_2019-08-13_q-cloud-services_num100.html",
    "google/desktop_2019-09-13_q-car-tires-for-sale.html",
    "google/desktop_2020-04-05_q-summary-of-the-bell-jar.html",
    "google/desktop_2020-06-17_q-cheap-lacoste-shoes.html",
    "google/desktop_2021-09-02_q-spider-man-no-way-home-cast.html",
    "google/desktop_2022-03-23_q-louis-vuitton-bags.html",
    "google/desktop_2023-04-21_q-coffee.html",
    "google/desktop_2023-04-21_q-google.html",
    "google/desktop_2023-09-06_q-playstation-5-games.html",
    "google/desktop_2024-02-25_q-miyazaki-hayao.html",
    "google/desktop_2025-05-25_q-quantum-field-theory_ja.html",
    "google/desktop_2025-08-07_q-something.html",
    "google/desktop_2026-05-27_sanitized.html",
    "google/images_2025-06-14_q-chateau-chalon_udm2.html",
    "google/mobile_2023-04-21_q-google.html",
    "google/news_2021-05-10_nojs_q-hello.html",
    "google/news_2025-06-14_q-schloss-johannisberg.html",
    "google/no_results_2026-04-13_sanitized.html",
    "google/nojs_2021-05-10_q-hello.html",
    "google/nojs_2023-06-02_q-google.html",
    "google/videos_2025-06-14_q-brahms-piano-concerto-2_udm7.html",
    "google_scholar/web_2021-05-10_q-hello.html",
    "mojeek/web_2026-04.html",
    "qwant/block_geo_2026-04.html",
    "startpage/http_client_2026.html",
    "yahoo/http_client_2021-05-10_q-hello.html",
    "yahoo/web_2026-03.html",
    "yandex/block_captcha_2026.html",
    "yandex/http_client_2021-05_q-hello.html",
    "yandex/no_results_2026_sanitized.html",
    "yandex/web_2026_sanitized.html",
)


def _own(engine: str) -> list[str]:
    return [page for page in CAPTURED if page.startswith(f"{engine}/")]


@pytest.mark.fixtures
def test_the_list_is_complete() -> None:
    serp_page(CAPTURED[0])  # skips (or fails under CI) without the pages
    on_disk = {str(p.relative_to(SERP_DIR)) for p in SERP_DIR.glob("*/*.html")}
    assert on_disk == set(CAPTURED)


_TAG = re.compile(r"<[^>]*>")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_SPACE = re.compile(r"\s+")
# The payloads of click trackers: Bing's ``u=a1<base64>`` (/ck/a) and ``u=<base64>`` (/aclick).
_TRACKED = re.compile(r"[?&;]u=(?:a1)?([A-Za-z0-9_-]{8,})")


def _squash(text: str) -> str:
    """Text compared without white space or case: parsers join words as a browser shows them,
    which markup and its line breaks do not."""
    return _SPACE.sub("", text).casefold()


@dataclass(frozen=True, slots=True)
class _Page:
    """What a page holds, in every spelling a parser may read a title or a link from."""

    text: str  # squashed: tags out, entities and JSON escapes decoded
    raw: str  # the markup, entities and percent-escapes decoded

    @classmethod
    def of(cls, html: str) -> _Page:
        decoded = htmllib.unescape(
            _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), html).replace("\\/", "/")
        )
        trackers = []
        for payload in _TRACKED.findall(decoded):
            try:
                target = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
                trackers.append(unquote(target.decode("utf-8", "replace")))
            except ValueError:
                continue
        # Once and twice decoded: a tracker's payload is itself percent-encoded in some years.
        found = "\n".join([decoded, *trackers])
        raw = f"{found}\n{unquote(found)}"
        # Both with tags out (text split by inline markup) and in (titles in attributes).
        return cls(text=_squash(_TAG.sub("", decoded)) + _squash(decoded), raw=_squash(raw))

    def has_text(self, text: str) -> bool:
        return _squash(text) in self.text

    def has_link(self, link: str) -> bool:
        """The link, or (resolved from a relative href) its path and query, is on the page."""
        try:
            parts = urlsplit(link)
            relative = parts.path + (f"?{parts.query}" if parts.query else "")
        except ValueError:  # "http://[b" is on a page as it stands, and no more
            relative = ""
        spellings = [link, unquote(link)] + (
            [relative, unquote(relative)] if len(relative) > 1 else []
        )
        return any(_squash(spelling) in self.raw for spelling in spellings)


def _read(data: SerpData) -> bool:
    """Whether any block that shows a page was read is there (not pagination, not related
    searches, which error pages can look like)."""
    chrome = {"search_information", "pagination", "related_searches"}
    return any(getattr(data, name) for name in SerpData.model_fields if name not in chrome)


def assert_outcome(engine: Engine, html: str, *, start: int = 0, no_results_page: bool) -> None:
    """The property, for one page: see the module's docstring."""
    params = SearchParams(engine=engine.name, q="coffee", start=start)
    try:
        data = engine.parse(html, params)
    except (BlockedError, UnrecognizedPage):
        return
    assert isinstance(data, SerpData)
    orjson.dumps(data.model_dump(mode="json", exclude_none=True))
    if not _read(data):
        assert no_results_page, (
            f"{engine.name}: an empty Success for a page that is no no-results page"
        )
        assert data.search_information.organic_results_state == "Fully empty"
        return
    page = _Page.of(html)
    for result in [*data.organic_results, *(data.ads or ())]:
        assert page.has_text(result.title), f"{engine.name} invented the title {result.title!r}"
        assert page.has_link(result.link), f"{engine.name} invented the link {result.link!r}"
    for question in data.related_questions or ():
        assert page.has_text(question.question), f"{engine.name} invented {question.question!r}"


def _is_no_results_page(page: str) -> bool:
    return "/no_results" in f"/{page.split('/')[-1]}"


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("engine", "page"),
    [
        (engine, page)
        for engine in ENGINES
        for page in CAPTURED
        if not page.startswith(f"{engine}/")
    ],
)
def test_other_engines_pages(engine: str, page: str) -> None:
    # No page of another engine is this engine's no-results page.
    assert_outcome(ENGINES[engine], serp_page(page), no_results_page=False)


@pytest.mark.fixtures
@pytest.mark.parametrize("page", [page for page in CAPTURED if page.split("/")[0] in ENGINES])
def test_own_pages_whole(page: str) -> None:
    engine = ENGINES[page.split("/")[0]]
    assert_outcome(engine, serp_page(page), no_results_page=_is_no_results_page(page))


# Markup that opens, in one block, what each engine takes for a result (Bing's b_algo, Google's
# data-hveid block with a linked h3, DuckDuckGo's result__a, Brave's web snippet, Yahoo's
# algo-sr, Startpage's result-title) and never closes it, so every result nests in the last.
_NESTED_RESULT = (
    "<div class='b_algo'><div class='g' data-hveid='x'><div class='result web-result'>"
    "<div class='snippet' data-type='web'><div class='algo-sr'><div class='compTitle'>"
    "<a class='result__a result-title' href='https://example.test/' title='t'><h2><h3>Title"
    "</h3></h2></a></div><div class='VwiC3b b_caption compText generic-snippet'>"
    "<div class='description content'>Mar 5, 2020 · snippet <cite>example.test</cite>"
    "<span class='news_dt'>Mar 5, 2020</span><div class='result-cluster'><div class='compList'>"
)

# The same, closed: one of thousands of results on a page of a few megabytes.
_RESULT = (
    "<li class='b_algo'><div class='g' data-hveid='x{n}'><div class='result web-result'>"
    "<div class='snippet' data-type='web'><div class='algo-sr'><div class='compTitle'>"
    "<a class='result__a result-title' href='https://example.test/{n}' title='t'><h2><h3>"
    "Title {n}</h3></h2></a></div><div class='VwiC3b b_caption compText generic-snippet'>"
    "<div class='description content'>Mar 5, 2020 · snippet {n} <cite>example.test</cite>"
    "</div></div></div></div></div></div></div></li>"
)

# One result each engine recognises, so that the parts read only beside results are read too.
_ONE_RESULT_EACH = (
    "<div id='rso'><div class='g' data-hveid='1'><a href='https://x.test/'><h3>t</h3></a>"
    "<cite>c</cite></div></div><div class='snippet' data-type='web'><a href='https://x.test/'>"
    "<div class='title'>t</div></a></div><div class='algo-sr'><div class='compTitle'>"
    "<a href='https://x.test/'><h3>t</h3></a></div></div>"
)

GARBAGE = {
    "empty": "",
    "white space": " \n\t\r\n ",
    "plain text": "coffee near me\nNo markup here at all, just words & an ampersand < 3.",
    "bare html": "<html></html>",
    "json error body": '{"error": "rate limited", "retry_after": 30}',
    "xml": '<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</title>'
    "<link>https://example.test/</link></item></channel></rss>",
    "nul bytes": "\x00" * 2048,
    "binary-ish": random.Random(7).randbytes(64 * 1024).decode("latin-1"),
    "binary as utf-8": random.Random(8).randbytes(64 * 1024).decode("utf-8", "replace"),
    "deeply nested": "<html><body>" + "<div><span>" * 4000 + "deep" + "</span></div>" * 4000,
    "nested results": "<div id='rso'><div id='links'><ol id='b_results'>" + _NESTED_RESULT * 150,
    "huge": "<html><body><div id='rso'><div id='links'><ol id='b_results'>"
    + "".join(_RESULT.format(n=n) for n in range(3000)),
    "truncated mid-tag": "<html><head><title>coffee - Search</title></head><body>"
    "<div id='b_results'><li class='b_algo'><h2><a href=\"https://exa",
    "unclosed comment": "<html><body><!-- <div class='result'><a class='result__a' href='x'>",
    "unclosed script": "<html><body><script>var rso = '<div id=\"rso\">';",
    # Hrefs urljoin and urlsplit reject ("Invalid IPv6 URL") where each engine resolves links.
    "malformed links": "<div id='center_col'><div id='rso'><div class='g' data-hveid='1'>"
    "<a href='http://[/url?q=https://x.test/'><h3>t</h3><cite>c</cite></a></div></div>"
    "<div id='bres'><a href='http://[/search?q=x'>x</a></div></div>"
    "<ol id='b_results'><li class='b_algo'><h2><a href='http://[b'>t</a></h2></li>"
    "<li class='b_pag'><a href='http://[p'>2</a><a class='sb_pagN' href='//[n'>Next</a></li></ol>"
    "<div id='related-queries'><a href='//[r'>q</a></div><div id='pagination'>"
    "<a href='//[?offset=2'>2</a></div><div class='AlsoTry'><a href='//[?p=x'>x</a></div>"
    "<div class='compPagination'><div class='pages'><a href='//[?b=8'>2</a></div></div>"
    "<form action='//[f'><input name='s' value='30'><input name='vqd' value='4-1'></form>"
    "<div class='pagination'><form action='//[f'><input name='page' value='2'></form></div>",
    # Digits str.isdigit() accepts and int() rejects, and more digits than int() converts.
    "superscript digits": _ONE_RESULT_EACH + "<table class='AaVjTc'><td class='YyVfkd'>²</td>"
    "<a href='/s'>³</a></table><li class='b_pag'><a class='sb_pagS'>²</a><a href='/s'>³</a></li>"
    "<div class='compPagination'><div class='pages'><strong>²</strong></div></div>"
    "<form><input name='s' value='²'><input name='vqd' value='4-1'></form>"
    "<div id='pagination'><a href='/search?offset=²'>2</a></div>"
    "<div class='pagination'><form><input name='page' value='²'></form></div>",
    "endless digits": _ONE_RESULT_EACH
    + "<div id='result-stats'>About "
    + "9" * 5000
    + " results</div>"
    "<span class='sb_count'>" + "9" * 5000 + " results</span><li class='b_pag'>"
    "<a href='/search?first=11'>" + "1" * 5000 + "</a></li>"
    "<div class='compPagination'><span>About " + "9" * 5000 + " results</span></div>",
    # A local pack whose review count is no number: "(1.2.3K)".
    "odd review count": "<div id='center_col'><div class='rllt__details'><div role='heading'>"
    "Cafe</div><div>4.5(1.2.3K) · Cafe</div><div>1 Main St</div></div>"
    "<div class='rllt__details'><div role='heading'>Bar</div><div>4.1(" + "9" * 5000 + "K)</div>"
    "</div></div>",
}


@pytest.mark.parametrize("kind", GARBAGE)
@pytest.mark.parametrize("engine", list(ENGINES))
def test_garbage(engine: str, kind: str) -> None:
    assert_outcome(ENGINES[engine], GARBAGE[kind], no_results_page=False)


@pytest.mark.fixtures
@pytest.mark.parametrize("page", [page for page in CAPTURED if page.split("/")[0] in ENGINES])
def test_own_pages_cut_mid_tag(page: str) -> None:
    html = serp_page(page)
    engine = ENGINES[page.split("/")[0]]
    for fraction in (0.1, 0.5, 0.9):
        # Cut just inside the first start tag past the point: "<a hr".
        at = html.find("<", int(len(html) * fraction))
        cut = html[: at + 4 if at >= 0 else len(html)]
        assert_outcome(engine, cut, no_results_page=_is_no_results_page(page))


_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(?=[\s/>])[^>]*>")
_ATTRIBUTE = re.compile(r"""\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_CLASS = re.compile(r"""\sclass\s*=\s*(["'])([^"']*)\1""")


@dataclass(frozen=True, slots=True)
class _Anatomy:
    """Where a page's start tags, attributes and class attributes begin."""

    html: str
    tags: tuple[int, ...]
    attributes: tuple[int, ...]
    classes: tuple[int, ...]


@lru_cache(maxsize=32)
def _anatomy(page: str) -> _Anatomy:
    html = serp_page(page)
    tags: list[int] = []
    attributes: list[int] = []
    classes: list[int] = []
    for tag in _START_TAG.finditer(html):
        tags.append(tag.start())
        inside = (tag.end(1), tag.end() - 1)
        attributes.extend(found.start() for found in _ATTRIBUTE.finditer(html, *inside))
        classes.extend(found.start() for found in _CLASS.finditer(html, *inside))
    return _Anatomy(html, tuple(tags), tuple(attributes), tuple(classes))


def _delete_element(html: str, at: int) -> str:
    """``html`` without the element whose start tag begins at ``at`` (its start tag alone when
    it has no end tag)."""
    start = _START_TAG.match(html, at)
    if start is None:
        return html
    name = re.escape(start.group(1))
    depth = 0
    for tag in re.finditer(rf"<(/?){name}(?=[\s/>])[^>]*>", html[at:], re.IGNORECASE):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return html[:at] + html[at + tag.end() :]
    return html[:at] + html[start.end() :]


def _delete_attribute(html: str, at: int) -> str:
    found = _ATTRIBUTE.match(html, at)
    return html[:at] + html[found.end() :] if found else html


def _delete_class_name(html: str, at: int, which: int) -> str:
    found = _CLASS.match(html, at)
    if found is None or not found.group(2).split():
        return html
    names = found.group(2).split()
    del names[which % len(names)]
    return html[: found.start(2)] + " ".join(names) + html[found.end(2) :]


@st.composite
def _mutated(draw: st.DrawFn, engine: str) -> tuple[str, str]:
    """One of the engine's captures (its name and markup), with up to eight deletions and
    perhaps cut short."""
    name = draw(st.sampled_from(_own(engine)))
    anatomy = _anatomy(name)
    kinds = [
        (kind, offsets)
        for kind, offsets in (
            ("element", anatomy.tags),
            ("attribute", anatomy.attributes),
            ("class", anatomy.classes),
        )
        if offsets
    ]
    mutation = st.sampled_from(kinds).flatmap(
        lambda kind: st.tuples(st.just(kind[0]), st.sampled_from(kind[1]), st.integers(0, 31))
    )
    html = anatomy.html
    # From the last offset back, so that no deletion moves where an earlier one applies.
    for kind, at, which in sorted(draw(st.lists(mutation, max_size=8)), key=lambda m: -m[1]):
        if kind == "element":
            html = _delete_element(html, at)
        elif kind == "attribute":
            html = _delete_attribute(html, at)
        else:
            html = _delete_class_name(html, at, which)
    cut = draw(st.none() | st.integers(0, len(html)))
    return name, html if cut is None else html[:cut]


@pytest.mark.fixtures
@pytest.mark.parametrize("engine", list(ENGINES))
def test_own_pages_cut_and_mutated(engine: str) -> None:
    for page in _own(engine):
        serp_page(page)  # skips (or fails under CI) without the pages, before hypothesis starts

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(page=_mutated(engine), start=st.sampled_from([0, 10, 20]))
    def run(page: tuple[str, str], start: int) -> None:
        name, html = page
        # Deleting markup and cutting it short cannot create a no-results marker.
        assert_outcome(
            ENGINES[engine], html, start=start, no_results_page=_is_no_results_page(name)
        )

    run()


class TestMutations:
    """The mutations themselves, so that the property test mutates what it claims to."""

    def test_delete_element_takes_its_whole_subtree(self) -> None:
        html = "<div><p class='a'>one <p>two</p></p><br>three</div>"
        assert _delete_element(html, html.index("<p")) == "<div><br>three</div>"

    def test_delete_element_without_end_tag_takes_the_start_tag(self) -> None:
        html = "<div>a<br>b</div>"
        assert _delete_element(html, html.index("<br")) == "<div>ab</div>"

    def test_delete_attribute(self) -> None:
        html = '<a href="x" class="y">t</a>'
        assert _delete_attribute(html, html.index(" href")) == '<a class="y">t</a>'

    def test_delete_class_name(self) -> None:
        html = '<div class="g tF2Cxc">x</div>'
        assert _delete_class_name(html, html.index(" class"), 1) == '<div class="g">x</div>'

    def test_anatomy_offsets_point_at_what_they_name(self) -> None:
        anatomy = _anatomy("duckduckgo/html_2025-01.html")
        html = anatomy.html
        assert anatomy.tags
        assert anatomy.attributes
        assert anatomy.classes
        assert all(html[at] == "<" for at in anatomy.tags)
        assert all(_ATTRIBUTE.match(html, at) for at in anatomy.attributes)
        assert all(_CLASS.match(html, at) for at in anatomy.classes)

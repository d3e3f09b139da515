"""The contract every engine keeps, and the small text helpers their parsers share.

An engine is two pure functions and a name: ``build_request`` turns validated search parameters
into the upstream HTTP request, and ``parse`` turns the page the engine answered into ``SerpData``
or raises a typed ``BlockedError``. Engines hold no connections and no mutable state, so one
instance serves every request and a parser can run in any thread or process. Where the engine's
server lives is a constructor argument (a setting), so production points at the real engine and
tests at the sandbox.

A parser never answers a page it does not recognise with "no results". Every ``parse`` goes
through three steps, the middle two with ``Recognition``::

    raise_if_challenge(tree)                       # 1. the engine's block pages: BlockedError
    page = Recognition.of(self.name,               # 2. positive evidence, or UnrecognizedPage
        results_page=tree.css_first("#results") is not None or echoes_query(tree, q, "#q"),
        no_results=tree.css_first(".no-results") is not None)
    ...extract every block...
    return page.confirm(SerpData(...))             # 3. nothing read and no "no results" marker:
                                                   #    UnrecognizedPage, not an empty Success
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar
from urllib.parse import unquote_plus, urlencode, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.parameters import EngineParameters
from serpgate.errors import UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData, Sitelink, Sitelinks

# A desktop browser's headers: engines answer plain HTTP clients with degraded or blocked pages.
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
MOBILE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
}


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """One HTTP request to an engine; ``url`` is complete, query string included."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"


class Engine(ABC):
    """A search engine serpgate can query. Subclasses set ``name`` and implement both methods."""

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    # The parameters the engine maps onto its request, beyond the common ones (query, paging,
    # device, service switches); an engine that declares none takes only those.
    parameters: ClassVar[EngineParameters] = EngineParameters()

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    @abstractmethod
    def build_request(self, params: SearchParams) -> UpstreamRequest:
        """The upstream request that fetches the page ``params`` describe."""

    @abstractmethod
    def parse(self, html: str, params: SearchParams) -> SerpData:
        """Read one result page; raise ``BlockedError`` for CAPTCHA, challenge or ban pages."""

    def parse_page(self, content: bytes, charset: str, params: SearchParams) -> SerpData:
        """``parse`` for a page given as the bytes that came, in ``charset`` (a Python codec).

        An engine whose reader takes the bytes as they are (lexbor reads UTF-8) overrides this
        to skip decoding the page to text and lexbor's encoding it back.
        """
        return self.parse(content.decode(charset, errors="replace"), params)

    def walled(self, html: str) -> bool:
        """Whether ``html`` is the engine's JavaScript wall: a page that only a browser, by
        running its script, gets past. Engines without one never answer it."""
        return False

    @staticmethod
    def user_agent(params: SearchParams) -> str:
        return MOBILE_UA if params.device == "mobile" else DESKTOP_UA

    def browser_headers(self, params: SearchParams) -> dict[str, str]:
        headers = dict(BROWSER_HEADERS)
        headers["User-Agent"] = self.user_agent(params)
        if params.hl:
            headers["Accept-Language"] = f"{params.hl},en;q=0.8"
        return headers


# What does not show a page was read: pagination and related searches alone do not (an error
# page can carry a search box and links that look like them), nor does search_information.
# Every other block of ``SerpData`` does, those added later included.
_NOT_CONTENT = frozenset({"search_information", "pagination", "related_searches"})


@dataclass(frozen=True, slots=True)
class Recognition:
    """What a page showed of itself, decided before anything is read from it.

    ``Recognition.of`` refuses a page with neither the engine's evidence of a results page (its
    result container, its search box echoing the query) nor its own no-results marker;
    ``confirm`` refuses a page that looked like results but gave nothing, unless the engine said
    "no results" itself. Either refusal is ``UnrecognizedPage``: a new layout, a consent page, an
    interstitial or a truncated body is reported, never served (and cached, and charged) as an
    empty search.
    """

    engine: str
    no_results: bool

    @classmethod
    def of(cls, engine: str, *, results_page: bool, no_results: bool) -> Recognition:
        if not results_page and not no_results:
            raise UnrecognizedPage(
                f"{engine} answered a page that is neither its results, nor its no-results "
                "page, nor a known block"
            )
        return cls(engine, no_results)

    def confirm(self, data: SerpData) -> SerpData:
        """``data`` with its ``organic_results_state`` set by what was read, or the refusal."""
        read = any(
            getattr(data, name) for name in type(data).model_fields if name not in _NOT_CONTENT
        )
        if not read and not self.no_results:
            raise UnrecognizedPage(
                f"{self.engine} answered what looks like a results page, but no result could "
                "be read from it and it does not say there are none (a new layout?)"
            )
        state = "Results for exact spelling" if data.organic_results else "Fully empty"
        if data.search_information.organic_results_state == state:
            return data
        information = data.search_information.model_copy(update={"organic_results_state": state})
        return data.model_copy(update={"search_information": information})


def echoes_query(root: LexborNode | LexborHTMLParser, query: str, *selectors: str) -> bool:
    """Whether the page's search box (the first of ``selectors`` found) holds ``query``: an
    engine fills it on its own results pages, so it is evidence of one."""
    shown = input_value(root, *selectors)
    return bool(shown) and shown.casefold() == clean(query).casefold()


_SPACE = re.compile(r"\s+")

# Elements a browser renders on a line of their own: their edges separate words even where the
# markup has no white space between them ("<div>Menu</div><div>Prices</div>", "line<br>line").
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
# Titles, snippets and labels span a few dozen nodes; a node far larger than this is a region of
# the page (or a malformed page nesting everything in one result), read at C speed instead,
# without the breaks between blocks.
_TEXT_NODE_LIMIT = 1000
# Counts, page numbers and offsets past 18 digits are not numbers an engine prints, and would
# not fit the 64-bit integers the JSON encoder writes.
_MAX_DIGITS = 18


def clean(text: str | None) -> str:
    """Collapse runs of white space (including non-breaking) into one space and trim."""
    if not text:
        return ""
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


def node_text(node: LexborNode | None) -> str:
    """The visible text of a node, words separated as a browser separates them.

    Inline markup joins its text as it stands: selectolax's ``text(strip=True)`` strips each text
    node before joining, which glues the words around a bold query term ("Download <b>Bing</b>
    for" → "DownloadBingfor"), so the raw text is joined and its spaces collapsed. Block elements
    and ``<br>`` separate words even without white space around them ("<div>Menu</div><div>
    Prices</div>", "line<br>line"), as rich snippets and minified pages have them.
    """
    if node is None:
        return ""
    parts: list[str] = []
    # Depth first, with None on the stack where a block ends: a block's edges separate words
    # wherever its text lies, "<span><div>in</div></span>after" included.
    stack: list[LexborNode | None] = [node]
    visited = 0
    while stack:
        current = stack.pop()
        if current is None:
            parts.append(" ")
            continue
        visited += 1
        if visited > _TEXT_NODE_LIMIT:
            return clean(node.text(deep=True, separator="", strip=False))
        tag = current.tag
        if tag == "-text":
            parts.append(current.text_content or "")
            continue
        if tag in _BLOCK_TAGS:
            parts.append(" ")
            stack.append(None)
        stack.extend(reversed(list(current.iter(include_text=True))))
    return clean("".join(parts))


def first_text(root: LexborNode, *selectors: str) -> str:
    """Text of the first node any selector finds, trying selectors in order (markup varies)."""
    for selector in selectors:
        found = root.css_first(selector)
        if found is not None:
            text = node_text(found)
            if text:
                return text
    return ""


def input_value(root: LexborNode | LexborHTMLParser, *selectors: str) -> str:
    """The value of the first input any of ``selectors`` finds (a page's search box, which
    shows the query as the engine read it), spaces collapsed; "" without one."""
    for selector in selectors:
        field = root.css_first(selector)
        if field is not None:
            return clean(field.attributes.get("value"))
    return ""


def css_any(root: LexborNode | LexborHTMLParser, *selectors: str) -> list[LexborNode]:
    """The nodes the first of ``selectors`` that finds any finds (markup varies by year)."""
    for selector in selectors:
        nodes = root.css(selector)
        if nodes:
            return nodes
    return []


def css_within(root: LexborNode, boxes: str, items: str) -> list[LexborNode]:
    """What ``root.css(f"{boxes} {items}")`` finds with the boxes inside ``root``: the ``items``
    inside any box, in page order, each once.

    A descendant selector costs lexbor a walk up the ancestors of every candidate, which a page
    that nests its results inside one another (a malformed page never closing a result) turns
    into seconds per result; looking inside each box costs only the box.
    """
    found: list[LexborNode] = []
    inner: set[int] = set()
    for box in root.css(boxes):
        if box.mem_id in inner:
            continue  # its items are among those of the box around it
        inner.update(nested.mem_id for nested in box.css(boxes))
        found.extend(node for node in box.css(items) if node.mem_id != box.mem_id)
    return found


@lru_cache(maxsize=64)
def _param_pattern(name: str) -> re.Pattern[str]:
    return re.compile(f"(?:^|&){re.escape(name)}=([^&]*)")


def query_param(url: str, name: str) -> str | None:
    """The first value of ``name`` in ``url``'s query string: decoded, "" when blank, None when
    the parameter is absent.

    Found with one search of the query string rather than by splitting all of it: result links
    carry long opaque parameters (``ved=``, ``sstk=``, Bing's ``p=``), and splitting them to read
    one value cost more than the rest of a page's parse. Never raises, whatever the URL.
    """
    query = url.partition("#")[0].partition("?")[2]
    match = _param_pattern(name).search(query) if query else None
    return unquote_plus(match.group(1)) if match else None


def url_path(url: str) -> str:
    """The path of ``url``; "" for a URL too malformed to split (``http://[``)."""
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


@lru_cache(maxsize=64)
def _origin(base: str) -> str:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def absolute_url(base: str, href: str | None) -> str | None:
    """``href`` as an absolute URL, resolved against ``base``, an engine's URL with any mount
    path (``http://127.0.0.1:8000/google`` keeps its ``/google`` for relative hrefs).

    None for what no client can follow: an empty, fragment-only or ``javascript:`` href, or one
    too malformed to resolve (``http://[`` is an invalid IPv6 host to ``urljoin``).
    """
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:")):
        return None
    if href.startswith(("https://", "http://")):
        return href
    try:
        # Root-relative hrefs are most of a page's own links; joining them by hand saves
        # urljoin's full parse of every one.
        if href.startswith("/") and not href.startswith("//"):
            return _origin(base) + href
        return urljoin(base if base.endswith("/") else f"{base}/", href)
    except ValueError:
        return None


def parse_int(text: str | None) -> int | None:
    """``text`` as a whole number when it is one (a page number, an offset), else None.

    ``str.isdigit`` alone is no guard: it accepts "²", which ``int`` rejects, and digit strings
    longer than ``int`` converts.
    """
    if not text or len(text) > _MAX_DIGITS or not text.isdecimal():
        return None
    return int(text)


def parse_count(text: str) -> int | None:
    """The first number in text such as "About 1,230,000 results", "106.000.000 results" or
    the Swiss "44’300’000 results"."""
    match = re.search(r"\d[\d.,\s\u202f\xa0’']*", text)
    if match is None:
        return None
    return parse_int(re.sub(r"\D", "", match.group(0)))


def expanded_sitelinks(
    rows: Iterable[LexborNode],
    snippet: str,
    *,
    title: str = "a[href]",
    resolve: Callable[[str], str | None] | None = None,
) -> Sitelinks | None:
    """A result's grid of its site's other pages: one row each, a linked ``title`` and perhaps
    a ``snippet`` line. ``resolve`` turns a row's href into the page's URL (unwrapping the
    engine's click tracker); rows without a title or a usable link are left out."""
    found: list[Sitelink] = []
    for row in rows:
        anchor = row.css_first(title) or row.css_first("a[href]")
        name = node_text(anchor)
        href = (anchor.attributes.get("href") or "") if anchor is not None else ""
        link = resolve(href) if resolve is not None and href else href
        if name and link:
            found.append(Sitelink(title=name, link=link, snippet=first_text(row, snippet) or None))
    return Sitelinks(expanded=found) if found else None


# The dates engines print before a snippet when the markup does not set them apart.
_LEADING_DATE = (
    r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"  # 24/1/2013, 24.01.2013
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2013-01-24
    r"|[^\W\d_]{3,9}\.? \d{1,2}, \d{4}"  # Mar 5, 2019; September 3, 2026
    r"|\d{1,2}\.? [^\W\d_]{3,10}\.? \d{4}"  # 14 Oct 2023; 5. März 2019
    r"|\d+ (?:second|minute|hour|day|week|month|year)s? ago"
    r"|\d{4}年\d{1,2}月\d{1,2}日"
)


@lru_cache(maxsize=16)
def _leading_date(separators: tuple[str, ...]) -> re.Pattern[str]:
    between = "|".join(map(re.escape, separators))
    return re.compile(rf"^(?P<date>{_LEADING_DATE})\s*(?:{between})\s*")


def split_leading_date(text: str, *separators: str) -> tuple[str | None, str]:
    """The date ``text`` opens with and the rest, when one of ``separators`` follows the date
    ("Mar 5, 2019 · text", "2 days ago - text"); else ``(None, text)``."""
    match = _leading_date(separators).match(text)
    if match is None:
        return None, text
    return match.group("date"), text[match.end() :]


def split_marked_date(text: str, marked: str, separator: str) -> tuple[str | None, str]:
    """The date an element at the start of ``text`` holds, and the rest of ``text``.

    ``marked`` is that element's text, the date with its separator ("Mar 13, 2026 ·"), which is
    how Brave and Yahoo set the date apart; anything else leaves ``text`` whole.
    """
    if not marked.endswith(separator) or not text.startswith(marked):
        return None, text
    return marked.removesuffix(separator).strip() or None, text[len(marked) :].strip()


# Markup of a CAPTCHA form or widget, whoever serves it.
_CAPTCHA_MARKUP = 'form[action*="captcha"], [class*="captcha"], #captcha, iframe[src*="captcha"]'


def looks_blocked(tree: LexborHTMLParser, html: str, query: str, markers: tuple[str, ...]) -> bool:
    """Whether a page without results is a CAPTCHA or refusal rather than an honest empty page:
    it holds CAPTCHA markup, or one of ``markers`` (lower case) outside the query, which is no
    evidence (a search for "captcha" echoes the word)."""
    if tree.css_first(_CAPTCHA_MARKUP) is not None:
        return True
    haystack = html.lower().replace(query.lower(), "")
    return any(marker in haystack for marker in markers)


def with_query(base: str, params: dict[str, str | int]) -> str:
    """``base`` with ``params`` as its query string, skipping empty values."""
    return f"{base}?{urlencode({k: v for k, v in params.items() if v not in ('', None)})}"

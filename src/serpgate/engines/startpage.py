"""Startpage, the private front end that serves Google's web results.

``/sp/search`` takes ``query``, ``page`` (1-based, left out on the first), ``language`` and ``lui``
(named languages such as ``english`` or ``deutsch``) and ``qadf`` (adult filter: ``heavy``,
``moderate``, ``none``); the results region is a ``search_results_region`` entry in the
``preferences`` cookie, whose entries are spelled ``keyEEEvalue`` joined by ``N1N``.

The page is rendered on the server by a React app and hydrated in the browser from the same
props, which it embeds as ``React.createElement(UIStartpage.AppSerpWeb, {...})`` in a script. The
props are the stable part: ``render.presenter.regions.mainline`` is a list of blocks by
``display_type``; ``web-google`` holds the organic results (``title``, ``clickUrl``, ``displayUrl``,
``description``, ``siteTitleData``; highlights as ``<b>`` and text HTML-escaped), and
``render.presenter.pagination.pages`` the page links. The markup around them uses generated CSS
class names, so it is only the fallback (``div.result``, ``a.result-title``, ``p.description``).
Captures passed through a code formatter turn the props into a JavaScript object literal
(unquoted keys, single quotes, trailing commas), so the props reader accepts that too.

Google's date prefix stays in the description ("14 Oct 2023 ... text"); it becomes ``date``.
A client Startpage distrusts is redirected to ``/sp/captcha`` (or ``/sp/captcha-block``), a page
with a CAPTCHA form and a ``form#blocked_feedback_form``; it never holds the props.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlencode

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    Recognition,
    UpstreamRequest,
    absolute_url,
    clean,
    echoes_query,
    first_text,
    input_value,
    node_text,
    parse_int,
    split_leading_date,
)
from serpgate.engines.parameters import EngineParameters
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    OrganicResult,
    Pagination,
    SearchInformation,
    SerpData,
    Sitelink,
    Sitelinks,
)

# Startpage's names for the languages it searches in, keyed by ISO 639-1.
_LANGUAGES = {
    "en": "english", "de": "deutsch", "fr": "francais", "es": "espanol", "it": "italiano",
    "nl": "nederlands", "pt": "portugues", "pl": "polski", "sv": "svenska", "da": "dansk",
    "no": "norsk", "nb": "norsk", "fi": "suomi", "tr": "turkce", "ja": "nihongo",
    "zh": "jiantizhongwen", "ko": "hangul",
}  # fmt: skip
# Region codes that are not simply ``<language>_<COUNTRY>``.
_REGIONS = {"gb": "en-GB_GB", "br": "pt-BR_BR", "cn": "zh-CN_CN", "tw": "zh-TW_TW"}
_ADULT_FILTER = {"active": "heavy", "off": "none"}
# Startpage keeps an exit it distrusts on the CAPTCHA for hours (searxng suspends the engine for a
# day); an hour's rest keeps us from deepening the block while other exits carry the traffic.
_BLOCK_REST = 3600.0

_SEARCH_BOXES = ("input#q", "input[name=query]")
# Startpage's own "No results found for …" notice, standing where the results would.
_NO_RESULTS = ".no-results, [class*='no-results']"
_NO_RESULTS_TEXT = "No results found for"
_PROPS_START = re.compile(r"React\.createElement\(\s*UIStartpage\.AppSerpWeb\s*,\s*(?=\{)")
# The tokens of a JSON or JavaScript object literal that matter for reading it as JSON.
_TOKEN = re.compile(
    r""""[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*'"""
    r"""|[{}\[\]]|,(?=\s*[}\]])|[A-Za-z_$][\w$]*(?=\s*:)""",
    re.DOTALL,
)
_SINGLE_QUOTED_ESCAPE = re.compile(r"""\\(.)|\"""", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# What follows the date Google's description opens with: "14 Oct 2023 ... text".
_DATE_SEPARATOR = "..."


class StartpageEngine(Engine):
    name = "startpage"
    default_base_url = "https://www.startpage.com"
    # SerpApi has no such engine: serpgate's uniform language, country and SafeSearch.
    parameters = EngineParameters(accepts=frozenset({"hl", "gl", "safe"}))

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        fields: dict[str, str | int] = {"query": params.q, "cat": "web"}
        if params.page > 1:
            fields["page"] = params.page
        language = _LANGUAGES.get((params.hl or "").split("-")[0])
        if language:
            fields["language"] = fields["lui"] = language
        if params.safe:
            fields["qadf"] = _ADULT_FILTER[params.safe]
        headers = self.browser_headers(params)
        headers["Referer"] = f"{self.base_url}/"
        if params.gl:
            lang = (params.hl or "en").split("-")[0]
            code = _REGIONS.get(params.gl, f"{lang}_{params.gl.upper()}")
            headers["Cookie"] = f"preferences=search_results_regionEEE{code}"
        return UpstreamRequest(
            url=f"{self.base_url}/sp/search?{urlencode(fields)}", headers=headers
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        props = _props(html)
        presenter = _get(props, "render", "presenter")
        if isinstance(presenter, dict):
            # The props hold everything, so the large page is never parsed as HTML; they are
            # the app's own, so they are the evidence of a results page.
            organic = list(_organic_from_props(presenter, params.start))
            page = Recognition.of(self.name, results_page=True, no_results=_NO_RESULTS_TEXT in html)
            pagination = self._pagination(presenter, params)
            query = _get(props, "render", "query")
            query_displayed = unquote(query) if isinstance(query, str) else ""
        else:
            tree = LexborHTMLParser(html)
            organic = list(_organic_from_markup(tree, params.start))
            # Every results page holds the props, an empty one included; a page with neither
            # props nor results that speaks of a CAPTCHA is the block page.
            if not organic and _is_blocked(tree, html):
                raise BlockedError("startpage answered its CAPTCHA page", _BLOCK_REST)
            page = Recognition.of(
                self.name,
                results_page=bool(organic) or echoes_query(tree, params.q, *_SEARCH_BOXES),
                no_results=tree.css_first(_NO_RESULTS) is not None,
            )
            pagination = self._pagination_from_forms(tree, params)
            query_displayed = input_value(tree, *_SEARCH_BOXES)
        information = SearchInformation(query_displayed=query_displayed or None)
        return page.confirm(
            SerpData(search_information=information, organic_results=organic, pagination=pagination)
        )

    def _pagination(self, presenter: dict[str, Any], params: SearchParams) -> Pagination | None:
        raw = _get(presenter, "pagination", "pages")
        pages = [p for p in raw if isinstance(p, dict)] if isinstance(raw, list) else []
        if not pages:
            return None
        current = next((_number(p.get("number")) for p in pages if p.get("selected")), params.page)
        following: str | None = None
        others: dict[str, str] = {}
        for page in pages:
            href = page.get("url")
            if not isinstance(href, str) or page.get("selected"):
                continue
            url = absolute_url(self.base_url, href)
            if url is None:
                continue
            number = _number(page.get("number"))
            if not page.get("nextPrev"):
                others[str(number)] = url
            elif number > current and following is None:
                following = url  # "Next"; its twin "Previous" points back
        return Pagination(current=current, next=following, other_pages=others or None)

    def _pagination_from_forms(
        self, tree: LexborHTMLParser, params: SearchParams
    ) -> Pagination | None:
        """Without props, the page links are forms that post ``page`` with the search fields."""
        current = params.page
        pages: dict[int, str] = {}
        for form in tree.css("div.pagination form"):
            fields = {
                name: field.attributes.get("value") or ""
                for field in form.css("input")
                if (name := field.attributes.get("name"))
            }
            number = parse_int(fields.get("page"))
            action = absolute_url(self.base_url, form.attributes.get("action") or "/sp/search")
            if number is None or action is None:
                continue
            pages.setdefault(number, f"{action}?{urlencode(fields)}")
            if (form.attributes.get("aria-label") or "").startswith("current"):
                current = number
        if not pages:
            return None
        others = {str(n): url for n, url in sorted(pages.items()) if n != current}
        return Pagination(current=current, next=pages.get(current + 1), other_pages=others or None)


def _organic_from_props(presenter: dict[str, Any], offset: int) -> Iterator[OrganicResult]:
    """Organic results from the props; positions count on from ``offset`` across pages."""
    mainline = _get(presenter, "regions", "mainline")
    position = offset
    for block in mainline if isinstance(mainline, list) else ():
        # ``web-google`` today; Startpage has served Bing as ``web-bing`` before.
        if not isinstance(block, dict) or not str(block.get("display_type", "")).startswith("web"):
            continue
        for item in block.get("results") or ():
            if not isinstance(item, dict):
                continue
            title = _plain(item.get("title"))
            link = item.get("clickUrl") or item.get("url")
            if not title or not isinstance(link, str) or not link:
                continue
            date, snippet = split_leading_date(_plain(item.get("description")), _DATE_SEPARATOR)
            position += 1
            yield OrganicResult(
                position=position,
                title=title,
                link=link,
                displayed_link=_plain(item.get("displayUrl")) or None,
                snippet=snippet or None,
                date=_plain(item.get("date")) or date,
                source=_plain(item.get("siteTitleData")) or None,
                sitelinks=_sitelinks(item.get("siteLinks")),
            )


def _sitelinks(raw: object) -> Sitelinks | None:
    entries = [entry for entry in raw if isinstance(entry, dict)] if isinstance(raw, list) else []
    links = [
        Sitelink(title=title, link=link, snippet=_plain(entry.get("description")) or None)
        for entry in entries
        if (title := _plain(entry.get("title")))
        and isinstance(link := entry.get("clickUrl") or entry.get("url"), str)
    ]
    return Sitelinks(inline=links) if links else None


def _organic_from_markup(tree: LexborHTMLParser, offset: int) -> Iterator[OrganicResult]:
    position = offset
    for node in tree.css("div.result, div.w-gl__result"):
        anchor = node.css_first("a.result-title, a.w-gl__result-title")
        if anchor is None:
            continue
        link = anchor.attributes.get("href") or ""
        title = first_text(anchor, "h2", "h3") or node_text(anchor)
        if not title or not link.startswith("http"):
            continue
        description = first_text(node, "p.description", "p.w-gl__description")
        date, snippet = split_leading_date(description, _DATE_SEPARATOR)
        position += 1
        yield OrganicResult(
            position=position,
            title=title,
            link=link,
            displayed_link=_displayed_link(node),
            snippet=snippet or None,
            date=date,
            source=first_text(node, "a.wgl-site-title") or None,
        )


def _displayed_link(node: LexborNode) -> str | None:
    # The display link holds the plain URL and a breadcrumb version for narrow screens.
    return first_text(node, "a.wgl-display-url .default-link-text", "a.w-gl__result-url") or None


def _plain(value: object) -> str:
    """Text of a props string: highlights stripped, entities decoded, spaces collapsed."""
    if not isinstance(value, str):
        return ""
    return clean(htmllib.unescape(_TAG.sub("", value)))


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _number(value: object) -> int:
    if isinstance(value, int):
        return value
    return (parse_int(value) or 0) if isinstance(value, str) else 0


def _is_blocked(tree: LexborHTMLParser, html: str) -> bool:
    marked = tree.css_first("form#blocked_feedback_form, form[action*='/sp/captcha']")
    return marked is not None or "captcha" in html.lower()


def _props(html: str) -> dict[str, Any] | None:
    """The props of the page's React app, or None when the page has none or they are cut off."""
    start = _PROPS_START.search(html)
    if start is None:
        return None
    pieces: list[str] = []
    depth, last = 0, start.end()
    for token in _TOKEN.finditer(html, start.end()):
        pieces.append(html[last : token.start()])
        last = token.end()
        text = token.group(0)
        first = text[0]
        if first in "{[":
            depth += 1
        elif first in "}]":
            depth -= 1
        elif first == ",":
            continue  # a trailing comma, which JSON forbids
        elif first == "'":
            text = f'"{_SINGLE_QUOTED_ESCAPE.sub(_requote, text[1:-1])}"'
        elif first != '"':
            text = f'"{text}"'  # an unquoted key
        pieces.append(text)
        if depth == 0:
            break
    else:
        return None
    try:
        data = orjson.loads("".join(pieces))
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _requote(match: re.Match[str]) -> str:
    """One escape of a single-quoted JavaScript string, spelled for a double-quoted JSON one."""
    escaped = match.group(1)
    if escaped is None:
        return '\\"'
    if escaped == "'":
        return "'"
    return match.group(0)

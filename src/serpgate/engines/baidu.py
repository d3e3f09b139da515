"""Baidu web search, read from the HTML page www.baidu.com/s answers a browser.

Upstream: ``GET /s?wd=…&pn=…&rn=…``, where ``pn`` is the 0-based offset of the page's first
result, ``rn`` the page size (at most 50) and ``ct`` the language filter (0 all, 1 simplified,
2 traditional Chinese); SerpApi names them the same. Every block of the result column
``#content_left`` is a ``div.c-container``: ``.result`` for a web page, ``.result-op`` for
Baidu's own cards (Baike, Tieba, translation), both with an ``h3`` title link. Web results link
through Baidu's ``/link?url=…`` redirect; a card carries its target in ``mu``, which is used
when it is a real address. The snippet is ``.c-abstract`` in the classic layout and the
``[data-module=abstract]`` block in the 2024+ one, which also moved the source line to
``.cosc-source-text``; both are read.

Baidu sends a suspected bot its "百度安全验证" page (a rotate-the-image slider from
``wappass.baidu.com``), often with status 200; a query nothing matches gets ``div.nors``
("抱歉，未找到相关结果").
"""

from __future__ import annotations

import re
from typing import ClassVar

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    Recognition,
    UpstreamRequest,
    absolute_url,
    css_any,
    echoes_query,
    first_text,
    input_value,
    node_text,
    parse_count,
    parse_int,
    query_param,
    split_leading_date,
    url_path,
    with_query,
)
from serpgate.engines.parameters import Alias, EngineParameters
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    Ad,
    OrganicResult,
    Pagination,
    RelatedSearch,
    SearchInformation,
    SerpData,
)

# One selector, so the page is walked once.
_CAPTCHA = (
    ".passMod_dialog-wrapper, .passMod_spin-wrapper, #passMod_dialog,"
    " form[action*='wappass.baidu.com'], iframe[src*='wappass.baidu.com'],"
    " form[action*='verify.baidu.com']"
)
_CAPTCHA_TITLES = ("百度安全验证", "安全验证")
# Baidu's verification sticks to an address for many minutes.
_CAPTCHA_REST_SECONDS = 600.0

_NOISE = "script, style, noscript, svg"
_ITEMS = (
    # Ads are ``EC_result`` blocks with a ``cmatchid``, beside the c-containers.
    "#content_left > div.c-container, #content_left > div[cmatchid], #content_left > .EC_result",
    "#content_left > div.result, #content_left > div.result-op",
    "div.c-container",
)
_SNIPPETS = (
    ".c-abstract",
    "[data-module='abstract']",
    "[class*='content-right']",
    "[class*='summary-text']",
    # Baidu's own cards (Baike and the like) beside their picture: the text column.
    ".c-span-last .c-color-text",
    ".c-span-last > p",
)
_DISPLAYED = (".c-showurl", ".cosc-source-text", "[data-module='source'] a", ".source_1Vdff")
# A date printed before the snippet, marked up apart in both layouts.
_DATES = (".newTimeFactor_before_abs", "[data-module='abstract'] .cos-color-text-minor")
# The "广告" label and the promoted block's own attributes.
_AD_MARKERS = "[data-tuiguang], .ec-tuiguang, .ec_tuiguang_link, .ec_tuiguang_pplink"
_NO_RESULTS_SELECTORS = (".nors", "#noresult", ".noresult", "[class*='no-result']")
_NO_RESULTS_TEXT = re.compile(r"未找到相关结果|没有找到与|抱歉.{0,6}没有找到")
# The hosts Baidu writes into ``mu`` for its own widgets ("http://28608.recommend_list.baidu.com"):
# no page a client could open.
_WIDGET_HOST = re.compile(r"^https?://\d+\.[\w-]+\.baidu\.com")
_RELATED = ("#rs a[href]", "#rs_new a[href]", "[class*='rs-table'] a[href]")
_DATE_SEPARATORS = ("-", "—", "·")
_INVISIBLE = re.compile("[\u200b-\u200d\ue000-\uf8ff]")
# A date at the start of a date element, which in translated pages runs on into the snippet
# ("December 1, 2023Why"): "2023年12月1日", "2023-12-01", "December 1, 2023", "3天前".
_DATE_PREFIX = re.compile(
    r"^(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}|[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}"
    r"|\d+\s*(?:分钟|小时|天)前)"
)


class BaiduEngine(Engine):
    name: ClassVar[str] = "baidu"
    default_base_url: ClassVar[str] = "https://www.baidu.com"
    # SerpApi's Baidu names: pn (the 0-based offset), rn (results a page, up to 50), ct.
    parameters: ClassVar[EngineParameters] = EngineParameters(
        accepts=frozenset({"ct"}),
        aliases={
            "pn": Alias("start", schema={"type": "integer", "minimum": 0, "maximum": 1000}),
            "rn": Alias("num", schema={"type": "integer", "minimum": 1, "maximum": 50}),
        },
        refused=dict.fromkeys(
            ("gpc", "q5", "q6", "bs", "oq", "f"),
            "Baidu's time, site and related filters are not mapped",
        ),
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"wd": params.q, "ie": "utf-8"}
        if params.start:
            query["pn"] = params.start
        if params.num != 10:
            query["rn"] = min(params.num, 50)
        if params.ct is not None:
            query["ct"] = params.ct
        return UpstreamRequest(
            url=with_query(f"{self.base_url}/s", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        root = tree.root
        if root is None:
            raise UnrecognizedPage("baidu answered an empty page")
        _raise_if_captcha(root)
        for noise in root.css(_NOISE):
            noise.decompose()
        # lexbor answers a selector list with a node once per selector it matches.
        items = list({node.mem_id: node for node in css_any(root, *_ITEMS)}.values())
        page = Recognition.of(
            self.name,
            results_page=bool(items)
            or root.css_first("#content_left") is not None
            or echoes_query(root, params.q, "input#kw", "input[name='wd']"),
            no_results=_says_no_results(root),
        )
        organic: list[OrganicResult] = []
        ads: list[Ad] = []
        for item in items:
            heading = item.css_first("h3")
            anchor = heading.css_first("a[href]") if heading is not None else None
            title = node_text(heading)
            link = self._link(item, anchor)
            if not title or link is None:
                continue  # a widget without a title of its own (recommendations)
            snippet, date = _snippet_and_date(item)
            displayed = _text(item, *_DISPLAYED) or None
            if "cmatchid" in item.attributes or item.css_first(_AD_MARKERS) is not None:
                ads.append(
                    Ad(
                        position=len(ads) + 1,
                        block_position="bottom" if organic else "top",
                        title=title,
                        link=link,
                        displayed_link=displayed,
                        description=snippet or None,
                    )
                )
                continue
            organic.append(
                OrganicResult(
                    position=params.start + len(organic) + 1,
                    title=title,
                    link=link,
                    displayed_link=displayed,
                    snippet=snippet or None,
                    date=date,
                )
            )
        information = SearchInformation(
            total_results=_total_results(first_text(root, ".nums_text", "[class*='hint_']")),
            query_displayed=input_value(root, "input#kw", "input[name='wd']") or params.q,
        )
        return page.confirm(
            SerpData(
                search_information=information,
                ads=ads or None,
                organic_results=organic,
                related_searches=self._related(root) or None,
                pagination=self._pagination(root, params),
            )
        )

    def _absolute(self, href: str | None) -> str | None:
        return absolute_url(self.base_url, href)

    def _link(self, item: LexborNode, anchor: LexborNode | None) -> str | None:
        """The page a result opens: the title's own link, unless that is Baidu's redirect and
        the card names its real target in ``mu``."""
        href = self._absolute(anchor.attributes.get("href")) if anchor is not None else None
        target = (item.attributes.get("mu") or "").strip()
        real = target.startswith(("http://", "https://")) and not _WIDGET_HOST.match(target)
        if href is None or (real and url_path(href) == "/link"):
            return target if real else href
        return href

    def _related(self, root: LexborNode) -> list[RelatedSearch]:
        related: list[RelatedSearch] = []
        seen: set[str] = set()
        for anchor in css_any(root, *_RELATED):
            href = anchor.attributes.get("href") or ""
            text = node_text(anchor) or anchor.attributes.get("title") or query_param(href, "wd")
            if not text or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            related.append(RelatedSearch(query=text, link=self._absolute(href)))
        return related

    def _pagination(self, root: LexborNode, params: SearchParams) -> Pagination | None:
        """Pages by the ``pn`` offset each pager link carries; labels vary by layout and
        translation ("下一页 >", "Next Page >")."""
        pager = root.css_first("#page")
        if pager is None:
            return None
        current = params.page
        other_pages: dict[str, str] = {}
        next_link: str | None = None
        for anchor in pager.css("a[href]"):
            href = anchor.attributes.get("href") or ""
            offset = parse_int(query_param(href, "pn"))
            link = self._absolute(href)
            if offset is None or link is None:
                continue
            number = offset // params.num + 1
            if number == current:
                continue
            other_pages.setdefault(str(number), link)
            if number == current + 1:
                next_link = link
        if not other_pages:
            return None
        return Pagination(current=current, next=next_link, other_pages=other_pages)


def _raise_if_captcha(root: LexborNode) -> None:
    title = first_text(root, "title")
    if title in _CAPTCHA_TITLES or root.css_first(_CAPTCHA) is not None:
        raise BlockedError(
            f'Baidu answered its security verification ("{title or "百度安全验证"}") '
            "instead of results",
            retry_after=_CAPTCHA_REST_SECONDS,
        )


def _says_no_results(root: LexborNode) -> bool:
    for selector in _NO_RESULTS_SELECTORS:
        found = root.css_first(selector)
        if found is not None and _NO_RESULTS_TEXT.search(node_text(found)):
            return True
    # Without the marker, the result column's words, read only when it holds no title.
    left = root.css_first("#content_left")
    return (
        left is not None
        and left.css_first("h3") is None
        and bool(_NO_RESULTS_TEXT.search(node_text(left)))
    )


def _text(root: LexborNode, *selectors: str) -> str:
    # Baidu pads labels with zero-width spaces and draws icons with private-use characters of
    # its icon font ("Baidu Baike\ue62b"): neither is text a reader sees.
    return _INVISIBLE.sub("", first_text(root, *selectors)).strip()


def _snippet_and_date(item: LexborNode) -> tuple[str, str | None]:
    text = _text(item, *_SNIPPETS)
    marked = _DATE_PREFIX.match(_text(item, *_DATES))
    if marked is not None and text.startswith(marked.group(0)):
        return text[marked.end() :].lstrip(" -—·"), marked.group(0)
    found, text = split_leading_date(text, *_DATE_SEPARATORS)
    return text, found


def _total_results(text: str) -> int | None:
    """The count from "百度为您找到相关结果约100,000,000个"; None where the page gives none."""
    return parse_count(text) if re.search(r"\d", text) else None

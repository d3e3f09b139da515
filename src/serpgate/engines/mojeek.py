"""Mojeek web search (www.mojeek.com), an independent crawler-based index with plain HTML pages.

Upstream: ``GET /search?q=…&s=…``, where ``s`` is the 1-based rank of the page's first result;
ten results a page. The page is server-rendered and stable: results are ``li`` items of
``ul.results-standard``, each with the title link ``h2 > a.title``, the breadcrumb
``p.i > span.url`` inside a second link to the same page, and the snippet ``p.s``. The count
line reads "Results 1 to 10 from 5,280,016 in 0.37s"; the pager is ``div.pagination``.

Mojeek refuses an address it suspects of automation with a short 403 page ("your network
appears to be sending automated queries"); a query nothing matches gets "No pages found
matching".
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
    looks_blocked,
    node_text,
    parse_count,
    parse_int,
    query_param,
    split_leading_date,
    with_query,
)
from serpgate.engines.parameters import EngineParameters
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    OrganicResult,
    Pagination,
    RelatedSearch,
    SearchInformation,
    SerpData,
)

_BLOCK_MARKERS = (
    "sending automated queries",
    "automated queries",
    "unusual traffic",
    "access denied",
)
# Mojeek's automation ban is per address and lasts a while.
_BLOCK_REST_SECONDS = 600.0
_PAGE_SIZE = 10

_NOISE = "script, style, noscript, svg"
_ITEMS = ("ul.results-standard > li", ".results-standard li", ".results li")
_TITLES = ("h2 a.title[href]", "a.title[href]", "h2 a[href]")
_NO_RESULTS_TEXT = re.compile(r"no pages found matching|no results found", re.IGNORECASE)
_COUNT_LINE = re.compile(
    r"from\s+(?P<total>[\d,.\s]+?)\s+in\s+(?P<seconds>\d+(?:\.\d+)?)\s*s", re.IGNORECASE
)
_DATE_SEPARATORS = ("-", "—", "·")


class MojeekEngine(Engine):
    name: ClassVar[str] = "mojeek"
    default_base_url: ClassVar[str] = "https://www.mojeek.com"
    # SerpApi has no such engine, and its request takes no more than the query and page.
    parameters: ClassVar[EngineParameters] = EngineParameters()

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"q": params.q}
        if params.start:
            query["s"] = params.start + 1
        return UpstreamRequest(
            url=with_query(f"{self.base_url}/search", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        root = tree.root
        if root is None:
            raise UnrecognizedPage("mojeek answered an empty page")
        for noise in root.css(_NOISE):
            noise.decompose()
        items = css_any(root, *_ITEMS)
        main = root.css_first(".results") or root.css_first("main") or root
        no_results = not items and bool(_NO_RESULTS_TEXT.search(node_text(main)))
        # Mojeek's refusal is a bare page of words: looked for only where no result is.
        if not items and not no_results and looks_blocked(tree, html, params.q, _BLOCK_MARKERS):
            raise BlockedError(
                "Mojeek refused the search as automated", retry_after=_BLOCK_REST_SECONDS
            )
        page = Recognition.of(
            self.name,
            results_page=bool(items) or echoes_query(root, params.q, "input[name='q']"),
            no_results=no_results,
        )
        organic: list[OrganicResult] = []
        for item in items:
            anchor = next(filter(None, map(item.css_first, _TITLES)), None)
            title = node_text(anchor)
            link = absolute_url(self.base_url, anchor.attributes.get("href")) if anchor else None
            if not title or link is None:
                continue
            date, snippet = split_leading_date(first_text(item, "p.s"), *_DATE_SEPARATORS)
            organic.append(
                OrganicResult(
                    position=params.start + len(organic) + 1,
                    title=title,
                    link=link,
                    displayed_link=first_text(item, "p.i .url", ".url", "p.i") or None,
                    snippet=snippet or None,
                    date=first_text(item, ".mdate", ".date") or date,
                )
            )
        total, seconds = _count_line(first_text(root, ".results-count-container", ".top-info"))
        information = SearchInformation(
            total_results=total,
            time_taken_displayed=seconds,
            query_displayed=input_value(root, "input[name='q']") or params.q,
        )
        return page.confirm(
            SerpData(
                search_information=information,
                organic_results=organic,
                related_searches=self._related(root) or None,
                pagination=self._pagination(root, params),
            )
        )

    def _related(self, root: LexborNode) -> list[RelatedSearch]:
        related: list[RelatedSearch] = []
        seen: set[str] = set()
        for anchor in root.css(".related-searches a[href], .related a[href]"):
            text = node_text(anchor)
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                related.append(
                    RelatedSearch(
                        query=text, link=absolute_url(self.base_url, anchor.attributes.get("href"))
                    )
                )
        return related

    def _pagination(self, root: LexborNode, params: SearchParams) -> Pagination | None:
        """Pages by the 1-based ``s`` each pager link carries."""
        pager = root.css_first(".pagination")
        if pager is None:
            return None
        current = params.start // _PAGE_SIZE + 1
        other_pages: dict[str, str] = {}
        next_link: str | None = None
        for anchor in pager.css("a[href]"):
            href = anchor.attributes.get("href") or ""
            first = parse_int(query_param(href, "s"))
            link = absolute_url(self.base_url, href)
            if first is None or first < 1 or link is None:
                continue
            number = (first - 1) // _PAGE_SIZE + 1
            if number == current:
                continue
            other_pages.setdefault(str(number), link)
            if number == current + 1:
                next_link = link
        if not other_pages:
            return None
        return Pagination(current=current, next=next_link, other_pages=other_pages)


def _count_line(text: str) -> tuple[int | None, float | None]:
    """ "Results 1 to 10 from 5,280,016 in 0.37s" as (5280016, 0.37)."""
    match = _COUNT_LINE.search(text)
    if match is None:
        return None, None
    return parse_count(match.group("total")), float(match.group("seconds"))

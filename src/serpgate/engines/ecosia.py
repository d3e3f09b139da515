"""Ecosia web search, read from the page www.ecosia.org/search renders on its server.

Upstream: ``GET /search?q=…&p=…``, where ``p`` is the 0-based page number; Ecosia shows ten web
results a page, from Bing or Google (each says which), so ``num`` does not change the page.
Ecosia's Vue front end marks every part of the page with ``data-test-id`` attributes, which
outlive its hashed style classes: a web result is ``article[data-test-id=organic-result]`` with
the title in ``[data-test-id=result-title]``, the link on ``a[data-test-id=result-link]`` and the
text in ``[data-test-id=web-result-description]``; the older ``article.result`` /
``a.result-title`` / ``p.result-snippet`` markup is the fallback. Ads come in Google's ad
iframes, whose content is not in the page.

A suspected bot gets Cloudflare's Turnstile page ("Confirm you're not a robot", "Just a
moment..."), status 403 or 200.
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
    clean,
    css_any,
    echoes_query,
    first_text,
    input_value,
    node_text,
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

# One selector, so the page is walked once.
_CHALLENGE = (
    "input[name='cf-turnstile-response'], .cf-turnstile, #challenge-form, #challenge-stage,"
    " iframe[src*='challenges.cloudflare.com'], script[src*='challenges.cloudflare.com']"
)
_CHALLENGE_TITLES = ("Just a moment...", "Attention Required! | Cloudflare")
# Cloudflare's clearance is per address; a challenged exit stays challenged for a while.
_CHALLENGE_REST_SECONDS = 300.0
# Ecosia's page size; its pager moves ten results at a time whatever a client asks.
_PAGE_SIZE = 10

_NOISE = "script, style, noscript, svg, iframe"
_ITEMS = (
    "article[data-test-id='organic-result']",
    "[data-test-id='mainline-result-web'] article",
    "article.result.web-result",
    "div.result.js-result",
)
_TITLES = ("[data-test-id='result-title']", ".result-title__heading", "h2", "a.result-title")
_LINKS = ("a[data-test-id='result-link'][href]", "a.result-title[href]", "a.result__link[href]")
_SNIPPETS = (
    "[data-test-id='web-result-description']",
    "[data-test-id='result-description']",
    ".web-result__description",
    ".result-snippet",
    ".result__description",
)
_DISPLAYED = ("[data-test-id='result-source']", ".result-info__link", ".result-url", "cite")
_RELATED = (
    "[data-test-id='web-related-queries'] a[href]",
    "[data-test-id^='related-queries-link'][href]",
    ".related-queries a[href]",
)
_NO_RESULTS_MARKERS = (
    "[data-test-id='no-results'], [data-test-id='mainline-no-results'], .no-results, .results-empty"
)
_NO_RESULTS_TEXT = re.compile(
    r"(?:no|couldn.t find any) results (?:found )?for|did not match any", re.IGNORECASE
)
_DATE_SEPARATORS = ("—", "·", "-", "...")


class EcosiaEngine(Engine):
    name: ClassVar[str] = "ecosia"
    default_base_url: ClassVar[str] = "https://www.ecosia.org"
    # SerpApi has no such engine, and its request takes no more than the query and page.
    parameters: ClassVar[EngineParameters] = EngineParameters()

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"q": params.q}
        if params.start:
            query["p"] = params.start // _PAGE_SIZE
        return UpstreamRequest(
            url=with_query(f"{self.base_url}/search", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        root = tree.root
        if root is None:
            raise UnrecognizedPage("ecosia answered an empty page")
        _raise_if_challenge(root)
        for noise in root.css(_NOISE):
            noise.decompose()
        items = css_any(root, *_ITEMS)
        page = Recognition.of(
            self.name,
            results_page=bool(items)
            or root.css_first("[data-test-id='mainline']") is not None
            or echoes_query(root, params.q, "input[data-test-id='search-form-input']"),
            # The no-results words are read only on a page without results: the whole page's
            # text costs more than the rest of the parse.
            no_results=_says_no_results(root, read_text=not items),
        )
        organic: list[OrganicResult] = []
        for item in items:
            title = first_text(item, *_TITLES) or clean(item.attributes.get("aria-label"))
            link = self._link(item)
            if not title or link is None:
                continue
            date, snippet = split_leading_date(first_text(item, *_SNIPPETS), *_DATE_SEPARATORS)
            organic.append(
                OrganicResult(
                    position=params.start + len(organic) + 1,
                    title=title,
                    link=link,
                    displayed_link=_displayed_link(item) or None,
                    snippet=snippet or None,
                    date=date,
                )
            )
        information = SearchInformation(
            query_displayed=input_value(
                root, "input[data-test-id='search-form-input']", "input[name='q']"
            )
            or params.q,
        )
        return page.confirm(
            SerpData(
                search_information=information,
                organic_results=organic,
                related_searches=self._related(root) or None,
                pagination=self._pagination(root, params),
            )
        )

    def _absolute(self, href: str | None) -> str | None:
        return absolute_url(self.base_url, href)

    def _link(self, item: LexborNode) -> str | None:
        for selector in _LINKS:
            anchor = item.css_first(selector)
            if anchor is not None:
                return self._absolute(anchor.attributes.get("href"))
        heading = item.css_first("h2")
        ancestor = heading.parent if heading is not None else None
        while ancestor is not None and ancestor != item:
            if ancestor.tag == "a":
                return self._absolute(ancestor.attributes.get("href"))
            ancestor = ancestor.parent
        return None

    def _related(self, root: LexborNode) -> list[RelatedSearch]:
        related: list[RelatedSearch] = []
        seen: set[str] = set()
        for anchor in css_any(root, *_RELATED):
            href = anchor.attributes.get("href") or ""
            text = (
                first_text(anchor, "[data-test-id='related-queries-text']")
                or clean(anchor.attributes.get("aria-label"))
                or node_text(anchor)
            )
            if not text or text.casefold() in seen:
                continue  # the bottom block and the sidebar list the same queries
            seen.add(text.casefold())
            related.append(RelatedSearch(query=text, link=self._absolute(href)))
        return related

    def _pagination(self, root: LexborNode, params: SearchParams) -> Pagination | None:
        pager = css_any(root, "[data-test-id='simplified-pagination']", ".pagination", "nav")
        current = params.start // _PAGE_SIZE + 1
        other_pages: dict[str, str] = {}
        next_link: str | None = None
        for box in pager:
            for anchor in box.css("a[href]"):
                href = anchor.attributes.get("href") or ""
                index = query_param(href, "p")
                link = self._absolute(href)
                if link is None or index is None or not index.isdecimal():
                    continue
                number = int(index) + 1
                if number == current:
                    continue
                other_pages.setdefault(str(number), link)
                if number == current + 1:
                    next_link = link
        if not other_pages:
            return None
        return Pagination(current=current, next=next_link, other_pages=other_pages)


def _raise_if_challenge(root: LexborNode) -> None:
    title = first_text(root, "title")
    if title in _CHALLENGE_TITLES or root.css_first(_CHALLENGE) is not None:
        heading = first_text(root, "h1") or title
        detail = f' ("{heading}")' if heading else ""
        raise BlockedError(
            f"Ecosia answered a bot challenge{detail} instead of results",
            retry_after=_CHALLENGE_REST_SECONDS,
        )


def _says_no_results(root: LexborNode, *, read_text: bool) -> bool:
    if root.css_first(_NO_RESULTS_MARKERS) is not None:
        return True
    if not read_text:
        return False
    main = root.css_first("main") or root.css_first("[data-test-id='mainline']")
    return main is not None and bool(_NO_RESULTS_TEXT.search(node_text(main)))


def _displayed_link(item: LexborNode) -> str:
    """The source line, "https://www.w3schools.com › js", without the dangling separator."""
    return first_text(item, *_DISPLAYED).strip(" ›")

"""Brave Search (search.brave.com): an independent index behind a server-rendered SvelteKit page.

Brave answers a plain HTTP client with the whole result page already rendered, so no script has
to run: each organic result is a ``div.snippet[data-type=web]`` whose first anchor wraps the site
name, the breadcrumb (``cite.snippet-url``) and the title, followed by the description, which
opens with the page's date ("March 3, 2026 -") when Brave knows it. Class names also carry Svelte
hashes (``svelte-14r20fy``) that change with every deploy; the selectors below use only the
semantic names and fall back to the older ``result-header`` / ``snippet-description`` markup.

Brave shows about twenty results a page and no result count. ``offset`` is a page index, not a
result index. A client Brave distrusts is sent to its ``/captcha`` route (a proof-of-work that
falls back to a slider puzzle) or gets a bare "too many requests" page; neither has results.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    UpstreamRequest,
    clean,
    first_text,
    node_text,
    query_param,
    with_query,
)
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    OrganicResult,
    Pagination,
    RelatedQuestion,
    RelatedSearch,
    SearchInformation,
    SerpData,
    Sitelink,
    Sitelinks,
)

# A challenged address stays challenged for a while; retrying through it at once only extends it.
CHALLENGE_BACKOFF = 300.0

_RESULTS = (
    'div.snippet[data-type="web"]',
    '#results .snippet[data-pos]:not(.standalone):not([data-type="ad"])',
)
_TITLE = (".search-snippet-title", ".snippet-title", ".title")
_DISPLAYED_LINK = ("cite.snippet-url", ".snippet-url", "cite", ".netloc")
_DESCRIPTION = (
    ".generic-snippet .content",
    ".snippet-description",
    ".video-snippet .content > div",
    ".snippet-content",
)
# The date prefix when the markup does not set it apart: "March 3, 2026 - ", "2 days ago - ".
_DATE_PREFIX = re.compile(
    r"^(?P<date>[A-Z][a-z]+\.? \d{1,2}, \d{4}"
    r"|\d+ (?:second|minute|hour|day|week|month|year)s? ago) - "
)
# Phrases only Brave's challenge and rate-limit pages carry (checked only when no result parsed).
_BLOCK_MARKERS = (
    "/captcha",
    "captcha-",
    "confirm you're human",
    "confirm you are human",
    "verify you are human",
    "rate limited",
    "too many requests",
)


class BraveEngine(Engine):
    name = "brave"
    default_base_url = "https://search.brave.com"

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"q": params.q, "source": "web"}
        if params.page > 1:
            query["offset"] = params.page - 1
        if params.safe is not None:
            query["safesearch"] = "strict" if params.safe == "active" else "off"
        if params.gl:
            query["country"] = params.gl
        return UpstreamRequest(
            url=with_query(f"{self.base_url}/search", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        organic = _organic(tree, params.start)
        if not organic:
            _raise_if_blocked(tree, html, params.q)
        query_box = tree.css_first("input#searchbox") or tree.css_first('input[name="q"]')
        shown = clean(query_box.attributes.get("value")) if query_box is not None else ""
        if not shown:
            # The search box is filled by script in a browser; the title carries the query too.
            title = first_text(tree.root, "title") if tree.root is not None else ""
            shown = (
                title.removesuffix(" - Brave Search") if title.endswith(" - Brave Search") else ""
            )
        information = SearchInformation(
            organic_results_state="Results for exact spelling" if organic else "Fully empty",
            query_displayed=shown or None,
        )
        return SerpData(
            search_information=information,
            organic_results=organic,
            related_questions=_related_questions(tree) or None,
            related_searches=self._related_searches(tree) or None,
            pagination=self._pagination(tree, params.page) if organic else None,
        )

    def _related_searches(self, tree: LexborHTMLParser) -> list[RelatedSearch]:
        anchors = (
            tree.css("#related-queries a[href]")
            or tree.css("a.related-query[href]")
            or tree.css('a[href*="source=relatedQueries"]')
        )
        related = []
        for anchor in anchors:
            text = node_text(anchor)
            if text:
                link = urljoin(f"{self.base_url}/", anchor.attributes.get("href") or "")
                related.append(RelatedSearch(query=text, link=link))
        return related

    def _pagination(self, tree: LexborHTMLParser, current: int) -> Pagination:
        # Pages are told apart by their offset, not by the button's (localised) label.
        pages: dict[int, str] = {}
        for anchor in tree.css("#pagination a[href]"):
            href = anchor.attributes.get("href") or ""
            offset = query_param(href, "offset")
            number = int(offset) + 1 if offset and offset.isdigit() else 1
            if number != current:
                pages.setdefault(number, urljoin(f"{self.base_url}/", href))
        return Pagination(
            current=current,
            next=pages.get(current + 1),
            other_pages={str(n): link for n, link in sorted(pages.items())} or None,
        )


def _organic(tree: LexborHTMLParser, start: int) -> list[OrganicResult]:
    # Positions run on across pages: the first result of a page is number start + 1.
    nodes: list[LexborNode] = []
    for selector in _RESULTS:
        nodes = tree.css(selector)
        if nodes:
            break
    results: list[OrganicResult] = []
    for node in nodes:
        anchor = _result_anchor(node)
        if anchor is None:
            continue  # ads and partial snippets link through relative redirects
        title = first_text(node, *_TITLE) or clean(anchor.attributes.get("title"))
        if not title:
            continue
        snippet, date = _description(node)
        results.append(
            OrganicResult(
                position=start + len(results) + 1,
                title=title,
                link=anchor.attributes.get("href") or "",
                displayed_link=first_text(node, *_DISPLAYED_LINK) or None,
                snippet=snippet or None,
                date=date,
                sitelinks=_sitelinks(node),
            )
        )
    return results


def _result_anchor(node: LexborNode) -> LexborNode | None:
    for selector in ("a.result-header[href]", ".result-content > a[href]", "a[href]"):
        for anchor in node.css(selector):
            if (anchor.attributes.get("href") or "").startswith(("http://", "https://")):
                return anchor
    return None


def _description(node: LexborNode) -> tuple[str, str | None]:
    """The snippet and the date Brave prefixes to it, apart."""
    found = next((n for s in _DESCRIPTION if (n := node.css_first(s)) is not None), None)
    text = node_text(found)
    date = None
    if found is not None:
        marked = found.css_first("span.t-secondary")
        prefix = node_text(marked)
        if prefix.endswith("-") and text.startswith(prefix):
            date = prefix.rstrip(" -")
            text = text[len(prefix) :].strip()
        elif match := _DATE_PREFIX.match(text):
            date = match["date"]
            text = text[match.end() :]
    if date is None:
        date = _published(node)
    return text, date


def _published(node: LexborNode) -> str | None:
    """Video results put their age in an attribute row: "Published 3 weeks ago"."""
    attributes = node.css_first(".snippet-attributes")
    if attributes is None:
        return None
    label = node_text(attributes.css_first("strong"))
    value = node_text(attributes.css_first("span"))
    return value if label.lower() == "published" and value else None


def _sitelinks(node: LexborNode) -> Sitelinks | None:
    links = []
    for item in node.css(".result-cluster .snippet"):
        anchor = item.css_first("a[href]")
        title = node_text(anchor)
        if anchor is None or not title:
            continue
        links.append(
            Sitelink(
                title=title,
                link=anchor.attributes.get("href") or "",
                snippet=first_text(item, ".description") or None,
            )
        )
    return Sitelinks(expanded=links) if links else None


def _related_questions(tree: LexborHTMLParser) -> list[RelatedQuestion]:
    questions = []
    for item in tree.css("#faq .faq-item") or tree.css(".faq-item"):
        summary = item.css_first("summary")
        question = first_text(item, "summary .title", "summary") or clean(
            summary.attributes.get("title") if summary else None
        )
        if not question:
            continue
        source = item.css_first("a[href]")
        questions.append(
            RelatedQuestion(
                question=question,
                snippet=first_text(item, ".content") or None,
                title=(first_text(source, ".title") or None) if source is not None else None,
                link=source.attributes.get("href") if source is not None else None,
                displayed_link=(first_text(source, "cite") or None) if source is not None else None,
            )
        )
    return questions


def _raise_if_blocked(tree: LexborHTMLParser, html: str, query: str) -> None:
    """Tell Brave's challenge apart from an honest empty page (the query is no evidence)."""
    structural = tree.css_first(
        'form[action*="captcha"], [class*="captcha"], #captcha, iframe[src*="captcha"]'
    )
    haystack = html.lower().replace(query.lower(), "")
    if structural is not None or any(marker in haystack for marker in _BLOCK_MARKERS):
        raise BlockedError("Brave answered a challenge page", retry_after=CHALLENGE_BACKOFF)

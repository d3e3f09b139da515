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

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    Recognition,
    UpstreamRequest,
    absolute_url,
    clean,
    css_any,
    css_within,
    echoes_query,
    expanded_sitelinks,
    first_text,
    input_value,
    looks_blocked,
    node_text,
    parse_int,
    query_param,
    split_leading_date,
    split_marked_date,
    with_query,
)
from serpgate.engines.parameters import EngineParameters
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    InlineVideo,
    OrganicResult,
    Pagination,
    RelatedQuestion,
    RelatedSearch,
    SearchInformation,
    SerpData,
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
# What follows the date Brave opens a description with: "March 3, 2026 - ", "2 days ago - ".
_DATE_SEPARATOR = "-"
# Phrases only Brave's challenge and rate-limit pages carry (checked only when no result parsed).
# The results column of a results page, which an empty one has too.
_RESULTS_CONTAINERS = "main#search-page #results, #results.section, div#results"
# Brave's own "No results found" card, standing where the results would.
_NO_RESULTS = "#no-results, .snippet#no-results"
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
    # SerpApi has no such engine: serpgate's uniform language, country and SafeSearch.
    parameters = EngineParameters(accepts=frozenset({"hl", "gl", "safe"}))

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
        page = Recognition.of(
            self.name,
            results_page=bool(organic)
            or tree.css_first(_RESULTS_CONTAINERS) is not None
            or echoes_query(tree, params.q, "input#searchbox", 'input[name="q"]'),
            no_results=tree.css_first(_NO_RESULTS) is not None,
        )
        shown = input_value(tree, "input#searchbox", 'input[name="q"]')
        if not shown:
            # The search box is filled by script in a browser; the title carries the query too.
            title = first_text(tree.root, "title") if tree.root is not None else ""
            shown = (
                title.removesuffix(" - Brave Search") if title.endswith(" - Brave Search") else ""
            )
        return page.confirm(
            SerpData(
                search_information=SearchInformation(query_displayed=shown or None),
                organic_results=organic,
                inline_videos=_inline_videos(tree) or None,
                related_questions=_related_questions(tree) or None,
                related_searches=self._related_searches(tree) or None,
                pagination=self._pagination(tree, params.page) if organic else None,
            )
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
            link = absolute_url(self.base_url, anchor.attributes.get("href"))
            if text and link:
                related.append(RelatedSearch(query=text, link=link))
        return related

    def _pagination(self, tree: LexborHTMLParser, current: int) -> Pagination:
        # Pages are told apart by their offset, not by the button's (localised) label.
        pages: dict[int, str] = {}
        for anchor in tree.css("#pagination a[href]"):
            href = anchor.attributes.get("href") or ""
            offset = parse_int(query_param(href, "offset"))
            number = offset + 1 if offset is not None else 1
            link = absolute_url(self.base_url, href)
            if number != current and link is not None:
                pages.setdefault(number, link)
        return Pagination(
            current=current,
            next=pages.get(current + 1),
            other_pages={str(n): link for n, link in sorted(pages.items())} or None,
        )


def _organic(tree: LexborHTMLParser, start: int) -> list[OrganicResult]:
    # Positions run on across pages: the first result of a page is number start + 1.
    results: list[OrganicResult] = []
    for node in css_any(tree, *_RESULTS):
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
        marked = node_text(found.css_first("span.t-secondary"))
        date, text = split_marked_date(text, marked, _DATE_SEPARATOR)
        if date is None:
            date, text = split_leading_date(text, _DATE_SEPARATOR)
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
    rows = [
        item
        for item in css_within(node, ".result-cluster", ".snippet")
        # A result of its own (with markup left open around it) is no cluster link.
        if "data-pos" not in item.attributes and "data-type" not in item.attributes
    ]
    return expanded_sitelinks(rows, ".description")


def _inline_videos(tree: LexborHTMLParser) -> list[InlineVideo]:
    """The "Videos" cluster: cards linking to the video, with its site, title, duration and date.

    Cards are the cluster's links; their class names carry the "enrichment-card" parts Brave
    has kept across deploys, while the Svelte hashes beside them change.
    """
    videos: list[InlineVideo] = []
    for card in tree.css("[class*='video-cluster'] a[href]"):
        link = card.attributes.get("href") or ""
        title = first_text(card, ".line-clamp-2", "[class*='card-title']", "[class*='title']")
        if not title or not link.startswith(("https://", "http://")):
            continue
        videos.append(
            InlineVideo(
                position=len(videos) + 1,
                title=title,
                link=link,
                platform=first_text(card, "[class*='card-site']") or None,
                duration=first_text(card, "[class*='card-duration']") or None,
                date=first_text(card, "[class*='card-metadata'] span") or None,
            )
        )
    return videos


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
    """Tell Brave's challenge apart from an honest empty page."""
    if looks_blocked(tree, html, query, _BLOCK_MARKERS):
        raise BlockedError("Brave answered a challenge page", retry_after=CHALLENGE_BACKOFF)

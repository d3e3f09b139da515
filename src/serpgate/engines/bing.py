"""Bing web search, read from the HTML page www.bing.com/search answers a browser.

Upstream: ``GET /search?q=…&first=…&count=…``, where ``first`` is the 1-based rank of the page's
first result and ``count`` the page size; ``setlang`` picks the interface language, ``cc`` the
country and ``adlt`` the SafeSearch level. Organic results are ``#b_results > li.b_algo``; since
about 2022 their links go through Bing's click tracker ``/ck/a?…&u=a1<base64url of the target>``,
which this parser unwraps so clients get the page itself. The entity panel lives in
``#b_context``, related searches in a ``.b_rs`` block below the results or a rail beside them.

Bing answers suspected bots with a challenge ("One last step", a Cloudflare Turnstile widget)
inside its normal page chrome, status 200, so the challenge is recognised by its markup. Its
inline CSS mentions ``b_algo``: the absence of results is never what gives a challenge away.
"""

from __future__ import annotations

import base64
import re
from typing import ClassVar

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    Recognition,
    UpstreamRequest,
    absolute_url,
    css_within,
    echoes_query,
    expanded_sitelinks,
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
from serpgate.engines.bing_features import ads, inline_videos, related_questions
from serpgate.engines.parameters import (
    ONE_BASED,
    Alias,
    EngineParameters,
    choice,
    one_based,
    one_of,
)
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    KnowledgeGraph,
    KnowledgeGraphSource,
    OrganicResult,
    Pagination,
    RelatedSearch,
    SearchInformation,
    SerpData,
    Sitelinks,
)

# Markup only the challenge page has; matched as elements, so inline CSS and scripts that
# mention the same names on ordinary pages never count.
_CHALLENGE_SELECTORS = (
    ".captcha_header",
    "#turnstile-widget",
    ".cf-turnstile",
    "input[name='cf-turnstile-response']",
    "form[action*='/challenge/verify']",
    "form[action*='/turing/captcha']",
    "iframe[src*='/turing/captcha']",
)
# A results page: the list of results, which an empty page has too.
_RESULTS_CONTAINERS = "#b_results"
# Bing's own "There are no results for …" block, which stands where the results would.
_NO_RESULTS = "li.b_no, #b_results .b_no"
# A challenge stays on an exit for minutes; asking again sooner only confirms the suspicion.
_CHALLENGE_REST_SECONDS = 300.0

# Text that is chrome, not content: the "Web" badge before snippets and screen-reader notes.
_NOISE_SELECTORS = "script, style, noscript, .algoSlug_icon, .expansionAccessibilityText, .b_adSlug"

# Where a result's snippet lives, most specific first: the caption paragraph (all years), the
# line-clamped paragraph (2022+), the slug paragraph with its badge, then generic fallbacks.
_SNIPPET_SELECTORS = (
    ".b_caption > p",
    "p[class*='b_lineclamp']",
    ".b_algoSlug",
    ".b_snippet",
    ".b_caption p",
    ".b_dList",
    "p",
)
# Parts of a result that hold other pages' text (deep links, fact rows, the site header).
_NOT_SNIPPET = ("b_deep", "b_factrow", "b_tpcn", "b_vlist2col")

# What separates the date Bing writes before a snippet ("24/1/2013 · …", "Mar 5, 2019 — …")
# from the text, when the page does not mark the date up as ``span.news_dt``.
_DATE_SEPARATORS = ("·", "—")
# What to strip between a marked-up date and the snippet.
_AFTER_DATE = " ·—-"

# One number as Bing prints it in any locale: "52", "1,230", "106.000.000", "1 230", and the
# Swiss "44’300’000".
_NUMBER = re.compile(r"\d(?:[\d.,\u202f\xa0 ’']*\d)?")

_RELATED_CONTAINERS = "#brsv3, .b_rs, .b_rrsr, .richrswrapper, .richrsrailsugwrapper"
_RELATED_TEXT = (".b_suggestionText", ".richrsrailsuggestion_text", ".suggestion_text")

_KG_PANELS = ("#b_context .b_entityTP", ".b_entityTP", "#b_wpt_container")
_KG_DESCRIPTIONS = (
    ".b_snippet .b_hide",  # the full text; the visible span is cut off with "…"
    ".spl-spli-desc",
    "[id^='infoc_']",
    ".b_snippet",
    ".b_lBottom",
)
_OFFICIAL_SITE = re.compile(r"official|website", re.IGNORECASE)


class BingEngine(Engine):
    name: ClassVar[str] = "bing"
    default_base_url: ClassVar[str] = "https://www.bing.com"
    # SerpApi's Bing names: first (1-based), count, cc, mkt and safeSearch; hl, gl and safe are
    # serpgate's uniform names for setlang, cc and adlt.
    parameters: ClassVar[EngineParameters] = EngineParameters(
        accepts=frozenset({"hl", "gl", "safe", "mkt"}),
        aliases={
            "first": Alias("start", one_based, ONE_BASED),
            "count": Alias("num", schema={"type": "integer", "minimum": 1, "maximum": 100}),
            "cc": Alias("gl", schema={"type": "string", "pattern": "^[A-Za-z]{2}$"}),
            "safeSearch": Alias(
                "safe",
                choice({"Strict": "active", "Moderate": None, "Off": "off"}),
                one_of("Strict", "Moderate", "Off"),
            ),
        },
        refused={
            "location": "Bing places a search by its own geolocation, which serpgate cannot set",
            "lat": "Bing places a search by its own geolocation, which serpgate cannot set",
            "lon": "Bing places a search by its own geolocation, which serpgate cannot set",
            "filters": "Bing's encoded result filters are not mapped",
        },
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"q": params.q, "count": params.num}
        if params.start:
            query["first"] = params.start + 1
            # Bing's own pager sends FORM=PERE, PERE1, PERE2…; without it deep pages sometimes
            # repeat the first one.
            page = params.page
            query["FORM"] = "PERE" if page <= 2 else f"PERE{page - 2}"
        if params.hl:
            query["setlang"] = params.hl
        if params.gl:
            query["cc"] = params.gl
        if params.mkt:
            query["mkt"] = params.mkt
        if params.safe:
            query["adlt"] = "strict" if params.safe == "active" else "off"
        return UpstreamRequest(
            url=with_query(f"{self.base_url}/search", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        root = tree.root
        if root is None:
            raise UnrecognizedPage("bing answered an empty page")
        _raise_if_challenge(root)
        page = Recognition.of(
            self.name,
            results_page=root.css_first(_RESULTS_CONTAINERS) is not None
            or echoes_query(root, params.q, "#sb_form_q"),
            no_results=root.css_first(_NO_RESULTS) is not None,
        )
        for noise in root.css(_NOISE_SELECTORS):
            noise.decompose()

        organic = self._organic_results(root, params)
        information = SearchInformation(
            total_results=_total_results(first_text(root, ".sb_count")),
            query_displayed=input_value(root, "#sb_form_q") or params.q,
        )
        return page.confirm(
            SerpData(
                search_information=information,
                ads=ads(root, self._absolute) or None,
                knowledge_graph=self._knowledge_graph(root),
                organic_results=organic,
                inline_videos=inline_videos(root, self._absolute) or None,
                related_questions=related_questions(root, self._absolute) or None,
                related_searches=self._related_searches(root) or None,
                pagination=self._pagination(root, params),
            )
        )

    def _absolute(self, href: str | None) -> str | None:
        return absolute_url(self.base_url, href)

    def _target(self, href: str | None) -> str | None:
        """The page a result link leads to, with Bing's ``/ck/a`` click tracker unwrapped."""
        href = href or ""
        if url_path(href).endswith("/ck/a"):
            encoded = query_param(href, "u") or ""
            # "a1" marks base64url without padding; other markers are not worth guessing at.
            if encoded.startswith("a1"):
                payload = encoded[2:]
                try:
                    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
                    target = decoded.decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    target = ""
                if target.startswith(("http://", "https://", "/")):
                    href = target
        return self._absolute(href)

    def _organic_results(self, root: LexborNode, params: SearchParams) -> list[OrganicResult]:
        items = root.css("#b_results > li.b_algo") or root.css("li.b_algo")
        results: list[OrganicResult] = []
        for item in items:
            heading = _title_link(item)
            if heading is None:
                continue
            title, href = heading
            link = self._target(href)
            if link is None:
                continue
            snippet, date = _snippet_and_date(item)
            results.append(
                OrganicResult(
                    position=params.start + len(results) + 1,
                    title=title,
                    link=link,
                    displayed_link=first_text(item, ".b_attribution cite", "cite") or None,
                    snippet=snippet or None,
                    date=date,
                    source=first_text(item, ".tptt") or None,
                    sitelinks=self._sitelinks(item),
                )
            )
        return results

    def _sitelinks(self, item: LexborNode) -> Sitelinks | None:
        # Deep links: the grid of a site's own pages under its top result, including the ones
        # behind "See more", which are in the page already.
        rows = css_within(item, ".b_deep", "li")
        return expanded_sitelinks(rows, "p", title="h3 a[href]", resolve=self._target)

    def _related_searches(self, root: LexborNode) -> list[RelatedSearch]:
        related: list[RelatedSearch] = []
        seen: set[str] = set()
        for container in root.css(_RELATED_CONTAINERS):
            for anchor in container.css("a[href]"):
                href = anchor.attributes.get("href") or ""
                asked = query_param(href, "q")
                if not asked:
                    continue
                text = first_text(anchor, *_RELATED_TEXT) or node_text(anchor) or asked
                if text.casefold() in seen:
                    continue
                seen.add(text.casefold())
                related.append(RelatedSearch(query=text, link=self._absolute(href)))
        return related

    def _knowledge_graph(self, root: LexborNode) -> KnowledgeGraph | None:
        panel = next((p for p in map(root.css_first, _KG_PANELS) if p is not None), None)
        if panel is None:
            return None
        title = first_text(panel, ".b_entityTitle")
        if not title:
            return None
        website: str | None = None
        source: KnowledgeGraphSource | None = None
        for anchor in panel.css(".b_iconSet a[href], .infoCardIcons a[href]"):
            href = self._target(anchor.attributes.get("href"))
            label = node_text(anchor)
            if href is None:
                continue
            if source is None and "wikipedia.org" in href:
                source = KnowledgeGraphSource(name=label or "Wikipedia", link=href)
            elif website is None and _OFFICIAL_SITE.search(label):
                website = href
        return KnowledgeGraph(
            title=title,
            type=first_text(panel, ".b_entitySubTitle") or None,
            description=first_text(panel, *_KG_DESCRIPTIONS) or None,
            website=website,
            source=source,
            attributes=_facts(panel) or None,
        )

    def _pagination(self, root: LexborNode, params: SearchParams) -> Pagination | None:
        pager = root.css_first("li.b_pag") or root.css_first(".b_pag") or root.css_first(".sb_pagF")
        if pager is None:
            return None
        current = parse_int(first_text(pager, ".sb_pagS")) or params.page
        next_anchor = pager.css_first("a.sb_pagN[href]")
        other_pages: dict[str, str] = {}
        for anchor in pager.css("a[href]"):
            number = parse_int(node_text(anchor))
            link = self._absolute(anchor.attributes.get("href"))
            if number is not None and number != current and link is not None:
                other_pages[str(number)] = link
        return Pagination(
            current=current,
            next=self._absolute(next_anchor.attributes.get("href")) if next_anchor else None,
            other_pages=other_pages or None,
        )


def _raise_if_challenge(root: LexborNode) -> None:
    for selector in _CHALLENGE_SELECTORS:
        if root.css_first(selector) is not None:
            header = first_text(root, ".captcha_header", ".captcha_text")
            detail = f' ("{header}")' if header else ""
            raise BlockedError(
                f"Bing answered a bot challenge{detail} instead of results",
                retry_after=_CHALLENGE_REST_SECONDS,
            )


def _title_link(item: LexborNode) -> tuple[str, str] | None:
    """A result's title and raw href, across the layouts Bing has used.

    Usually ``h2 > a``; some layouts wrap the ``h2`` in the anchor (``.b_algoheader``), and a
    few carry the link only on the site header (``a.tilk``).
    """
    for anchor in item.css("h2 a[href]"):
        title = node_text(anchor)
        if title:
            return title, anchor.attributes.get("href") or ""
    heading = item.css_first("h2")
    title = node_text(heading)
    if heading is None or not title:
        return None
    ancestor = heading.parent
    while ancestor is not None and ancestor != item and ancestor.tag != "li":
        if ancestor.tag == "a" and ancestor.attributes.get("href"):
            return title, ancestor.attributes.get("href") or ""
        ancestor = ancestor.parent
    fallback = item.css_first(".b_algoheader a[href]") or item.css_first("a.tilk[href]")
    if fallback is None:
        return None
    return title, fallback.attributes.get("href") or ""


def _inside(node: LexborNode, stop: LexborNode, classes: tuple[str, ...]) -> bool:
    ancestor = node.parent
    while ancestor is not None and ancestor != stop:
        names = (ancestor.attributes.get("class") or "").split()
        if any(name in classes for name in names):
            return True
        ancestor = ancestor.parent
    return False


def _snippet_and_date(item: LexborNode) -> tuple[str, str | None]:
    for selector in _SNIPPET_SELECTORS:
        for node in item.css(selector):
            text = node_text(node)
            if not text or _inside(node, item, _NOT_SNIPPET):
                continue
            date = node_text(node.css_first(".news_dt")) or None
            if date and text.startswith(date):
                return text[len(date) :].lstrip(_AFTER_DATE), date
            date, text = split_leading_date(text, *_DATE_SEPARATORS)
            return text, date
    return "", None


def _total_results(text: str) -> int | None:
    """The result count from "About 52 results", "106.000.000 results" or "11-20 of 52 results".

    Later pages print the range first, so the count is the last number, not the first.
    """
    numbers = _NUMBER.findall(text)
    return parse_count(numbers[-1]) if numbers else None


def _facts(panel: LexborNode) -> dict[str, str]:
    """The panel's "Founded: 3 June 2009" rows, keyed in snake_case as SerpApi keys them."""
    facts: dict[str, str] = {}
    for row in panel.css(".b_factrow"):
        label = node_text(row.css_first(".cbl"))
        text = node_text(row)
        if not label or not text.startswith(label):
            continue
        key = "_".join(label.rstrip(":： ").lower().split())
        value = text[len(label) :].strip()
        if key and value:
            facts.setdefault(key, value)
    return facts

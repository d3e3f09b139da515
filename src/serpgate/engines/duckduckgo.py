"""DuckDuckGo through its no-JavaScript endpoint, ``html.duckduckgo.com/html/``.

The endpoint answers a plain form: ``q`` is the query, ``kl`` a region such as ``us-en`` (``wt-wt``
for all regions) and ``kp`` the safe-search level (``1`` strict, ``-2`` off, moderate by default).
Its result page is server-rendered markup that has stayed stable for years: every result is a
``div.result`` inside ``div#links`` with an ``a.result__a`` title, an ``a.result__snippet`` and an
``a.result__url`` displayed link; ads are the same block with ``result--ad``. Links were long
wrapped in ``//duckduckgo.com/l/?uddg=<target>`` redirects; since 2025 they are often direct.

There are no page numbers. The bottom of a page holds a "Next" form that posts the same fields
again with an offset ``s``, ``dc`` (offset + 1), a few fixed fields and ``vqd``, a token DuckDuckGo
derives from the query and the client; asking for a later page without it looks like a bot. The
endpoint accepts those fields as a GET query too, so the next page's form becomes
``pagination.next``, a URL that carries the token.

The same parser reads DuckDuckGo's JavaScript pages, should one be handed to it (a browser
fetch, a proxy that renders): the 2019 layout shares the no-JS markup (ads in ``#ads`` above the
results, at the end of ``#links`` below them, and in ``.results--sidebar`` beside them); since
2024 each result is an ``article[data-testid=result]`` with a ``result-title-a`` link and a
``data-result=snippet`` text, ads an ``li[data-layout=ad]``. A page in neither layout, or with
its result list but no result that can be read, is ``UnrecognizedPage``, not "no results".

A client DuckDuckGo distrusts gets HTTP 200 with an "anomaly" page instead: a modal that says
"Unfortunately, bots use DuckDuckGo too." around an image puzzle in ``form#challenge-form``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    Recognition,
    UpstreamRequest,
    absolute_url,
    css_within,
    echoes_query,
    first_text,
    input_value,
    node_text,
    parse_int,
    query_param,
)
from serpgate.engines.parameters import Alias, EngineParameters, choice, one_of
from serpgate.errors import BlockedError
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    Ad,
    OrganicResult,
    Pagination,
    RelatedSearch,
    SearchInformation,
    SerpData,
)

# DuckDuckGo's own region codes, country first, as its region menu lists them; where a country
# has several languages the first listed is the one a bare ``gl`` picks.
_REGIONS = (
    "ar-es au-en at-de be-fr be-nl br-pt bg-bg ca-en ca-fr ct-ca cl-es cn-zh co-es hr-hr cz-cs "
    "dk-da ee-et fi-fi fr-fr de-de gr-el hk-tzh hu-hu is-is in-en id-en ie-en il-en it-it jp-jp "
    "kr-kr lv-lv lt-lt my-en mx-es nl-nl nz-en no-no pk-en pe-es ph-en pl-pl pt-pt ro-ro ru-ru "
    "xa-ar sg-en sk-sk sl-sl za-en es-es es-ca se-sv ch-de ch-fr tw-tzh th-en tr-tr us-en us-es "
    "ua-uk uk-en vn-en"
).split()
# Where DuckDuckGo's country code is not the ISO one that ``gl`` carries.
_COUNTRY_ALIASES = {"gb": "uk", "sa": "xa", "si": "sl"}
_SAFE = {"active": "1", "off": "-2"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# A results page, empty or not: the no-JS page's #links, the JavaScript page's result list.
_RESULTS_CONTAINERS = (
    "#links, article[data-testid=result], [data-testid=mainline], ol.react-results--main"
)
# Where the older pages keep results and ads: #links, the ads above it, the sidebar.
_RESULT_BOXES = "#ads, #links, .results--sidebar"
BlockPosition = Literal["top", "bottom", "right"]
_SEARCH_BOXES = ("input#search_form_input_homepage", "input#search_form_input", "input[name=q]")
# DuckDuckGo's own "No results." (no-JS page) and "No results found for …" (JavaScript page).
_NO_RESULTS = ".no-results, .result--no-result, [data-testid=no-results-message]"
# DuckDuckGo unblocks an address after roughly an hour without requests from it.
_BLOCK_REST = 3600.0


def region(params: SearchParams) -> str:
    """The ``kl`` value for ``gl`` and ``hl``: a DuckDuckGo region, or ``wt-wt`` (no region)."""
    if not params.gl:
        return "wt-wt"
    country = _COUNTRY_ALIASES.get(params.gl, params.gl)
    candidates = [code for code in _REGIONS if code.startswith(f"{country}-")]
    if not candidates:
        return "wt-wt"
    language = (params.hl or "").split("-")[0]
    return next((code for code in candidates if code.endswith(f"-{language}")), candidates[0])


class DuckDuckGoEngine(Engine):
    name = "duckduckgo"
    default_base_url = "https://html.duckduckgo.com"
    # SerpApi's DuckDuckGo names: kl (region), df (date) and safe as 1 / -1 / -2; serpgate's
    # gl and hl pick the region when kl is absent, and safe takes active/off as elsewhere.
    parameters = EngineParameters(
        accepts=frozenset({"gl", "hl", "safe", "kl", "df"}),
        aliases={
            "safe": Alias(
                "safe",
                choice({"1": "active", "-1": None, "-2": "off", "active": "active", "off": "off"}),
                one_of("1", "-1", "-2", "active", "off"),
            )
        },
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        fields: dict[str, str | int] = {"q": params.q}
        if params.start:
            # What the "Next" form posts, bar the vqd token only a previous page can supply.
            fields.update(s=params.start, nextParams="", v="l", o="json", dc=params.start + 1)
            fields["api"] = "d.js"
        fields["kl"] = params.kl or region(params)
        if params.df:
            fields["df"] = params.df
        if params.safe:
            fields["kp"] = _SAFE[params.safe]
        headers = self.browser_headers(params)
        # The page sets ``Referrer-Policy: origin``; a browser's follow-up carries that referrer.
        headers["Referer"] = f"{self.base_url}/"
        return UpstreamRequest(url=f"{self.base_url}/html/?{urlencode(fields)}", headers=headers)

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        if _is_challenge(tree, html):
            raise BlockedError("duckduckgo answered its anomaly (bot) challenge", _BLOCK_REST)
        page = Recognition.of(
            self.name,
            results_page=tree.css_first(_RESULTS_CONTAINERS) is not None
            or echoes_query(tree, params.q, *_SEARCH_BOXES),
            no_results=tree.css_first(_NO_RESULTS) is not None,
        )
        organic: list[OrganicResult] = []
        ads: list[Ad] = []
        numbers: dict[str, int] = {}
        for card in self._cards(tree):
            if card.ad:
                # A sidebar ad stands right, one after the results below them.
                where: BlockPosition = "right" if card.sidebar else "bottom" if organic else "top"
                numbers[where] = numbers.get(where, 0) + 1
                ads.append(
                    Ad(
                        position=numbers[where],
                        block_position=where,
                        title=card.title,
                        link=card.link,
                        displayed_link=card.displayed_link,
                        description=card.snippet,
                    )
                )
                continue
            organic.append(
                OrganicResult(
                    position=params.start + len(organic) + 1,
                    title=card.title,
                    link=card.link,
                    displayed_link=card.displayed_link,
                    snippet=card.snippet,
                    date=card.date,
                )
            )
        shown = input_value(tree, *_SEARCH_BOXES)
        next_url = self._next_page(tree, params)
        return page.confirm(
            SerpData(
                search_information=SearchInformation(query_displayed=shown or None),
                ads=ads or None,
                organic_results=organic,
                related_searches=self._related_searches(tree) or None,
                pagination=Pagination(current=params.page, next=next_url) if next_url else None,
            )
        )

    def _cards(self, tree: LexborHTMLParser) -> list[_Card]:
        """The page's results and ads, from whichever of DuckDuckGo's layouts it is in."""
        cards: list[_Card] = []
        # The JavaScript page (2024-): one <article data-testid="result"> per result, in an
        # <li data-layout="organic"> (ads: data-layout="ad", article data-testid="ad").
        for article in tree.css("article[data-testid=result], article[data-testid=ad]"):
            anchor = article.css_first("a[data-testid=result-title-a]") or article.css_first(
                "h2 a[href]"
            )
            holder = article.parent
            ad = article.attributes.get("data-testid") == "ad" or (
                holder is not None and holder.attributes.get("data-layout") == "ad"
            )
            card = self._card(
                anchor,
                snippet=first_text(article, "[data-result=snippet]") or None,
                displayed=first_text(article, "a[data-testid=result-extras-url-link]") or None,
                ad=ad,
                date=None,
            )
            if card is not None:
                cards.append(card)
        if cards:
            return cards
        # The no-JavaScript page and the older JavaScript page: div.result in #links (and the
        # older page's ads in #ads above it).
        root = tree.root
        if root is None:
            return cards
        nodes = css_within(root, _RESULT_BOXES, "div.result") or root.css("div.result")
        for node in nodes:
            classes = (node.attributes.get("class") or "").split()
            if "result--no-result" in classes:
                continue
            card = self._card(
                node.css_first("a.result__a") or node.css_first("h2 a"),
                snippet=first_text(node, ".result__snippet") or None,
                displayed=first_text(node, ".result__url") or None,
                ad="result--ad" in classes,
                date=_date(node),
                sidebar=_in_sidebar(node),
            )
            if card is not None:
                cards.append(card)
        return cards

    def _card(
        self,
        anchor: LexborNode | None,
        *,
        snippet: str | None,
        displayed: str | None,
        ad: bool,
        date: str | None,
        sidebar: bool = False,
    ) -> _Card | None:
        if anchor is None:
            return None
        title = node_text(anchor)
        link = self._target(anchor.attributes.get("href") or "")
        if not title or not link:
            return None
        return _Card(title, link, displayed, snippet, date, ad, sidebar)

    def _related_searches(self, tree: LexborHTMLParser) -> list[RelatedSearch]:
        """The JavaScript page's "related searches" links (the no-JS page has none)."""
        found: list[RelatedSearch] = []
        for anchor in tree.css("[data-testid=related-searches] a[href]"):
            text = node_text(anchor)
            href = anchor.attributes.get("href") or ""
            if text and query_param(href, "q"):
                found.append(RelatedSearch(query=text, link=absolute_url(self.base_url, href)))
        return found

    def _target(self, href: str) -> str:
        """Where a result link leads: the ``uddg`` target of a redirect, or the href itself."""
        if "/l/" in href and (target := query_param(href, "uddg")):
            return target
        if href.startswith("//"):
            return f"https:{href}"
        return (absolute_url(self.base_url, href) or "") if href.startswith("/") else href

    def _next_page(self, tree: LexborHTMLParser, params: SearchParams) -> str | None:
        """The "Next" form as a GET URL; the "Previous" form looks alike but points back."""
        for form in tree.css("form"):
            fields = {
                name: field.attributes.get("value") or ""
                for field in form.css("input")
                if (name := field.attributes.get("name"))
                and field.attributes.get("type") not in ("submit", "button")
            }
            offset = parse_int(fields.get("s"))
            if "vqd" not in fields or offset is None or offset <= params.start:
                continue
            action = absolute_url(self.base_url, form.attributes.get("action") or "/html/")
            if action is not None:
                return f"{action}?{urlencode(fields)}"
        return None


@dataclass(frozen=True, slots=True)
class _Card:
    """One result or ad as any layout shows it."""

    title: str
    link: str
    displayed_link: str | None
    snippet: str | None
    date: str | None
    ad: bool
    sidebar: bool


def _in_sidebar(node: LexborNode) -> bool:
    ancestor = node.parent
    while ancestor is not None:
        if "results--sidebar" in (ancestor.attributes.get("class") or "").split():
            return True
        ancestor = ancestor.parent
    return False


def _date(node: LexborNode) -> str | None:
    """The day a result was published, shown beside its URL as ``2025-01-11T00:00:00.0000000``."""
    for span in node.css(".result__extras__url > span"):
        if "result__icon" in (span.attributes.get("class") or ""):
            continue
        match = _ISO_DAY.search(node_text(span))
        if match:
            return match.group(0)
    return None


def _is_challenge(tree: LexborHTMLParser, html: str) -> bool:
    if tree.css_first("form#challenge-form, .anomaly-modal__modal, .anomaly-modal__title"):
        return True
    return "bots use DuckDuckGo too" in html and tree.css_first("#links .result__a") is None

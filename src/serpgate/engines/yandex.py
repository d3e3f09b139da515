"""Yandex web search, read from the HTML page yandex.com/search/ answers a browser.

Upstream: ``GET /search/?text=…&p=…``, where ``p`` is the 0-based page number (SerpApi's ``p``
too), ``lr`` the numeric region the ranking is made for and ``lang`` the interface language;
``yandex_domain`` picks the site (yandex.com, yandex.ru, yandex.com.tr).
Every block of the page is an ``li.serp-item`` in ``#search-result``; a web result holds an
``.Organic`` card with its title link (``a.OrganicTitle-Link``, the ``h2`` inside it since
about 2023, around it in 2021), the green breadcrumb path (``.Path``), the text
(``.OrganicText`` / ``.text-container``) and perhaps a row of ``.Sitelinks``. The same card
with an ``AdvLabel`` ("Реклама", "Промо", "Ad") is an ad; other items (the neural answer,
images, videos, the legal notice) carry no organic title and are left out of the results.

Yandex answers suspected bots with its SmartCaptcha page ("Are you not a robot?", a checkbox
form posting to ``/checkcaptcha``), status 200; a query nothing matches with an
``EmptySearchResults`` card ("Ничего не нашли").
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
    with_query,
)
from serpgate.engines.parameters import Alias, EngineParameters, matching, times
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import WORDS, SearchParams
from serpgate.models.response import (
    Ad,
    AiOverview,
    AiOverviewReference,
    AiOverviewTextBlock,
    OrganicResult,
    Pagination,
    RelatedSearch,
    SearchInformation,
    SerpData,
    Sitelink,
    Sitelinks,
)

# SmartCaptcha and the older "showcaptcha" form: matched as elements, never as text.
_CAPTCHA = (
    "form[action*='checkcaptcha'], form[action*='showcaptcha'], [data-testid='checkbox-captcha'],"
    " .CheckboxCaptcha, .AdvancedCaptcha, .SmartCaptcha, iframe[src*='captcha']"
)
# A captcha for one exit lasts minutes at Yandex; asking again sooner prolongs it.
_CAPTCHA_REST_SECONDS = 600.0

_NOISE = "script, style, noscript, svg, .A11yHidden, .a11y-hidden"
_ORGANIC = ".Organic, .organic"
_NEURAL_ANSWER = "[data-fast-name='neuro_answer'], .FuturisSearch"
_ITEMS = ("#search-result > li.serp-item", "li.serp-item", ".serp-list > li")
# The title link, across layouts: the 2021 ``h2 > a``, the 2023+ ``a > h2``, then any link
# that wraps a heading.
_TITLE_LINKS = ("a.OrganicTitle-Link", ".OrganicTitle a[href]", ".organic__url", "h2 a[href]")
_SNIPPETS = (
    ".OrganicTextContentSpan",
    ".OrganicText",
    ".Organic-ContentWrapper",
    ".text-container",
    ".organic__content-wrapper",
)
_PATHS = (".Organic-Path", ".Path", ".organic__path", ".path")
# An ad's label, 2021 and now; one selector, so each card is walked once.
_AD_LABELS = ".AdvLabel, .OrganicAdvLabel, .label_theme_direct, .Label_theme_direct"
_NO_RESULTS_MARKERS = ".EmptySearchResults, .NotFound, .misspell__message_type_not-found"
# What Yandex writes when nothing matched, in its interface languages.
_NO_RESULTS_TEXT = re.compile(
    r"ничего не (?:нашли|нашлось|найдено)|nothing (?:was )?found|no results found"
    r"|sonuç bulunamadı",
    re.IGNORECASE,
)
_RELATED = (".related__item a[href]", ".RelatedBottom a[href]", "a.Related-Button[href]")
_SEPARATOR = re.compile(r"\s*›\s*")
# "12 million results found", "Нашлось 3 млн результатов", "2 тыс. результатов".
_COUNT = re.compile(
    r"(\d[\d\s.,\xa0]*)\s*(million|млн|milyon|thousand|тыс|bin|billion|млрд|milyar)?",
    re.IGNORECASE,
)
_SCALE = {
    "thousand": 10**3,
    "тыс": 10**3,
    "bin": 10**3,
    "million": 10**6,
    "млн": 10**6,
    "milyon": 10**6,
    "billion": 10**9,
    "млрд": 10**9,
    "milyar": 10**9,
}


class YandexEngine(Engine):
    name: ClassVar[str] = "yandex"
    default_base_url: ClassVar[str] = "https://yandex.com"
    # SerpApi's Yandex names: text (the query), lang (for hl), lr (a numeric region, 213 Moscow),
    # yandex_domain, and p, the 0-based page of ten results.
    parameters: ClassVar[EngineParameters] = EngineParameters(
        accepts=frozenset({"hl", "lr", "yandex_domain"}),
        aliases={
            "text": Alias("q", schema={"type": "string", "maxLength": 2048, "pattern": WORDS}),
            "lang": Alias("hl", schema={"type": "string", "pattern": "^[a-z]{2}$"}),
            "lr": Alias(
                "lr",
                matching("[0-9]{1,9}", "a Yandex region number, as 213"),
                {"type": "string", "pattern": "^[0-9]{1,9}$"},
            ),
            "p": Alias("start", times(10), {"type": "integer", "minimum": 0, "maximum": 100}),
        },
        refused={"rstr": "Yandex's region-strict switch is not mapped"},
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"text": params.q}
        if params.start:
            query["p"] = params.start // params.num
        if params.num != 10:
            # Yandex serves 10, 20, 30 or 50 results a page on request.
            query["numdoc"] = params.num
        if params.hl:
            query["lang"] = params.hl
        if params.lr:
            query["lr"] = params.lr
        return UpstreamRequest(
            url=with_query(f"{self.origin(params)}/search/", query),
            headers=self.browser_headers(params),
        )

    def origin(self, params: SearchParams) -> str:
        """Where the search goes: the ``yandex_domain`` asked for, unless a base URL other than
        Yandex's own was configured (a sandbox or a mirror), which always wins."""
        if params.yandex_domain and self.base_url == self.default_base_url:
            return f"https://{params.yandex_domain}"
        return self.base_url

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        root = tree.root
        if root is None:
            raise UnrecognizedPage("yandex answered an empty page")
        _raise_if_captcha(root)
        for noise in root.css(_NOISE):
            noise.decompose()
        items = css_any(root, *_ITEMS)
        page = Recognition.of(
            self.name,
            results_page=bool(items)
            or root.css_first("#search-result") is not None
            or echoes_query(root, params.q, "input[name='text']", "textarea[name='text']"),
            # The no-results words are read only on a page without items: a whole result
            # column's text costs more than the rest of the parse.
            no_results=_says_no_results(root, read_text=not items),
        )
        organic: list[OrganicResult] = []
        ads: list[Ad] = []
        # Web results and ads are ``Organic`` cards; the wizards between them (videos, images,
        # a company's card, the neural answer) are other blocks, some with a linked heading of
        # their own. Only a page without any Organic card (a layout not seen yet) is read by its
        # headings alone.
        cards_only = any(item.css_first(_ORGANIC) is not None for item in items)
        for item in items:
            if cards_only and item.css_first(_ORGANIC) is None:
                continue
            card = self._card(item)
            if card is None:
                continue
            title, link, anchor = card
            if _is_ad(item):
                ads.append(
                    Ad(
                        position=len(ads) + 1,
                        block_position="bottom" if organic else "top",
                        title=title,
                        link=link,
                        displayed_link=_displayed_link(item) or None,
                        description=first_text(item, *_SNIPPETS) or None,
                    )
                )
                continue
            organic.append(
                OrganicResult(
                    position=params.start + len(organic) + 1,
                    title=title,
                    link=link,
                    displayed_link=_displayed_link(item) or None,
                    snippet=first_text(item, *_SNIPPETS) or None,
                    sitelinks=self._sitelinks(item, anchor),
                )
            )
        information = SearchInformation(
            total_results=_total_results(first_text(root, ".serp-adv__found")),
            query_displayed=input_value(root, "input[name='text']", "textarea[name='text']")
            or params.q,
        )
        return page.confirm(
            SerpData(
                search_information=information,
                ai_overview=self._ai_overview(root),
                ads=ads or None,
                organic_results=organic,
                related_searches=self._related(root) or None,
                pagination=self._pagination(root, params),
            )
        )

    def _absolute(self, href: str | None) -> str | None:
        return absolute_url(self.base_url, href)

    def _card(self, item: LexborNode) -> tuple[str, str, LexborNode] | None:
        """The item's title, link and title anchor, or None for an item that is no web card."""
        for selector in _TITLE_LINKS:
            anchor = item.css_first(selector)
            if anchor is None:
                continue
            title = node_text(anchor.css_first("h2") or anchor.css_first(".OrganicTitle-LinkText"))
            title = title or node_text(anchor)
            link = self._absolute(anchor.attributes.get("href"))
            if title and link:
                return title, link, anchor
        heading = item.css_first("h2")
        ancestor = heading.parent if heading is not None else None
        while ancestor is not None and ancestor != item:
            if ancestor.tag == "a":
                link = self._absolute(ancestor.attributes.get("href"))
                title = node_text(heading)
                if link and title:
                    return title, link, ancestor
            ancestor = ancestor.parent
        return None

    def _ai_overview(self, root: LexborNode) -> AiOverview | None:
        """Yandex's neural answer ("Алиса AI", 2025+): its Markdown rendered as headings,
        paragraphs and lists, and the sources listed under it. Footnote links inside the
        text name a source's host and are left out of the text; code blocks are left out."""
        answer = root.css_first(_NEURAL_ANSWER)
        body = answer.css_first(".FuturisMarkdown") if answer is not None else None
        if answer is None or body is None:
            return None
        for footnote in body.css(".FuturisFootnote"):
            footnote.decompose()
        blocks = _ai_text_blocks(body)
        references = self._ai_references(answer)
        if not blocks:
            return None
        return AiOverview(text_blocks=blocks, references=references or None)

    def _ai_references(self, answer: LexborNode) -> list[AiOverviewReference]:
        """The sources listed under the neural answer, each named by its host."""
        references: list[AiOverviewReference] = []
        for anchor in answer.css(".FuturisGPTMessage-SourcesItem a[href]"):
            link = self._absolute(anchor.attributes.get("href"))
            host = first_text(anchor, ".FuturisSource-Host") or node_text(anchor)
            if link and host:
                references.append(
                    AiOverviewReference(index=len(references), title=host, link=link, source=host)
                )
        return references

    def _sitelinks(self, item: LexborNode, title: LexborNode) -> Sitelinks | None:
        found: list[Sitelink] = []
        seen = {title.mem_id}
        # The box first, then its links: a descendant selector walks every link's ancestors.
        box = item.css_first(".Sitelinks, .sitelinks")
        for anchor in box.css("a[href]") if box is not None else []:
            name = node_text(anchor)
            link = self._absolute(anchor.attributes.get("href"))
            if name and link and anchor.mem_id not in seen:
                seen.add(anchor.mem_id)
                found.append(Sitelink(title=name, link=link))
        return Sitelinks(inline=found) if found else None

    def _related(self, root: LexborNode) -> list[RelatedSearch]:
        related: list[RelatedSearch] = []
        seen: set[str] = set()
        for anchor in css_any(root, *_RELATED):
            href = anchor.attributes.get("href") or ""
            text = first_text(anchor, ".Related-ButtonText") or node_text(anchor)
            text = text or clean(query_param(href, "text"))
            if not text or text.casefold() in seen:
                continue
            seen.add(text.casefold())
            related.append(RelatedSearch(query=text, link=self._absolute(href)))
        return related

    def _pagination(self, root: LexborNode, params: SearchParams) -> Pagination | None:
        """Pages by the 0-based ``p`` each pager link carries, whatever its label says (the
        2026 pager labels its pages from 0, the 2021 one from 1)."""
        pager = css_any(root, ".Pager", ".pager", "nav[aria-labelledby='Pager']")
        if not pager:
            return None
        current = params.page
        other_pages: dict[str, str] = {}
        next_link: str | None = None
        for anchor in pager[0].css("a[href]"):
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


def _raise_if_captcha(root: LexborNode) -> None:
    if root.css_first(_CAPTCHA) is not None:
        heading = first_text(root, "h1", "title")
        detail = f' ("{heading}")' if heading else ""
        raise BlockedError(
            f"Yandex answered its captcha{detail} instead of results",
            retry_after=_CAPTCHA_REST_SECONDS,
        )


def _says_no_results(root: LexborNode, *, read_text: bool) -> bool:
    if root.css_first(_NO_RESULTS_MARKERS) is not None:
        return True
    if not read_text:
        return False
    main = root.css_first("#search-result") or root.css_first(".content__left")
    return main is not None and bool(_NO_RESULTS_TEXT.search(node_text(main)))


def _is_ad(item: LexborNode) -> bool:
    if item.attributes.get("data-fast-name") == "direct":
        return True
    return item.css_first(_AD_LABELS) is not None


def _displayed_link(item: LexborNode) -> str:
    """The breadcrumb as Yandex shows it, "host › path", whatever spaces the markup kept."""
    path = first_text(item, *_PATHS)
    return _SEPARATOR.sub(" › ", path).strip(" ›")


def _total_results(text: str) -> int | None:
    match = _COUNT.search(text)
    if match is None:
        return None
    digits = re.sub(r"\D", "", match.group(1))
    if not digits or len(digits) > 15:
        return None
    scale = _SCALE.get((match.group(2) or "").lower(), 1)
    return int(digits) * scale


def _ai_text_blocks(body: LexborNode) -> list[AiOverviewTextBlock]:
    """The neural answer's Markdown as SerpApi's text blocks: headings, paragraphs, lists."""
    blocks: list[AiOverviewTextBlock] = []
    for node in body.iter():
        classes = node.attributes.get("class") or ""
        if node.tag in ("h2", "h3", "h4"):
            if text := node_text(node):
                blocks.append(AiOverviewTextBlock(type="heading", snippet=text))
        elif "FuturisMarkdown-Paragraph" in classes:
            if text := node_text(node):
                blocks.append(AiOverviewTextBlock(type="paragraph", snippet=text))
        elif node.tag in ("ul", "ol"):
            items = [text for li in node.css("li") if (text := node_text(li))]
            if items:
                blocks.append(AiOverviewTextBlock(type="list", list=items))
    return blocks

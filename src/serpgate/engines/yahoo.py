"""Yahoo Search (search.yahoo.com): Bing's index in Yahoo's own, long-lived markup.

Organic results are ``div.algo-sr`` blocks (older pages: ``div.algo``) holding a ``compTitle``
(anchor, site name, breadcrumb, ``h3`` title) and a ``compText`` snippet that opens with the
page's date ("Mar 13, 2026 · ") when Yahoo knows it. Served to an HTTP client, every result link
is a click-tracking redirect, ``r.search.yahoo.com/_ylt=…/RU=<percent-encoded target>/RK=…/RS=…``,
which is unwrapped to the target here; pages saved from a browser already show the target.

Paging is by result: ``b`` is the 1-based rank of the first result and ``pz`` the page size.
Language and SafeSearch are preferences Yahoo keeps in its ``sB`` cookie. Yahoo's refusals are a
GDPR consent wall (a form posting to ``consent.yahoo.com``), the bare "error 999" rate-limit page,
and now and then a CAPTCHA; none of them holds results.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlencode

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
    parse_count,
    parse_int,
    query_param,
    split_leading_date,
    split_marked_date,
    with_query,
)
from serpgate.engines.parameters import (
    ONE_BASED,
    Alias,
    EngineParameters,
    choice,
    one_based,
    one_of,
)
from serpgate.errors import BlockedError
from serpgate.models.params import WORDS, SearchParams
from serpgate.models.response import (
    AnswerBox,
    OrganicResult,
    Pagination,
    RelatedQuestion,
    RelatedSearch,
    SearchInformation,
    SerpData,
    Sitelinks,
)

# Yahoo's 999 ban is per address and outlasts minutes of silence; a consent wall is about where
# the request comes from, so resting the exit does not lift it.
RATE_LIMIT_BACKOFF = 600.0

_RESULTS = ("div.algo-sr", "#web div.algo", "div.algo")
# A breadcrumb, not a site name: "https://www.w3schools.com › Js", "www.example.com/path".
_BREADCRUMB = re.compile(r"^(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?(?:\s›.*)?$")
# What follows the date Yahoo opens a snippet with: "Mar 13, 2026 · ", "2 days ago · ".
_DATE_SEPARATOR = "·"
# Yahoo tells the two Chinese scripts apart; every other language is its bare code.
_CHINESE = {
    "zh": "zh_chs",
    "zh-cn": "zh_chs",
    "zh-sg": "zh_chs",
    "zh-tw": "zh_cht",
    "zh-hk": "zh_cht",
}
_TOTAL = re.compile(r"^(?:about\s+)?\d[\d,.\s]*\s+(?:search\s+)?results?$", re.IGNORECASE)
# Ads link through Bing's or Yahoo's click servers, never to the advertiser.
_AD_LINKS = ("https://www.bing.com/aclick", "https://r.search.yahoo.com/cbclk")
# The results column of a results page, which an empty one has too.
_RESULTS_CONTAINERS = "#web, #results .searchCenterMiddle, ol.searchCenterMiddle"
_SEARCH_BOXES = ("input#yschsp", 'input[name="p"]')
# Yahoo's own "We did not find results for: …", standing where the results would.
_NO_RESULTS = ".zrp, .dd.zrp"
_BLOCK_MARKERS = (
    "error 999",
    "unable to process request",
    "unusual traffic",
    "not a robot",
    "captcha",
)


def _language(value: str) -> str | None:
    """Yahoo's ``vl=lang_fr`` as serpgate's ``hl=fr``."""
    language = value.removeprefix("lang_")
    if language == value or not language.isalpha() or not 2 <= len(language) <= 3:
        raise ValueError("must be lang_ and a language code, as lang_fr")
    return language.lower()


class YahooEngine(Engine):
    name = "yahoo"
    default_base_url = "https://search.yahoo.com"
    # SerpApi's Yahoo names: p (the query), b (1-based offset), vl (lang_xx) and vm (r/i/p).
    parameters = EngineParameters(
        accepts=frozenset({"hl", "safe"}),
        aliases={
            "p": Alias("q", schema={"type": "string", "maxLength": 2048, "pattern": WORDS}),
            "b": Alias("start", one_based, ONE_BASED),
            "vl": Alias("hl", _language, {"type": "string", "pattern": "^lang_[a-z]{2,3}$"}),
            "vm": Alias(
                "safe", choice({"r": "active", "i": None, "p": "off"}), one_of("r", "i", "p")
            ),
        },
        refused={
            "yahoo_domain": "the search goes to the configured Yahoo base URL",
            "vc": "Yahoo's country restriction is not mapped",
            "vs": "Yahoo's site-domain restriction is not mapped",
        },
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"p": params.q, "b": params.start + 1, "pz": params.num}
        preferences: dict[str, str] = {"v": "1"}
        if params.hl:
            language = _CHINESE.get(params.hl, params.hl.split("-")[0])
            # The advanced-search form sends the language in the URL as well.
            query["vl"] = preferences["vl"] = f"lang_{language}"
        if params.safe is not None:
            preferences["vm"] = "r" if params.safe == "active" else "p"
        headers = self.browser_headers(params)
        headers["Cookie"] = f"sB={urlencode(preferences)}"
        return UpstreamRequest(url=with_query(f"{self.base_url}/search", query), headers=headers)

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        organic = _organic(tree, params.start)
        if not organic:
            _raise_if_blocked(tree, html, params.q)
        page = Recognition.of(
            self.name,
            results_page=bool(organic)
            or tree.css_first(_RESULTS_CONTAINERS) is not None
            or echoes_query(tree, params.q, *_SEARCH_BOXES),
            no_results=tree.css_first(_NO_RESULTS) is not None,
        )
        shown = input_value(tree, *_SEARCH_BOXES)
        information = SearchInformation(total_results=_total(tree), query_displayed=shown or None)
        return page.confirm(
            SerpData(
                search_information=information,
                organic_results=organic,
                answer_box=_dictionary(tree),
                related_questions=_related_questions(tree) or None,
                related_searches=self._related_searches(tree) or None,
                pagination=self._pagination(tree, params.page) if organic else None,
            )
        )

    def _related_searches(self, tree: LexborHTMLParser) -> list[RelatedSearch]:
        # The same suggestions can show twice (below the results and in the right rail).
        seen: dict[str, RelatedSearch] = {}
        for anchor in tree.css('[class*="AlsoTry"] a[href]'):
            href = anchor.attributes.get("href") or ""
            # The label is cut short ("javascript tutorial... for geeks"); the link is not.
            query = clean(query_param(href, "p")) or node_text(anchor)
            link = self._absolute(href)
            if query and link and query not in seen:
                seen[query] = RelatedSearch(query=query, link=link)
        return list(seen.values())

    def _pagination(self, tree: LexborHTMLParser, current: int) -> Pagination | None:
        box = tree.css_first(".compPagination")
        if box is None:
            return None
        shown = parse_int(node_text(box.css_first(".pages strong")))
        pages = {
            str(number): link
            for anchor in box.css(".pages a[href]")
            if (number := parse_int(node_text(anchor))) is not None
            and (link := self._absolute(anchor.attributes.get("href")))
        }
        next_anchor = box.css_first("a.next[href]")
        return Pagination(
            current=shown if shown is not None else current,
            next=self._absolute(next_anchor.attributes.get("href")) if next_anchor else None,
            other_pages=pages or None,
        )

    def _absolute(self, href: str | None) -> str | None:
        return absolute_url(self.base_url, href)


def unwrap(href: str) -> str:
    """The target of a Yahoo click-tracking link (``…/RU=<encoded>/RK=…``), else ``href``."""
    start = href.find("/RU=")
    if start < 0:
        return href
    target = href[start + 4 :]
    for end_marker in ("/RK=", "/RS="):
        end = target.find(end_marker)
        if end >= 0:
            target = target[:end]
    return unquote(target)


def _organic(tree: LexborHTMLParser, start: int) -> list[OrganicResult]:
    # Positions run on across pages: the first result of a page is number start + 1.
    results: list[OrganicResult] = []
    for node in css_any(tree, *_RESULTS):
        anchor = (
            node.css_first(".compTitle a[href]")
            or node.css_first("h3 a[href]")
            or node.css_first("a[href]")
        )
        if anchor is None:
            continue
        link = unwrap(anchor.attributes.get("href") or "")
        if not link.startswith(("http://", "https://")) or link.startswith(_AD_LINKS):
            continue
        title = _title(node, anchor)
        if not title:
            continue
        snippet, date = _snippet(node)
        results.append(
            OrganicResult(
                position=start + len(results) + 1,
                title=title,
                link=link,
                displayed_link=_displayed_link(node),
                snippet=snippet or None,
                date=date,
                sitelinks=_sitelinks(node),
            )
        )
    return results


def _title(node: LexborNode, anchor: LexborNode) -> str:
    # Older pages put the breadcrumb inside the title anchor and the clean title in aria-label.
    label = clean(anchor.attributes.get("aria-label"))
    if label:
        return label
    heading = node.css_first(".compTitle h3") or node.css_first("h3")
    if heading is None:
        return node_text(anchor)
    text = node_text(heading)
    for crumb in heading.css(".p-abs, .fz-ms"):
        prefix = node_text(crumb)
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :].strip()
    return text


def _displayed_link(node: LexborNode) -> str | None:
    # The breadcrumb shares its element with the site name ("W3School" + "https://…"), so only
    # the element's own text is read.
    for candidate in css_within(node, ".compTitle", "span, cite"):
        text = clean(candidate.text(deep=False))
        if _BREADCRUMB.match(text):
            return text
    return None


def _snippet(node: LexborNode) -> tuple[str, str | None]:
    """The snippet and the date Yahoo prefixes to it, apart."""
    found = node.css_first(".compText p") or node.css_first(".compText")
    text = node_text(found)
    if found is None:
        return "", None
    date, text = split_marked_date(text, node_text(found.css_first(".fc-smoke")), _DATE_SEPARATOR)
    if date is None:
        date, text = split_leading_date(text, _DATE_SEPARATOR)
    return text, date


def _sitelinks(node: LexborNode) -> Sitelinks | None:
    return expanded_sitelinks(css_within(node, ".compList", "li"), "p", resolve=unwrap)


def _related_questions(tree: LexborHTMLParser) -> list[RelatedQuestion]:
    questions = []
    for item in tree.css('[class*="relqa"] .itm'):
        question = first_text(item, ".ttl")
        if not question:
            continue
        source = item.css_first(".exp h3 a[href]")
        questions.append(
            RelatedQuestion(
                question=question,
                snippet=first_text(item, ".exp .compTextList", ".exp .compText") or None,
                title=node_text(source) or None,
                link=unwrap(source.attributes.get("href") or "") if source is not None else None,
                displayed_link=first_text(item, ".exp .cite") or None,
            )
        )
    return questions


def _total(tree: LexborHTMLParser) -> int | None:
    for span in tree.css(".compPagination span, #web .compTitle span"):
        text = node_text(span)
        if _TOTAL.match(text):
            return parse_count(text)
    return None


def _dictionary(tree: LexborHTMLParser) -> AnswerBox | None:
    """The dictionary card Yahoo shows for a word: its spelling in syllables as the title, the
    first sense as the answer, pronunciation and part of speech as the snippet."""
    card = tree.css_first(".sys_dictionary, [class*='sys_dictionary']")
    if card is None:
        return None
    # The card's own heading ("Dictionary") comes first, then its search box, then the word.
    titles = [node_text(node) for node in card.css(".compTitle .title")]
    word = next((t for t in titles[1:] if t and not t.startswith("/")), "")
    phonetic = next((t for t in titles if t.startswith("/")), "")
    sense = card.css_first(".compTextList li span.fw-500 + span, .compTextList li span.d-b")
    answer = node_text(sense).rstrip(": ") if sense is not None else ""
    kind = first_text(card, ".compText span.fs-i", ".compText p")
    if not word or not answer:
        return None
    return AnswerBox(
        type="dictionary_results",
        title=word,
        answer=answer,
        snippet=" ".join(part for part in (phonetic, kind) if part) or None,
    )


def _raise_if_blocked(tree: LexborHTMLParser, html: str, query: str) -> None:
    """Tell Yahoo's refusals apart from an honest empty page."""
    consent = tree.css_first(
        '#consent-page, form.consent-form, form[action*="collectConsent"], '
        'form[action*="consent.yahoo.com"], button[name="agree"]'
    )
    if consent is not None:
        raise BlockedError("Yahoo answered its consent wall")
    if looks_blocked(tree, html, query, _BLOCK_MARKERS):
        raise BlockedError("Yahoo refused the request", retry_after=RATE_LIMIT_BACKOFF)

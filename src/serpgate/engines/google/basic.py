"""Google's basic no-JavaScript page, which plain HTTP clients got until January 2025.

Every block of the page is a card, ``div.Gx5Zad`` since 2022 and ``div.ZINbbc`` before: a result
has its linked ``a > h3`` title (``div.BNeawe`` text) in the first ``div.kCrYT`` (``div.egMi0``
since 2022) and its snippet in the next one; all links go through Google's ``/url?q=`` redirect.
A card whose heading links back to ``/search?q=…`` ("See results about") is Google's own
suggestion, never a result. On the news tab (``tbm=nws``) the same cards are news items whose
snippet starts with their age ("10 hours ago · …") and whose site name sits under the title.
Ads, where the page has them, are cards whose link goes through ``/aclk`` and whose landing
page is the redirect's ``adurl``. The knowledge panel is a card of ``div.AVsepf`` facts
("Founders: Larry Page and Sergey Brin"), related searches a card of ``/search?q=`` links, and
the next page a "Next >" link in the footer. There are no result statistics on this page. The
map pack is a card of ``div.X7NTVe`` entries linking to Google Maps, each a name and the same
"4.5 (1,234) · Coffee shop" and address lines as the full page's pack.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text, query_param, url_path
from serpgate.engines.google.features import related_query
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.engines.google.local import place_from_lines
from serpgate.engines.google.navigation import pagination, search_information
from serpgate.engines.google.recognition import BASIC_CARDS
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    Ad,
    KnowledgeGraph,
    KnowledgeGraphSource,
    LocalPlace,
    LocalResults,
    NewsResult,
    OrganicResult,
    RelatedQuestion,
    RelatedSearch,
    SerpData,
    Sitelink,
    Sitelinks,
)

_DATE_SEPARATOR = "·"
_VERTICAL_PARAMS = ("tbm", "udm", "tbs", "start")
_AD_PATHS = ("/aclk", "/pagead/aclk")
# One place of the map pack, and one entity of "See results about", are ``div.X7NTVe`` entries.
_PLACE_ENTRY = "div.X7NTVe"
# "People also ask": each question (``div.cREFlf``) is followed by its answer (``div.M56Nqc``).
_QUESTION = "div.cREFlf"


def parse_basic(tree: LexborHTMLParser, links: Links, params: SearchParams) -> SerpData:
    organic: list[OrganicResult] = []
    ads: list[Ad] = []
    related: list[RelatedSearch] = []
    knowledge: KnowledgeGraph | None = None
    questions: list[RelatedQuestion] = []
    local: LocalResults | None = None
    # Cards nested in a "People also ask" card are its answers, not blocks of their own.
    consumed: set[int] = set()
    for card in tree.css(BASIC_CARDS):
        if card.mem_id in consumed:
            continue
        if "display:none" in (card.attributes.get("style") or "").replace(" ", ""):
            continue
        if card.css_first(_QUESTION) is not None:
            consumed.update(inner.mem_id for inner in card.css(BASIC_CARDS))
            questions.extend(_questions(card, links))
            continue
        if local is None and (local := _local_pack(card, links)) is not None:
            continue
        ad = _ad(card, links, len(ads) + 1, after_results=bool(organic))
        if ad is not None:
            ads.append(ad)
            continue
        heading = card.css_first("a[href] h3")
        if heading is not None:
            result = _result(card, heading, links, params.start + len(organic) + 1)
            if result is not None:
                organic.append(result)
        elif card.css_first(".AVsepf") is not None:
            knowledge = knowledge or _knowledge(card, links)
        else:
            related.extend(_related(card, links))
    news = [_news(result) for result in organic] if params.vertical == "nws" else []
    return SerpData(
        search_information=search_information(tree, empty=not (organic or knowledge or local)),
        ads=ads or None,
        knowledge_graph=knowledge,
        local_results=local,
        organic_results=[] if news else organic,
        news_results=news or None,
        related_questions=questions or None,
        related_searches=related or None,
        pagination=pagination(tree, links, params),
    )


def _ad(card: LexborNode, links: Links, position: int, *, after_results: bool) -> Ad | None:
    """An ad card: its title link goes through ``/aclk``, the landing page in ``adurl``."""
    anchor = next(
        (
            node
            for node in card.css("a[href]")
            if url_path(links.absolute(node.attributes.get("href")) or "").endswith(_AD_PATHS)
        ),
        None,
    )
    if anchor is None:
        return None
    tracking = links.absolute(anchor.attributes.get("href"))
    title = node_text(anchor.css_first("h3, [role='heading'], div.BNeawe"))
    if not tracking or not title:
        return None
    landing = query_param(tracking, "adurl")
    shown = card.css_first(".UPmit, .sCuL3, cite")
    # The description is in the card's block that does not hold the ad's link.
    around = set()
    node: LexborNode | None = anchor
    while node is not None and node.mem_id != card.mem_id:
        around.add(node.mem_id)
        node = node.parent
    body = next((block for block in card.css("div.kCrYT") if block.mem_id not in around), None)
    return Ad(
        position=position,
        block_position="bottom" if after_results else "top",
        title=title,
        link=landing if landing and landing.startswith("http") else tracking,
        tracking_link=tracking,
        displayed_link=node_text(shown) or None,
        description=node_text(body) or None,
    )


def _local_pack(card: LexborNode, links: Links) -> LocalResults | None:
    """The map pack: one ``div.X7NTVe`` entry per place whose link opens Google Maps, the name
    in a heading and the "4.5 (1,234) · Coffee shop" / address lines in ``div.tAd8D``."""
    places: list[LocalPlace] = []
    more = None
    for entry in card.css(_PLACE_ENTRY):
        anchor = entry.css_first("a[href]")
        href = links.absolute(anchor.attributes.get("href")) if anchor is not None else None
        if href is None or not _is_maps(href):
            continue
        name = node_text(entry.css_first("h3, [role='heading'], div.deIvCb"))
        if not name:
            continue
        lines = [text for line in entry.css("div.tAd8D") if (text := node_text(line))]
        places.append(place_from_lines(len(places) + 1, name, lines))
    for anchor in card.css("a[href]"):
        href = links.absolute(anchor.attributes.get("href"))
        if href is not None and query_param(href, "tbm") == "lcl":
            more = href
    return LocalResults(places=places, more_locations_link=more) if places else None


def _is_maps(url: str) -> bool:
    return "/maps" in url_path(url) or "maps.google." in url


def _questions(card: LexborNode, links: Links) -> list[RelatedQuestion]:
    found: list[RelatedQuestion] = []
    for node in card.css(_QUESTION):
        question = node_text(node)
        if not question:
            continue
        answer = _next_element(node)
        if answer is None or "M56Nqc" not in _classes(answer):
            found.append(RelatedQuestion(question=question))
            continue
        source = next(
            (
                anchor
                for anchor in answer.css("a[href]")
                if not url_path(links.absolute(anchor.attributes.get("href")) or "").endswith(
                    "/search"
                )
            ),
            None,
        )
        title = source.css_first(".vvjwJb") if source is not None else None
        snippet = answer.css_first("div.kCrYT")
        found.append(
            RelatedQuestion(
                question=question,
                snippet=node_text(snippet) or None,
                title=node_text(title) or None,
                link=links.target(source.attributes.get("href")) if source is not None else None,
                displayed_link=node_text(answer.css_first(".UPmit")) or None,
            )
        )
    return found


def _news(result: OrganicResult) -> NewsResult:
    # On the news tab the shown "link" is the publisher's name, the snippet's date its age.
    return NewsResult(
        position=result.position,
        title=result.title,
        link=result.link,
        source=result.displayed_link,
        date=result.date,
        snippet=result.snippet,
    )


def _result(
    card: LexborNode, heading: LexborNode, links: Links, position: int
) -> OrganicResult | None:
    anchor = enclosing_anchor(heading)
    link = links.target(anchor.attributes.get("href")) if anchor is not None else None
    title = node_text(heading)
    if anchor is None or not link or not title or url_path(link).endswith("/search"):
        return None
    # The snippet's block is the first ``div.kCrYT`` that does not hold the title.
    body = next(
        (
            node
            for node in card.css("div.kCrYT")
            if "egMi0" not in _classes(node) and node.css_first("h3") is None
        ),
        None,
    )
    snippet = date = None
    inline: list[Sitelink] = []
    if body is not None:
        snippet, date = _snippet(body)
        for sitelink in body.css("a[href]"):
            target = links.target(sitelink.attributes.get("href"))
            label = node_text(sitelink)
            if target and label:
                inline.append(Sitelink(title=label, link=target))
    return OrganicResult(
        position=position,
        title=title,
        link=link,
        displayed_link=node_text(card.css_first(".sCuL3, .UPmit")) or None,
        snippet=snippet,
        date=date,
        sitelinks=Sitelinks(inline=inline) if inline else None,
    )


def _snippet(body: LexborNode) -> tuple[str | None, str | None]:
    """The innermost text block without links, and the "Mar 27, 2023 · " date leading it."""
    for node in body.css("div.s3v9rd"):
        # A node's css() includes the node itself: only other matches are nested ones.
        if any(inner.mem_id != node.mem_id for inner in node.css("div.s3v9rd, a")):
            continue
        text = node_text(node)
        if not text:
            continue
        lead = node.css_first("span")
        prefix = node_text(lead)
        rest = text[len(prefix) :].lstrip() if prefix and text.startswith(prefix) else ""
        if prefix and any(ch.isdigit() for ch in prefix) and rest.startswith(_DATE_SEPARATOR):
            return rest[len(_DATE_SEPARATOR) :].strip() or None, prefix.rstrip(" ·")
        return text, None
    return None, None


def _knowledge(card: LexborNode, links: Links) -> KnowledgeGraph | None:
    heading = card.css_first("h3")
    title = node_text(heading)
    if heading is None or not title:
        return None
    # "Technology company · google.com" follows the title, the site linked.
    line = _next_element(heading.parent)
    kind = node_text(line).split(_DATE_SEPARATOR)[0].strip() if line is not None else ""
    website = line.css_first("a[href]") if line is not None else None
    description = None
    source = None
    for block in card.css("div.kCrYT"):
        if "vbShOe" in _classes(block) or block.css_first("h3") is not None:
            continue
        quote = block.css_first("div.s3v9rd div.s3v9rd") or block
        link = quote.css_first("a[href]")
        text = node_text(quote)
        name = node_text(link)
        if link is not None and name and text.endswith(name):
            text = text[: -len(name)].strip()
            source = KnowledgeGraphSource(name=name, link=links.target(link.attributes["href"]))
        description = text or None
        break
    facts: dict[str, str] = {}
    for fact in card.css(".AVsepf"):
        label, _, value = node_text(fact).partition(":")
        key = "_".join(label.lower().split())
        if key and value.strip():
            facts.setdefault(key, value.strip())
    return KnowledgeGraph(
        title=title,
        type=kind or None,
        website=links.target(website.attributes.get("href")) if website is not None else None,
        description=description,
        source=source,
        attributes=facts or None,
    )


def _classes(node: LexborNode) -> list[str]:
    return (node.attributes.get("class") or "").split()


def _next_element(node: LexborNode | None) -> LexborNode | None:
    sibling = node.next if node is not None else None
    while sibling is not None and sibling.tag == "-text":
        sibling = sibling.next
    return sibling


def _related(card: LexborNode, links: Links) -> list[RelatedSearch]:
    found: list[RelatedSearch] = []
    for anchor in card.css("a[href]"):
        link = links.absolute(anchor.attributes.get("href"))
        if link is None or not url_path(link).endswith("/search"):
            continue
        # The tab bar (Images, News, …) and the tools link to /search too, with a vertical.
        if any(query_param(link, name) is not None for name in _VERTICAL_PARAMS):
            continue
        query = related_query(node_text(anchor), query_param(link, "q"))
        if query:
            found.append(RelatedSearch(query=query, link=link))
    return found

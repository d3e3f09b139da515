"""Google's basic no-JavaScript page, which plain HTTP clients got until January 2025.

Every block of the page is a ``div.Gx5Zad`` card: a result has its linked ``a > h3`` title
(``div.BNeawe`` text) in ``div.egMi0`` and its snippet in the next ``div.kCrYT``; all links go
through Google's ``/url?q=`` redirect. The knowledge panel is a card of ``div.AVsepf`` facts
("Founders: Larry Page and Sergey Brin"), related searches a card of ``/search?q=`` links, and
the next page a "Next >" link in the footer. There are no result statistics on this page.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text, query_param, url_path
from serpgate.engines.google.features import related_query
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.engines.google.navigation import pagination, search_information
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    KnowledgeGraph,
    KnowledgeGraphSource,
    OrganicResult,
    RelatedSearch,
    SerpData,
    Sitelink,
    Sitelinks,
)

_DATE_SEPARATOR = "·"
_VERTICAL_PARAMS = ("tbm", "udm", "tbs", "start")


def parse_basic(tree: LexborHTMLParser, links: Links, params: SearchParams) -> SerpData:
    organic: list[OrganicResult] = []
    related: list[RelatedSearch] = []
    knowledge: KnowledgeGraph | None = None
    for card in tree.css("div.Gx5Zad"):
        heading = card.css_first("a[href] h3")
        if heading is not None:
            result = _result(card, heading, links, params.start + len(organic) + 1)
            if result is not None:
                organic.append(result)
        elif card.css_first(".AVsepf") is not None:
            knowledge = knowledge or _knowledge(card, links)
        else:
            related.extend(_related(card, links))
    return SerpData(
        search_information=search_information(tree, empty=not (organic or knowledge)),
        knowledge_graph=knowledge,
        organic_results=organic,
        related_searches=related or None,
        pagination=pagination(tree, links, params),
    )


def _result(
    card: LexborNode, heading: LexborNode, links: Links, position: int
) -> OrganicResult | None:
    anchor = enclosing_anchor(heading)
    link = links.target(anchor.attributes.get("href")) if anchor is not None else None
    title = node_text(heading)
    if not link or not title:
        return None
    body = next((node for node in card.css("div.kCrYT") if "egMi0" not in _classes(node)), None)
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

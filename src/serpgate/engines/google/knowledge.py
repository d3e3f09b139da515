"""Google's own answers: the knowledge panel and the answer box above the results.

The knowledge panel (``#rhs`` on desktop, inline on mobile) has been described by
``data-attrid`` attributes since 2017, which is what this reads: ``title``, ``subtitle``,
``description`` (``.kno-rdesc``, with its source link), ``visit_official_site``, and one
``kc:/…``, ``hw:/…``, ``ss:/…`` or ``ok:/…`` block per fact, each a label (``.w8qArf``) and a
value (``.LrzXr``/``.kno-fv``).

The answer box is whichever of these the page has: a calculator (``#cwos``), the weather card
(``#wob_wc``), or a featured snippet, Google's quote of one page (``[data-attrid=
"wa:/description"]`` / ``span.hgKElc``, ``span.e24Kjd`` in 2019, with the page's own title,
``a > h3`` on desktop and ``h3 > a`` on mobile, and a bold
``.Z0LcW`` short answer when there is one). A featured snippet's page is not repeated among the
organic results, so its block is handed back for the organic reader to skip.

The panel's lists ("Artworks", "Cast") are read by ``carousels`` and join it under their names.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text
from serpgate.engines.google.carousels import carousels
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.models.response import AnswerBox, KnowledgeGraph, KnowledgeGraphSource

_PANEL_IDS = frozenset({"rhs", "center_col", "main"})
_PANEL_CLASSES = frozenset({"kp-wholepage", "kp-blk"})
# The panel's title: ``[data-attrid=title]`` since 2020, ``.kno-ecr-pt`` (its subtitle the next
# element) in 2019.
_TITLE = "[data-attrid='title'], .kno-ecr-pt"
_FACT_PREFIXES = ("kc:/", "hw:/", "ss:/", "ok:/")
_KEY = re.compile(r"[^\w]+")
_SNIPPET = "[data-attrid='wa:/description'], span.hgKElc, span.e24Kjd"
# The quoted page's title: ``a > h3`` on desktop, ``h3 > a`` / ``[role=heading] > a`` on mobile.
_SNIPPET_TITLE = "a[href] h3, h3 a[href], [role='heading'] a[href], a[href] [role='heading']"
_SHORT_ANSWER = ".Z0LcW, [data-tts='answers'], .IZ6rdc"
# How far above a featured snippet's text to look for the block that marks what it belongs to.
_SNIPPET_DEPTH = 30


def knowledge_graph(tree: LexborHTMLParser, links: Links) -> KnowledgeGraph | None:
    """The panel with the page's entity lists (its carousels) beside its fields; the lists
    alone when a top carousel comes without a panel."""
    panel = _panel_graph(tree, links)
    lists = carousels(tree, links)
    if not lists:
        return panel
    fields = panel.model_dump(exclude_none=True) if panel is not None else {}
    return KnowledgeGraph.model_validate({**fields, **lists})


def _panel_graph(tree: LexborHTMLParser, links: Links) -> KnowledgeGraph | None:
    heading = tree.css_first(_TITLE)
    panel = _panel(heading)
    if heading is None or panel is None:
        return None
    title = node_text(heading)
    if not title:
        return None
    subtitle = panel.css_first("[data-attrid='subtitle']")
    if subtitle is None and "kno-ecr-pt" in (heading.attributes.get("class") or "").split():
        subtitle = _next_element(heading)
    # A product's "subtitle" is its star rating and review count, not what it is.
    if subtitle is not None and subtitle.css_first("[role='img'][aria-label]") is not None:
        subtitle = None
    website = panel.css_first("a[data-attrid='visit_official_site'][href]")
    description = panel.css_first(
        ".kno-rdesc > span, .kno-rdesc > div > span, [data-attrid='description'] span"
    )
    source = panel.css_first(".kno-rdesc a[href]")
    source_name = node_text(source)
    return KnowledgeGraph(
        title=title,
        type=node_text(subtitle) or None,
        description=node_text(description) or None,
        website=links.target(website.attributes.get("href")) if website is not None else None,
        source=(
            KnowledgeGraphSource(
                name=source_name,
                link=links.target(source.attributes.get("href")) if source is not None else None,
            )
            if source_name
            else None
        ),
        attributes=_facts(panel) or None,
    )


def _next_element(node: LexborNode) -> LexborNode | None:
    sibling = node.next
    while sibling is not None and sibling.tag == "-text":
        sibling = sibling.next
    return sibling


def _panel(title: LexborNode | None) -> LexborNode | None:
    """The panel around the title: ``#rhs``, a ``kp-`` block or the main column (mobile puts
    the panel among the results)."""
    node = title.parent if title is not None else None
    while node is not None:
        attributes = node.attributes
        classes = (attributes.get("class") or "").split()
        if attributes.get("id") in _PANEL_IDS or _PANEL_CLASSES.intersection(classes):
            return node
        node = node.parent
    return None


def _facts(panel: LexborNode) -> dict[str, str]:
    facts: dict[str, str] = {}
    for block in panel.css("[data-attrid]"):
        if not (block.attributes.get("data-attrid") or "").startswith(_FACT_PREFIXES):
            continue
        label = node_text(block.css_first(".w8qArf"))
        value_node = block.css_first(".LrzXr, .kno-fv")
        value = node_text(value_node)
        key = _KEY.sub("_", label.lower()).strip("_")
        if not key or not value or key in facts:
            continue
        # The "MORE" link that ends long lists is a button, not part of the value.
        more = node_text(value_node.css_first(".SW5pqf")) if value_node is not None else ""
        if more and value.endswith(more):
            value = value[: -len(more)].rstrip(" ,")
        facts[key] = value
    return facts


def answer_box(
    page: LexborNode, center: LexborNode, links: Links
) -> tuple[AnswerBox | None, frozenset[int]]:
    """The answer box, and the ``mem_id`` of its block for the organic reader to skip.

    Featured snippets are looked for in the whole ``page``: some layouts put them above
    ``#center_col`` (``#Odp5De``, 2023-2026) rather than in it; the other cards sit in
    ``center``.
    """
    card = center.css_first("#cwos, #wob_wc")
    if card is not None and card.attributes.get("id") == "cwos":
        return AnswerBox(type="calculator_result", answer=node_text(card)), frozenset()
    if card is not None:
        return (
            AnswerBox(
                type="weather_result",
                title=node_text(card.css_first("#wob_loc")) or None,
                answer=node_text(card.css_first("#wob_tm")) or None,
                snippet=node_text(card.css_first("#wob_dc")) or None,
            ),
            frozenset(),
        )
    for quote in page.css(_SNIPPET):
        block = _snippet_block(quote)
        if block is not None:
            return _featured_snippet(block, quote, links), frozenset({block.mem_id})
    short = center.css_first(_SHORT_ANSWER)
    if short is not None and (answer := node_text(short)):
        return AnswerBox(type="organic_result", answer=answer), frozenset()
    return None, frozenset()


def _snippet_block(quote: LexborNode) -> LexborNode | None:
    """The block of a featured snippet: the nearest ancestor that also holds a linked title.

    None when the quote belongs to a "People also ask" answer or the knowledge panel.
    """
    node = quote.parent
    block = None
    for _ in range(_SNIPPET_DEPTH):
        if node is None:
            return None
        attributes = node.attributes
        classes = (attributes.get("class") or "").split()
        if "related-question-pair" in classes or "data-initq" in attributes:
            return None
        if attributes.get("id") == "rhs":
            return None
        if attributes.get("id") in ("rso", "center_col", "main"):
            break
        if block is None and node.css_first(_SNIPPET_TITLE) is not None:
            block = node
        node = node.parent
    return block


def _featured_snippet(block: LexborNode, quote: LexborNode, links: Links) -> AnswerBox:
    heading = block.css_first(_SNIPPET_TITLE)
    anchor = heading if heading is not None and heading.tag == "a" else enclosing_anchor(heading)
    if anchor is None and heading is not None:
        anchor = heading.css_first("a[href]")
    return AnswerBox(
        type="organic_result",
        title=node_text(heading) or None,
        answer=node_text(block.css_first(_SHORT_ANSWER)) or None,
        snippet=node_text(quote) or None,
        link=links.target(anchor.attributes.get("href")) if anchor is not None else None,
        displayed_link=node_text(block.css_first("cite")) or None,
    )

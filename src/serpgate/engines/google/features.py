"""The blocks of a full Google page around the organic results: top stories, "People also
ask" and related searches.

Each block is found by the anchor that has outlived Google's class renames, with the class
names of the captured years as fallbacks:

- top stories: news cards ``a.WlydOe`` whose ``[role=heading]`` title sits between the source
  (before it) and the age (after it).
- People also ask: ``.related-question-pair[data-q]`` inside ``[data-initq]``; the answers are
  fetched when a question is opened, so a static page holds them only sometimes.
- related searches: links back to ``/search?q=…`` in ``#bres`` (``a.k8XOCe`` in 2023,
  ``a.ngTNl`` in 2026), read as shown, the link's own query standing in where the shown text
  lost its spaces.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text, query_param, url_path
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.models.response import (
    RelatedQuestion,
    RelatedSearch,
    TopStory,
)

_TOP_STORY_CARDS = "a.WlydOe, g-section-with-header a[href]:has([role='heading'][aria-level='4'])"


def top_stories(root: LexborNode, links: Links) -> list[TopStory] | None:
    stories: list[TopStory] = []
    seen: set[str] = set()
    for card in root.css(_TOP_STORY_CARDS):
        heading = card.css_first("[role='heading']")
        link = links.target(card.attributes.get("href"))
        title = node_text(heading)
        if heading is None or not link or not title or link in seen:
            continue
        seen.add(link)
        stories.append(
            TopStory(
                title=title,
                link=link,
                source=_sibling_text(heading, backwards=True),
                date=_sibling_text(heading, backwards=False),
            )
        )
    return stories or None


def _sibling_text(node: LexborNode, *, backwards: bool) -> str | None:
    """The source before a news card's title, or its age as the last line after it."""
    texts: list[str] = []
    sibling = node.prev if backwards else node.next
    while sibling is not None:
        if sibling.tag != "-text" and (text := node_text(sibling)):
            texts.append(text)
            if backwards:
                break
        sibling = sibling.prev if backwards else sibling.next
    return texts[-1] if texts else None


def related_questions(root: LexborNode, links: Links) -> list[RelatedQuestion] | None:
    pairs = root.css(".related-question-pair") or root.css("[data-initq] [data-q]")
    questions: list[RelatedQuestion] = []
    for pair in pairs:
        question = (pair.attributes.get("data-q") or "").strip() or node_text(
            pair.css_first("[role='button']")
        )
        if not question:
            continue
        source = pair.css_first("a[href] h3")
        anchor = enclosing_anchor(source)
        snippet = pair.css_first("[data-attrid='wa:/description'], .hgKElc")
        questions.append(
            RelatedQuestion(
                question=question,
                snippet=node_text(snippet) or None,
                title=node_text(source) or None,
                link=links.target(anchor.attributes.get("href")) if anchor is not None else None,
                displayed_link=node_text(pair.css_first("cite")) or None,
            )
        )
    return questions or None


def related_searches(tree: LexborHTMLParser, links: Links) -> list[RelatedSearch] | None:
    found: list[RelatedSearch] = []
    seen: set[str] = set()
    box = tree.css_first("#bres")
    # Selector groups match once per selector, so one selector at a time keeps links unique.
    anchors = box.css("a[href]") if box is not None else tree.css("a.k8XOCe[href]")
    for anchor in anchors:
        link = links.absolute(anchor.attributes.get("href"))
        if link is None or anchor.attributes.get("role") == "button":
            continue
        if not url_path(link).endswith("/search"):
            continue
        if query_param(link, "start") is not None or query_param(link, "tbm") is not None:
            continue
        query = related_query(node_text(anchor), query_param(link, "q"))
        if not query or query in seen:
            continue
        seen.add(query)
        found.append(RelatedSearch(query=query, link=link))
    return found or None


def related_query(shown: str, asked: str | None) -> str:
    """The query as the page shows it ("coffee near me", while the link says "Coffee near me").

    The link's own query wins only where the shown text lost its spaces (DOM snapshots drop the
    white space between "Fetch" and a bolded "<b>mode</b>"), or where nothing is shown.
    """
    asked = " ".join((asked or "").split())
    if not shown:
        return asked
    if asked and shown.replace(" ", "").lower() == asked.replace(" ", "").lower():
        return asked if asked.count(" ") > shown.count(" ") else shown
    return shown

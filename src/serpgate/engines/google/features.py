"""The blocks of a full Google page around the organic results: top stories, "People also
ask" and related searches.

Each block is found by the anchor that has outlived Google's class renames, with the class
names of the captured years as fallbacks:

- top stories: news cards ``a.WlydOe`` (2021-2026) or links in ``g-inner-card`` (2019) whose
  ``[role=heading]`` title sits between the source (before it; a ``cite`` after it in 2019)
  and the age (after it); cards with a duration are videos, not stories.
- People also ask: ``.related-question-pair[data-q]`` inside ``[data-initq]``; the answers are
  fetched when a question is opened, so a static page holds them only sometimes.
- related searches: links back to ``/search?q=…`` in ``#bres`` (``a.k8XOCe`` in 2023,
  ``a.ngTNl`` in 2026), read as shown, the link's own query standing in where the shown text
  lost its spaces.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text, query_param, url_path
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.models.response import (
    RelatedQuestion,
    RelatedSearch,
    TopStory,
)

_TOP_STORY_CARDS = (
    "a.WlydOe, g-section-with-header a[href]:has([role='heading'][aria-level='4']), "
    "g-inner-card a[href]:has([role='heading'])"
)
_LONGEST_AGE = 40
_NUMERIC_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
# A recipe card's "1 hr" or "5 min" is how long it takes, not how old it is.
_COOKING_TIME = re.compile(r"^\d+(\s*\d+)?\s*(hr|hrs|h|min|mins|m)$", re.IGNORECASE)
_CARD_DEPTH = 4
# A video card's thumbnail carries its duration; a news card never does.
_DURATION = re.compile(r"^(?:\d{1,2}:)?\d{1,2}:\d{2}$")


def top_stories(root: LexborNode, links: Links) -> list[TopStory] | None:
    stories: list[TopStory] = []
    seen: set[str] = set()
    for card in root.css(_TOP_STORY_CARDS):
        heading = card.css_first("[role='heading']")
        link = links.target(card.attributes.get("href"))
        title = node_text(heading)
        if heading is None or not link or not title or link in seen:
            continue
        if url_path(link).endswith("/search") or _is_video(card):
            continue
        source, date = _source_and_age(_card_of(card), heading)
        # Other carousels of cards (recipes, products) have no age; a news card always has.
        if date is None and "WlydOe" not in (card.attributes.get("class") or "").split():
            continue
        seen.add(link)
        stories.append(TopStory(title=title, link=link, source=source, date=date))
    return stories or None


def _card_of(anchor: LexborNode) -> LexborNode:
    """The whole card of a news link: in 2019 the publisher and age sit beside the link."""
    node = anchor.parent
    for _ in range(_CARD_DEPTH):
        if node is None:
            break
        if node.tag == "g-inner-card":
            return node
        node = node.parent
    return anchor


def _leaves(node: LexborNode) -> list[str]:
    # A lone "." is the pause Google writes for screen readers between a card's lines.
    return [
        text
        for child in node.traverse(include_text=True)
        if child.tag == "-text"
        and (text := " ".join((child.text_content or "").split()))
        and text != "."
    ]


def _source_and_age(card: LexborNode, heading: LexborNode) -> tuple[str | None, str | None]:
    """The publisher (before the title since 2021, a ``cite`` after it in 2019) and the age
    (the last dated line after the title)."""
    leaves = _leaves(card)
    titled = _leaves(heading)
    start = leaves.index(titled[0]) if titled and titled[0] in leaves else 0
    before = leaves[:start]
    after = leaves[start + len(titled) :]
    source = before[-1] if before else node_text(card.css_first("cite")) or None
    dated = [
        text for text in after if text != source and len(text) <= _LONGEST_AGE and _is_age(text)
    ]
    return source, dated[-1] if dated else None


def _is_age(text: str) -> bool:
    """ "3 days ago", "Mar 19, 2019", "2025/05/09"; not a rating "4.3", a count "(35)" or a
    recipe's "1 hr"."""
    if not any(ch.isdigit() for ch in text) or _COOKING_TIME.match(text):
        return False
    return any(ch.isalpha() for ch in text) or _NUMERIC_DATE.match(text) is not None


def _is_video(card: LexborNode) -> bool:
    return any(_DURATION.match(text) for text in _leaves(card))


def related_questions(root: LexborNode, links: Links) -> list[RelatedQuestion] | None:
    pairs = root.css(".related-question-pair") or root.css("[data-initq] [data-q]")
    questions: list[RelatedQuestion] = []
    for pair in pairs:
        # The question: ``data-q`` since 2020; the tab's text (``[role=tab]``) in 2019.
        question = (pair.attributes.get("data-q") or "").strip() or node_text(
            pair.css_first("[role='button'], [role='tab']")
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
    # ``#brs`` until 2020 (beside or inside ``#bres``, which then may hold only the knowledge
    # panel's entities), ``#bres`` since. Links in both are read once each.
    boxes = tree.css("#bres, #brs")
    unique = {anchor.mem_id: anchor for box in boxes for anchor in box.css("a[href]")}
    anchors = list(unique.values()) if unique else tree.css("a.k8XOCe[href]")
    for anchor in anchors:
        link = links.absolute(anchor.attributes.get("href"))
        if link is None or anchor.attributes.get("role") == "button":
            continue
        if not url_path(link).endswith("/search"):
            continue
        # Pages, tabs, and the knowledge panel's entities ("stick=", "View 15+ more") are not
        # related searches.
        if any(query_param(link, name) is not None for name in ("start", "tbm", "stick")):
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

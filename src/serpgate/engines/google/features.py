"""The blocks of a full Google page around the organic results: ads, the local pack, top
stories, "People also ask" and related searches.

Each block is found by the anchor that has outlived Google's class renames, with the class
names of the captured years as fallbacks:

- ads: ``#tads`` above and ``#tadsb``/``#bottomads`` below the results, one
  ``[data-text-ad]`` per ad (2019-2026), title in ``[role=heading]``, advertiser URL in
  ``data-pcu`` (the href is Google's click tracker), shown URL in ``span[role=text]``.
- local pack: one ``.rllt__details`` per place (2018-2026): a ``[role=heading]`` name, then
  lines "4.4 (71) · $$ · Coffee shop", "1594 Market St · …", "Open ⋅ Closes 6 PM".
- top stories: news cards ``a.WlydOe`` whose ``[role=heading]`` title sits between the source
  (before it) and the age (after it).
- People also ask: ``.related-question-pair[data-q]`` inside ``[data-initq]``; the answers are
  fetched when a question is opened, so a static page holds them only sometimes.
- related searches: links back to ``/search?q=…`` in ``#bres`` (``a.k8XOCe`` in 2023,
  ``a.ngTNl`` in 2026), read as shown, the link's own query standing in where the shown text
  lost its spaces.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text, parse_int, query_param, url_path
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.models.response import (
    Ad,
    LocalPlace,
    LocalResults,
    RelatedQuestion,
    RelatedSearch,
    TopStory,
)

_AD_BLOCKS = (("top", "#tads"), ("bottom", "#tadsb"), ("bottom", "#bottomads"))
_AD_DESCRIPTION = (".Va3FIb", ".p4wth", ".MUxGbd.yDYNvb", "[data-sncf]", ".yDYNvb")

_PLACE_SEPARATOR = re.compile(r"\s*[·⋅]\s*")
_RATING = re.compile(r"^(\d[.,]\d)")
_REVIEWS = re.compile(r"\(([\d.,\s\u202f]+)([KkMm]?)\)")
# An abbreviated count, "1.2" or "12" of "(1.2K)"; anything else in the parentheses is no count.
_SCALED = re.compile(r"\d{1,4}(?:[.,]\d{1,3})?")
_PRICE = re.compile(r"^[$€£¥₹]+(?:\s*[-–]\s*[$€£¥₹]*\d+)?$|^[$€£¥₹]?\d+\s*[-–]\s*[$€£¥₹]?\d+")
_HOURS = re.compile(r"^(open|closed|opens|closes|hours|24 hours)\b", re.IGNORECASE)

_TOP_STORY_CARDS = "a.WlydOe, g-section-with-header a[href]:has([role='heading'][aria-level='4'])"


def ads(tree: LexborHTMLParser, links: Links) -> list[Ad] | None:
    found: list[Ad] = []
    # #tadsb sits inside #bottomads on some pages and beside it on others.
    seen: set[int] = set()
    for block_position, selector in _AD_BLOCKS:
        block = tree.css_first(selector)
        if block is None:
            continue
        for item in block.css("[data-text-ad]") or block.css(".uEierd"):
            if item.mem_id in seen:
                continue
            seen.add(item.mem_id)
            ad = _ad(item, links, block_position, len(found) + 1)
            if ad is not None:
                found.append(ad)
    return found or None


def _ad(item: LexborNode, links: Links, block_position: str, position: int) -> Ad | None:
    heading = item.css_first("[role='heading']") or item.css_first("h3")
    anchor = item.css_first("a[data-pcu]") or item.css_first("a[href]")
    if heading is None or anchor is None:
        return None
    link = anchor.attributes.get("data-pcu") or links.target(anchor.attributes.get("href"))
    title = node_text(heading)
    if not link or not title:
        return None
    shown = item.css_first("span[role='text']") or item.css_first("cite")
    description = None
    for selector in _AD_DESCRIPTION:
        node = item.css_first(selector)
        if node is not None and (text := node_text(node)) and text != title:
            description = text
            break
    return Ad(
        position=position,
        block_position="top" if block_position == "top" else "bottom",
        title=title,
        link=link.split(",")[0].strip(),
        displayed_link=node_text(shown) or None,
        description=description,
    )


def local_results(root: LexborNode, links: Links) -> LocalResults | None:
    places = [
        place
        for index, details in enumerate(root.css(".rllt__details"))
        if (place := _place(details, index + 1)) is not None
    ]
    if not places:
        return None
    return LocalResults(places=places, more_locations_link=_more_places(root, links))


def _place(details: LexborNode, position: int) -> LocalPlace | None:
    """One place: its name, then a category line, an address line and maybe an hours line."""
    heading = details.css_first("[role='heading']")
    title = node_text(heading)
    if not title:
        return None
    lines = [
        text
        for child in details.iter(include_text=False)
        if child.attributes.get("role") != "heading" and (text := node_text(child))
    ]
    hours = next((line for line in lines if _HOURS.match(line)), None)
    lines = [line for line in lines if line != hours]
    category = _PLACE_SEPARATOR.split(lines[0]) if lines else []
    rating = _RATING.match(lines[0]) if lines else None
    # "4.1 (30) · $$ · Coffee shop": the kind of place is the last part that is not the
    # rating or the price; "No reviews · Coffee shop" has no rating.
    kinds = [part for part in category if part and not _RATING.match(part)]
    kinds = [part for part in kinds if not _PRICE.match(part)]
    address = _PLACE_SEPARATOR.split(lines[1])[0] if len(lines) > 1 else None
    return LocalPlace(
        position=position,
        title=title,
        rating=float(rating.group(1).replace(",", ".")) if rating else None,
        reviews=_reviews(lines[0]) if rating else None,
        type=kinds[-1] if kinds else None,
        address=address or None,
        hours=hours,
    )


def _reviews(line: str) -> int | None:
    """The review count of "4.4 (71)" or "4.5(1.2K)"."""
    match = _REVIEWS.search(line)
    if match is None:
        return None
    number = re.sub(r"[\s\u202f]", "", match.group(1))
    scale = {"k": 1_000, "m": 1_000_000}.get(match.group(2).lower(), 1)
    if scale == 1:
        return parse_int(re.sub(r"\D", "", number))
    if not _SCALED.fullmatch(number):
        return None
    return round(float(number.replace(",", ".")) * scale)


def _more_places(root: LexborNode, links: Links) -> str | None:
    more = root.css_first("g-more-link a[href]")
    if more is None:
        candidates = root.css("a[href*='tbm=lcl']")
        more = candidates[-1] if candidates else None
    return links.absolute(more.attributes.get("href")) if more is not None else None


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

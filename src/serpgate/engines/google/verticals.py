"""Google's tabs on the full page: News (``tbm=nws``), Images (``tbm=isch``/``udm=2``) and
Videos (``tbm=vid``/``udm=7``).

- News: one card per story, a link around a ``[role=heading]`` title (``a.WlydOe`` in 2021-2025,
  under ``[data-news-doc-id]``), the publisher's name before the title, the snippet and the age
  after it; the card order is the rank.
- Images: one tile per image; since 2024 ``div[data-lpage]``, the attribute holding the page
  the image is on, the image's own alt text its title and the site's name in the tile's link;
  before, ``div.isv-r`` tiles whose outbound link is the page. The full-size image's address
  lives only in the page's scripts and is not read.
- Videos: the tab's results are web results (``a > h3`` in ``#rso``) with a video's extras: a
  duration ("48:14") on the thumbnail and a "YouTube · channel · date" line.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text
from serpgate.engines.google.links import Links
from serpgate.models.response import ImageResult, NewsResult, OrganicResult, VideoResult

_NEWS_CARDS = "a.WlydOe, [data-news-doc-id] a[href]:has([role='heading'])"
_IMAGE_TILES = "[data-lpage], div.isv-r"
_DURATION = re.compile(r"^(?:\d{1,2}:)?\d{1,2}:\d{2}$")
_META_SEPARATOR = re.compile(r"\s*·\s*")


def news_results(tree: LexborHTMLParser, links: Links, offset: int) -> list[NewsResult]:
    root = tree.css_first("#rso") or tree.css_first("#search") or tree.body
    if root is None:
        return []
    found: list[NewsResult] = []
    seen: set[str] = set()
    for card in root.css(_NEWS_CARDS):
        heading = card.css_first("[role='heading']")
        link = links.target(card.attributes.get("href"))
        title = node_text(heading)
        if heading is None or not link or not title or link in seen:
            continue
        seen.add(link)
        after = _texts_after(heading)
        found.append(
            NewsResult(
                position=offset + len(found) + 1,
                title=title,
                link=link,
                source=_text_before(heading),
                snippet=after[0] if len(after) > 1 else None,
                date=after[-1] if after else None,
            )
        )
    return found


def _text_before(node: LexborNode) -> str | None:
    sibling = node.prev
    while sibling is not None:
        if sibling.tag != "-text" and (text := node_text(sibling)):
            return text
        sibling = sibling.prev
    return None


def _texts_after(node: LexborNode) -> list[str]:
    texts: list[str] = []
    sibling = node.next
    while sibling is not None:
        # A lone "." is the screen-reader pause Google puts between snippet and age.
        if sibling.tag != "-text" and (text := node_text(sibling)) and text != ".":
            texts.append(text)
        sibling = sibling.next
    return texts


def images_results(tree: LexborHTMLParser, links: Links, offset: int) -> list[ImageResult]:
    found: list[ImageResult] = []
    for tile in tree.css(_IMAGE_TILES):
        outbound = next(
            (
                anchor
                for anchor in tile.css("a[href]")
                if (href := anchor.attributes.get("href")) and href.startswith("http")
            ),
            None,
        )
        link = tile.attributes.get("data-lpage") or (
            links.target(outbound.attributes.get("href")) if outbound is not None else None
        )
        image = tile.css_first("img[alt]")
        title = (
            (image.attributes.get("alt") or "").strip() if image is not None else ""
        ) or node_text(tile.css_first("h3, [role='heading']"))
        if outbound is not None and not title:
            title = node_text(outbound.css_first("div:last-child"))
        if not link or not title:
            continue
        source = outbound.css_first("span") if outbound is not None else None
        found.append(
            ImageResult(
                position=offset + len(found) + 1,
                title=title,
                link=link,
                source=node_text(source) or None,
            )
        )
    return found


def video_results(tree: LexborHTMLParser, organic: list[OrganicResult]) -> list[VideoResult]:
    """The Videos tab's results: its web results with their duration and video line."""
    extras = _video_extras(tree)
    found: list[VideoResult] = []
    for result in organic:
        duration, channel, date = extras.get(result.link, (None, None, None))
        found.append(
            VideoResult(
                position=result.position,
                title=result.title,
                link=result.link,
                displayed_link=result.displayed_link,
                snippet=result.snippet,
                duration=duration,
                date=date or result.date,
                channel=channel,
            )
        )
    return found


def _video_extras(
    tree: LexborHTMLParser,
) -> dict[str, tuple[str | None, str | None, str | None]]:
    """By video link: the duration, the channel and the date of each ``[data-vid]`` card."""
    extras: dict[str, tuple[str | None, str | None, str | None]] = {}
    for card in tree.css("[data-vid]"):
        link = card.attributes.get("data-curl") or card.attributes.get("data-surl")
        if not link:
            anchor = card.css_first("a[href]")
            link = anchor.attributes.get("href") if anchor is not None else None
        if not link:
            continue
        duration = next(
            (text for span in card.css("span") if _DURATION.match(text := node_text(span))),
            None,
        )
        channel = date = None
        for line in card.css("div"):
            spans = [node_text(span) for span in line.iter(include_text=False)]
            if len(spans) >= 3 and "·" in spans:
                parts = [part for part in spans if part and part != "·"]
                # "YouTube · channel · date": the platform, who posted it, and when.
                channel = parts[1] if len(parts) > 2 else None
                date = parts[-1] if len(parts) > 1 else None
                break
        extras[link] = (duration, channel, date)
    return extras

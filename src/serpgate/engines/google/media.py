"""The video carousel and the image pack of a full Google page.

Video cards have been marked three ways: ``g-inner-card`` in a ``g-scrolling-carousel``
(2019-2021), ``[data-vid]`` blocks (2023-2026) and bare links holding a ``[role=heading]``
(2025). What they share, and what tells them from news or cast cards, is a duration on the
thumbnail ("4:59"). A card reads, in some order: the duration, the title (in the heading), the
platform and the channel ("YouTube · Fermilab", or "Madeline Gallardo / YouTube" in 2020) and
the date ("2016/01/15", "- May 7, 2018"). A video whose link holds an ``h3`` is a web result,
not a carousel card, and stays among the organic results.

The image pack (``#iur``, later a block of ``[data-lpage]`` tiles) holds thumbnails whose
``data-lpage`` is the page each image is on and whose ``alt`` text is its title.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from serpgate.engines.base import node_text
from serpgate.engines.google.links import Links
from serpgate.models.response import InlineImage, InlineVideo

_VIDEO_CARDS = "[data-vid], g-inner-card, a[href]:has([role='heading'])"
_DURATION = re.compile(r"^(?:\d{1,2}:)?\d{1,2}:\d{2}$")
_SHORTEST_DATE = 6
# "28 minutes, 50 seconds", "1 minute, 12 seconds": the duration for screen readers.
_SPOKEN_DURATION = re.compile(r"\d+\s+\w+,\s*\d+\s+\w+$")
_SEPARATORS = frozenset({"·", "•", "-", "–", "/"})
# How far above a card's link to look for the card's other lines.
_CARD_DEPTH = 4
# How far above a link to look for the card that already marks it as one.
_MARKED_DEPTH = 12
_IMAGE_TILES = "[data-lpage]"


def video_cards(main: LexborNode) -> list[LexborNode]:
    """The nodes of the video cards in ``main``, for the organic reader to skip."""
    cards: list[LexborNode] = []
    seen: set[int] = set()
    for node in main.css(_VIDEO_CARDS):
        if node.css_first("h3") is not None:
            continue
        card = _card(node)
        if card is None or card.mem_id in seen or not _duration(card):
            continue
        seen.add(card.mem_id)
        cards.append(card)
    return cards


def inline_videos(cards: list[LexborNode], links: Links) -> list[InlineVideo] | None:
    found: list[InlineVideo] = []
    seen: set[str] = set()
    for card in cards:
        anchors = [card] if card.tag == "a" else card.css("a[href]")
        # The first link that leads somewhere: 2024 cards start with a "#" play button.
        link = next(
            (url for anchor in anchors if (url := links.target(anchor.attributes.get("href")))),
            None,
        )
        heading = card.css_first("[role='heading']")
        title = _first_leaf(heading) if heading is not None else ""
        if not link or not title or link in seen:
            continue
        seen.add(link)
        lines = [text for text in _leaves(card) if text not in _SEPARATORS]
        duration = _duration(card)
        rest = [text for text in lines if text not in (title, duration)]
        platform, channel = _platform_and_channel(card, rest)
        # The first dated line after the title: "2016/01/15", "- May 7, 2018", "2 weeks ago"
        # (not "6" of "6 key moments", nor the spoken duration "28 minutes, 50 seconds").
        dated = [
            text.lstrip("-– ")
            for text in rest
            if any(ch.isdigit() for ch in text)
            and len(text) >= _SHORTEST_DATE
            and not _SPOKEN_DURATION.search(text)
        ]
        found.append(
            InlineVideo(
                position=len(found) + 1,
                title=title,
                link=link,
                platform=platform,
                channel=channel,
                duration=duration,
                date=dated[0] if dated else None,
            )
        )
    return found or None


def _card(node: LexborNode) -> LexborNode | None:
    """The block around one video link: a ``[data-vid]`` block or a ``g-inner-card`` itself;
    around a bare link (2025), the largest ancestor whose links all lead where it does."""
    if node.tag != "a":
        return node
    if _in_marked_card(node):
        return None  # read with the card around it
    href = node.attributes.get("href")
    card = node
    for _ in range(_CARD_DEPTH):
        parent = card.parent
        if parent is None or parent.tag in ("g-scrolling-carousel", "body"):
            break
        if any(other.attributes.get("href") != href for other in parent.css("a[href]")):
            break
        card = parent
    return card


def _in_marked_card(node: LexborNode) -> bool:
    parent = node.parent
    for _ in range(_MARKED_DEPTH):
        if parent is None:
            return False
        if parent.tag == "g-inner-card" or "data-vid" in parent.attributes:
            return True
        parent = parent.parent
    return False


def _leaves(node: LexborNode) -> list[str]:
    return [
        text
        for child in node.traverse(include_text=True)
        if child.tag == "-text" and (text := " ".join((child.text_content or "").split()))
    ]


def _first_leaf(node: LexborNode) -> str:
    leaves = _leaves(node)
    return leaves[0] if leaves else ""


def _duration(card: LexborNode) -> str | None:
    return next((text for text in _leaves(card) if _DURATION.match(text)), None)


def _platform_and_channel(card: LexborNode, rest: list[str]) -> tuple[str | None, str | None]:
    cite = card.css_first("cite")
    platform = node_text(cite) or None
    leaves = _leaves(card)
    # "YouTube · Fermilab": the channel follows the platform and a separator.
    for index, text in enumerate(leaves[:-2]):
        if leaves[index + 1] in _SEPARATORS and not any(ch.isdigit() for ch in leaves[index + 2]):
            return platform or text, leaves[index + 2]
    # 2020: "Madeline Gallardo" then "YouTube" then "- May 7, 2018".
    undated = [text for text in rest if not any(ch.isdigit() for ch in text)]
    if len(undated) >= 2:
        return platform or undated[1], undated[0]
    return platform or (undated[0] if undated else None), None


def inline_images(main: LexborNode, links: Links) -> list[InlineImage] | None:
    found: list[InlineImage] = []
    for tile in main.css(_IMAGE_TILES):
        image = tile.css_first("img[alt]")
        anchor = tile.css_first("a[href]")
        source = tile.attributes.get("data-lpage")
        title = (image.attributes.get("alt") or "").strip() if image is not None else ""
        # 2019 packs point every tile at the images tab, not at the image's page.
        if not source or not source.startswith(("http://", "https://")):
            continue
        found.append(
            InlineImage(
                title=title or None,
                link=links.absolute(anchor.attributes.get("href")) if anchor is not None else None,
                source=source,
            )
        )
    return found or None

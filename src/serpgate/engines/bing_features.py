"""Bing's blocks beside the organic results: ads and "People also ask".

Ads are ``li.b_ad`` blocks: above the results, below them (``b_adBottom``, or any ad block after
the first organic result) and in the right rail (``#b_context``). Each ad (``.sb_add``, else a
list item) has an ``h2 > a`` title whose href is Bing's ad click tracker
``/aclick?ld=…&u=<base64>``; ``u`` carries the landing page (base64 of the URL, itself
percent-encoded in older years, behind an ``a1`` marker in newer ones). The tracker is kept as
``tracking_link`` and the landing page becomes ``link``, as SerpApi shapes Bing ads. An ad's own
links are its sitelinks: rows with a heading and lines of text are ``expanded``, bare links (and
the one-line ``ad_fls`` offers) ``inline``.

A "Videos of …" answer holds video cards, each a link to Bing's video page for it: the
2021 cards (``a.mc_vtvc_link``) and the 2019 ones (``a.vt11b``) carry title, duration, platform,
channel and age in small parts of their own; they become ``inline_videos``, never organic results.

"People also ask" is a list of ``.df_alsoAsk`` cards: the question in ``.b_expansion_text``, the
answer text in ``.rwrl``, and the source page as a small ``.qna_algo`` result with its ``cite``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import unquote

from selectolax.lexbor import LexborNode

from serpgate.engines.base import clean, css_any, first_text, node_text, query_param
from serpgate.models.response import Ad, InlineVideo, RelatedQuestion, Sitelink, Sitelinks

BlockPosition = Literal["top", "bottom", "right"]
Resolve = Callable[[str | None], str | None]

_AD_ITEMS = (".sb_add", "ul > li")
_AD_DESCRIPTIONS = (".b_caption > p:not(.b_secondaryText)", ".b_caption p", ".b_snippet", "p")


def ads(root: LexborNode, absolute: Resolve) -> list[Ad]:
    """Every ad on the page, numbered in page order within each block position."""
    found: list[Ad] = []
    numbers: dict[BlockPosition, int] = {}
    first_result = root.css_first("#b_results > li.b_algo")
    for block in root.css("li.b_ad, div.b_ad"):
        where = _block_position(block, first_result)
        items = next((hits for hits in map(block.css, _AD_ITEMS) if hits), [block])
        for item in items:
            ad = _ad(item, where, numbers.get(where, 0) + 1, absolute)
            if ad is not None:
                numbers[where] = ad.position
                found.append(ad)
    return found


def _block_position(block: LexborNode, first_result: LexborNode | None) -> BlockPosition:
    ancestor = block.parent
    while ancestor is not None:
        if ancestor.attributes.get("id") == "b_context":
            return "right"
        ancestor = ancestor.parent
    if "b_adBottom" in (block.attributes.get("class") or "").split():
        return "bottom"
    if first_result is not None and _follows(block, first_result):
        return "bottom"
    return "top"


def _follows(node: LexborNode, other: LexborNode) -> bool:
    """Whether ``node`` is a later sibling of ``other`` (both list items of ``#b_results``)."""
    sibling = other.next
    while sibling is not None:
        if sibling.mem_id == node.mem_id:
            return True
        sibling = sibling.next
    return False


def _ad(item: LexborNode, where: BlockPosition, position: int, absolute: Resolve) -> Ad | None:
    anchor = item.css_first("h2 a[href]") or item.css_first("a[href]")
    title = node_text(anchor)
    tracking = absolute(anchor.attributes.get("href")) if anchor is not None else None
    if not title or tracking is None:
        return None
    return Ad(
        position=position,
        block_position=where,
        title=title,
        link=landing_page(tracking) or tracking,
        tracking_link=tracking,
        displayed_link=first_text(item, ".b_adurl cite", "cite") or None,
        description=first_text(item, *_AD_DESCRIPTIONS) or None,
        sitelinks=_sitelinks(item, absolute),
    )


def _sitelinks(item: LexborNode, absolute: Resolve) -> Sitelinks | None:
    expanded: list[Sitelink] = []
    inline: list[Sitelink] = []
    for row in css_any(item, ".b_deep li", ".b_vlist2col li"):
        anchor = row.css_first("h3 a[href]")
        if anchor is not None:
            lines = [node_text(div) for div in row.css("div")]
            link = _sitelink(anchor, absolute, " ".join(line for line in lines if line))
            if link is not None:
                expanded.append(link)
            continue
        anchor = row.css_first("a[href]")
        link = _sitelink(anchor, absolute, "") if anchor is not None else None
        if link is not None:
            inline.append(link)
    for anchor in item.css(".ad_fls a[href], .b_adsl a[href]"):
        link = _sitelink(anchor, absolute, "")
        if link is not None:
            inline.append(link)
    if not expanded and not inline:
        return None
    return Sitelinks(inline=inline or None, expanded=expanded or None)


def _sitelink(anchor: LexborNode, absolute: Resolve, snippet: str) -> Sitelink | None:
    title = node_text(anchor)
    tracking = absolute(anchor.attributes.get("href"))
    if not title or tracking is None:
        return None
    return Sitelink(
        title=title,
        link=landing_page(tracking) or tracking,
        tracking_link=tracking,
        snippet=snippet or None,
    )


def landing_page(tracking: str) -> str | None:
    """The advertiser's page behind Bing's ad tracker (``u``), or None when it does not say."""
    encoded = query_param(tracking, "u") or ""
    if encoded.startswith("a1"):
        encoded = encoded[2:]
    if not encoded:
        return None
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if decoded[:8].lower().startswith(("http%3a", "https%3a")):
        decoded = unquote(decoded)
    return decoded if decoded.startswith(("https://", "http://")) else None


_VIDEO_CARDS = "a.mc_vtvc_link[href], a.vt11b[href]"
_DURATION = re.compile(r"^\d{1,2}(?::\d{2}){1,2}$")


def inline_videos(root: LexborNode, absolute: Resolve) -> list[InlineVideo]:
    """The video cards of the page's video answers, in page order, each video once."""
    videos: list[InlineVideo] = []
    seen: set[str] = set()
    for card in root.css(_VIDEO_CARDS):
        title = first_text(card, ".mc_vtvc_title", ".va_title_mmftb", ".title") or clean(
            card.attributes.get("aria-label")
        )
        link = absolute(card.attributes.get("href"))
        if not title or link is None or link in seen:
            continue
        seen.add(link)
        parts = [node_text(node) for node in card.css("span, div.items, .b_factrow")]
        source = first_text(card, ".vidr_meta_source", ".mc_vtvc_meta_channel span")
        channel = first_text(card, ".mc_vtvc_meta_row_channel")
        date = first_text(card, ".mc_vtvc_meta_pubdate span:last-child")
        if not date:
            # 2019: "YouTube · 6 years ago" in one row.
            row = next((p for p in parts if "·" in p and p.startswith(source)), "")
            date = clean(row.partition("·")[2])
        videos.append(
            InlineVideo(
                position=len(videos) + 1,
                title=title,
                link=link,
                platform=source or None,
                channel=channel if channel and channel != source else None,
                duration=next((p for p in parts if _DURATION.match(p)), None),
                date=date or None,
            )
        )
    return videos


def related_questions(root: LexborNode, absolute: Resolve) -> list[RelatedQuestion]:
    """The "People also ask" cards, each question once."""
    found: list[RelatedQuestion] = []
    seen: set[str] = set()
    for card in root.css(".df_alsoAsk, .df_qntext"):
        question = clean(
            (card.css_first(".b_expansion_text") or card).attributes.get("aria-label")
        ) or first_text(card, ".b_expansion_text", ".df_qntext")
        if not question or question in seen:
            continue
        seen.add(question)
        source = card.css_first(".qna_algo a[href]") or card.css_first(".b_algo a[href]")
        found.append(
            RelatedQuestion(
                question=question,
                snippet=first_text(card, ".rwrl", ".df_alsocon") or None,
                title=node_text(source) or None,
                link=absolute(source.attributes.get("href")) if source is not None else None,
                displayed_link=first_text(card, "cite") or None,
            )
        )
    return found

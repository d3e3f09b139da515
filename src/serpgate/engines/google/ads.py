"""Google's paid blocks: text ads above and below the results, and shopping (PLA) carousels.

Text ads sit in ``#tads`` (top) and ``#tadsb``/``#bottomads`` (bottom) in every desktop layout
since 2019, one ``li.ads-ad`` per ad until 2020 and one ``[data-text-ad]`` since. The ad's title
is a heading (``h3`` until 2020, ``[role=heading]`` since) inside its main link. Where that link
leads differs by year, so the landing page is the first of:

- the link's ``href`` when it is not Google's click tracker (2020-2026: the landing page itself);
- the first address of ``data-pcu`` (2021-2026: the advertiser's home page, not the landing);
- ``data-preconnect-urls`` (2019: the advertiser's site, where ``href`` is the tracker);

and the tracking link, kept separately, is the first of ``data-rw`` (2021-2026), the tracker
``href``, or the hidden twin link (``a[style*=display:none]``) every 2019-2020 ad carries.
Sitelinks are the ad's other links: ``ul > li h3 a`` (2019-2020) or ``[role=listitem] a``
(2021-2026); ratings and "Why this ad?" links are not sitelinks.

A shopping carousel is a row of ``.pla-unit`` cards (2019-2026) above the results
(``#tvcap``/``#taw``) or in the right column (``#rhs``, 2023): title ``.pymv4e``, price
``.e10twf``, merchant ``.LnPkof``/``.zPEcBd``/``.VZqTOd``, link the card's clickable target.
"""

from __future__ import annotations

import re
from typing import Literal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import first_text, node_text, parse_int, url_path
from serpgate.engines.google.links import Links
from serpgate.models.response import Ad, ShoppingResult, Sitelink, Sitelinks

_AD_BLOCKS: tuple[tuple[Literal["top", "bottom"], str], ...] = (
    ("top", "tads"),
    ("bottom", "tadsb"),
    ("bottom", "bottomads"),
)
_AD_BLOCK_IDS = "#tads, #tadsb, #bottomads"
_AD_ITEMS = "li.ads-ad, [data-text-ad]"
_AD_TITLE = "h3, [role='heading']"
_AD_DESCRIPTION = (
    ".ads-creative",
    ".Va3FIb",
    ".p4wth",
    ".MUxGbd.yDYNvb",
    "[data-sncf]",
    ".yDYNvb",
)
_SHOWN_URL = ("span[role='text']", "cite")
_SOURCE = (".OSrXXb.aLF0Z > span", ".Aozhyc span", ".Aozhyc")
_TRACKER_PATHS = ("/aclk", "/pagead/aclk")
# Links inside an ad that are not its sitelinks: seller ratings, the "Why this ad?" menu.
_NOT_SITELINK_PATHS = ("/shopping/ratings", "/search")
# U+200E, the left-to-right mark 2019-2020 ad titles end with.
_MARKS = "\u200e\u200f"

_PLA_UNITS = ".pla-unit"
_PRICE = re.compile(r"\d[\d.,\s\u202f\xa0]*")
_REVIEWS = re.compile(r"^\(?([\d.,\s\u202f]+)\)?$")


def ads(tree: LexborHTMLParser, links: Links) -> list[Ad] | None:
    found: list[Ad] = []
    # #tadsb sits inside #bottomads on some pages and beside it on others.
    seen: set[int] = set()
    # One pass over the page for the three blocks, then each block in its reading order.
    blocks = {node.attributes.get("id"): node for node in tree.css(_AD_BLOCK_IDS)}
    for block_position, identifier in _AD_BLOCKS:
        block = blocks.get(identifier)
        if block is None:
            continue
        for item in block.css(_AD_ITEMS):
            if item.mem_id in seen:
                continue
            seen.add(item.mem_id)
            ad = _ad(item, links, block_position, len(found) + 1)
            if ad is not None:
                found.append(ad)
    return found or None


def _ad(
    item: LexborNode, links: Links, block_position: Literal["top", "bottom"], position: int
) -> Ad | None:
    heading = item.css_first(_AD_TITLE)
    anchor = _enclosing_link(heading)
    if heading is None or anchor is None:
        return None
    title = node_text(heading).strip(_MARKS + " ")
    href = links.absolute(anchor.attributes.get("href"))
    tracker = href if href and _is_tracker(href) else None
    hidden = item.css_first("a[style*='display:none'][href]")
    tracking = (
        links.absolute(anchor.attributes.get("data-rw"))
        or tracker
        or (links.absolute(hidden.attributes.get("href")) if hidden is not None else None)
    )
    link = (
        (href if href and not tracker else None)
        or _first_url(anchor.attributes.get("data-pcu"))
        or _first_url(anchor.attributes.get("data-preconnect-urls"))
        or tracking
    )
    if not link or not title:
        return None
    return Ad(
        position=position,
        block_position=block_position,
        title=title,
        link=link,
        tracking_link=tracking if tracking != link else None,
        displayed_link=first_text(item, *_SHOWN_URL) or None,
        source=first_text(anchor, *_SOURCE) or None,
        description=_description(item, title),
        sitelinks=Sitelinks(inline=inline)
        if (inline := _ad_sitelinks(item, anchor, links))
        else None,
    )


def _enclosing_link(node: LexborNode | None) -> LexborNode | None:
    while node is not None and node.tag != "a":
        node = node.parent
    return node


def _is_tracker(url: str) -> bool:
    return url_path(url).endswith(_TRACKER_PATHS)


def _first_url(value: str | None) -> str | None:
    first = (value or "").split(",")[0].strip()
    return first if first.startswith(("http://", "https://")) else None


def _description(item: LexborNode, title: str) -> str | None:
    for selector in _AD_DESCRIPTION:
        node = item.css_first(selector)
        if node is not None and (text := node_text(node)) and text != title:
            return text
    return None


def _ad_sitelinks(item: LexborNode, title_anchor: LexborNode, links: Links) -> list[Sitelink]:
    found: list[Sitelink] = []
    seen: set[str] = set()
    for anchor in item.css("a[href]"):
        if anchor.mem_id == title_anchor.mem_id or anchor.attributes.get("role") == "button":
            continue
        if "display:none" in (anchor.attributes.get("style") or "").replace(" ", ""):
            continue
        link = links.absolute(anchor.attributes.get("href"))
        title = node_text(anchor).strip(_MARKS + " ")
        if not link or not title or link in seen:
            continue
        if ".google." in link and any(part in url_path(link) for part in _NOT_SITELINK_PATHS):
            continue
        seen.add(link)
        # 2019-2020 link the landing page and keep the tracker in ``data-arwt``; later
        # sitelinks link the tracker itself.
        tracker = links.absolute(anchor.attributes.get("data-arwt"))
        found.append(
            Sitelink(
                title=title,
                link=link,
                snippet=_sitelink_snippet(anchor),
                tracking_link=tracker if tracker != link else None,
            )
        )
    return found


def _sitelink_snippet(anchor: LexborNode) -> str | None:
    """The line under a sitelink's title: the next element after the title's heading."""
    node: LexborNode | None = anchor
    for _ in range(3):
        if node is None:
            return None
        if node.tag == "h3":
            break
        node = node.parent
    else:
        return None
    sibling = node.next if node is not None else None
    while sibling is not None and sibling.tag == "-text":
        sibling = sibling.next
    return node_text(sibling) or None if sibling is not None else None


def shopping_results(tree: LexborHTMLParser, links: Links) -> list[ShoppingResult] | None:
    found: list[ShoppingResult] = []
    seen: set[str] = set()
    for unit in tree.css(_PLA_UNITS):
        result = _product(unit, links, len(found) + 1)
        if result is not None and result.link not in seen:
            seen.add(result.link)
            found.append(result)
    return found or None


def _product(unit: LexborNode, links: Links, position: int) -> ShoppingResult | None:
    # The card repeats its title in a hover card; the longest copy is the untruncated one.
    titles = [node_text(node) for node in unit.css(".pymv4e")]
    title = max(titles, key=len) if titles else ""
    target = next(
        (
            anchor
            for anchor in unit.css("a[href]")
            if "display:none" not in (anchor.attributes.get("style") or "").replace(" ", "")
        ),
        None,
    )
    if not title or target is None:
        return None
    link = links.absolute(target.attributes.get("href"))
    if not link:
        return None
    hidden = unit.css_first("a[style*='display:none'][href]")
    price = first_text(unit, ".e10twf", ".qptdjc") or None
    reviews = _REVIEWS.match(first_text(unit, ".QhqGkb", ".GhQXkc"))
    return ShoppingResult(
        position=position,
        block_position=_placement(unit),
        title=title.strip(_MARKS + " "),
        link=link,
        tracking_link=links.absolute(hidden.attributes.get("href")) if hidden is not None else None,
        price=price,
        extracted_price=_price_value(price),
        source=_merchant(unit),
        reviews=parse_int(re.sub(r"\D", "", reviews.group(1))) if reviews else None,
        shipping=first_text(unit, ".cYBBsb", ".T4OwTb:not(.e10twf)") or None,
    )


def _merchant(unit: LexborNode) -> str | None:
    # The short copy may be cut ("LaBoutiqueOffic..."); the hover card's copy is whole.
    names = [node_text(node) for node in unit.css(".LnPkof, .zPEcBd, .VZqTOd")]
    names = [name for name in names if name and not name.endswith("...")]
    return names[0] if names else None


def _placement(unit: LexborNode) -> Literal["top", "right", "inline"]:
    node = unit.parent
    while node is not None:
        identifier = node.attributes.get("id")
        if identifier == "rhs":
            return "right"
        if identifier in ("tvcap", "taw"):
            return "top"
        if identifier in ("rso", "center_col"):
            return "inline"
        node = node.parent
    return "top"


def _price_value(price: str | None) -> float | None:
    """37.43 of "37,43 €", 2100.0 of "$2,100.00": the last separator before 1-2 digits is the
    decimal point, every other one groups thousands."""
    match = _PRICE.search(price or "")
    if match is None:
        return None
    digits = re.sub(r"[\s\u202f\xa0]", "", match.group()).rstrip(".,")
    decimal = re.search(r"[.,](\d{1,2})$", digits)
    whole = digits[: decimal.start()] if decimal else digits
    whole = re.sub(r"[.,]", "", whole)
    if not whole.isdigit():
        return None
    return float(f"{whole}.{decimal.group(1)}") if decimal else float(whole)

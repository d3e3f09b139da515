"""The local pack: the map's places (shops, restaurants, hotels) above or among the results.

Every place since 2018 is a ``.rllt__details`` block inside its card (``div.VkpGBb``): a name in
``[role=heading]`` (inside the block since 2021, its sibling before), then lines in order:

- "4.4 (71) · $$ · Coffee shop": rating, review count, price level and kind of place
  (without a rating: "Kfz-Ersatzteilgeschäft"; hotels: "4.2 (1,024) · 4-star hotel");
- "1594 Market St · (415) 555-0100": the address, and a phone number where shown;
- "Open ⋅ Closes 6 PM" / "Geöffnet ⋅ Schließt um 18:00" / "Ouvert ⋅ Ferme à 20:00": hours;
- a quoted review or "Their website mentions …" (``.RGCvMc``): the description;
- "Dine-in · Takeout · No delivery": service options, not read.

Hotel packs use the same cards with a nightly price ("$129") on the first line, read as the
place's price.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

from serpgate.engines.base import node_text, parse_int
from serpgate.engines.google.links import Links
from serpgate.models.response import LocalPlace, LocalResults

_PLACE_SEPARATOR = re.compile(r"\s*[·⋅]\s*")
_RATING = re.compile(r"^(\d[.,]\d)")
_REVIEWS = re.compile(r"\(([\d.,\s\u202f]+)([KkMm]?)\)")
# An abbreviated count, "1.2" or "12" of "(1.2K)"; anything else in the parentheses is no count.
_SCALED = re.compile(r"\d{1,4}(?:[.,]\d{1,3})?")
_PRICE = re.compile(r"^[$€£¥₹]+(?:\s*[-–]\s*[$€£¥₹]*\d+)?$|^[$€£¥₹]?\d+\s*[-–]?\s*[$€£¥₹]?\d*$")
_PHONE = re.compile(r"^\+?[\d\s()./-]{6,}$")
# The first word of an hours line, in the interface languages of the captured pages and the
# usual others.
_HOURS = re.compile(
    r"^(open|closed|opens|closes|hours|24 hours|geöffnet|geschlossen|öffnet|schließt|"
    r"ouvert|fermé|ferme|abierto|cerrado|abre|cierra|aperto|chiuso|aberto|fechado|営業)",
    re.IGNORECASE,
)
_DESCRIPTION = ".RGCvMc, .rllt__wrapped:has(.X37Bwb)"
_SERVICE_OPTIONS = ".dXnVAb"


def local_results(root: LexborNode, links: Links) -> LocalResults | None:
    places: list[LocalPlace] = []
    for details in root.css(".rllt__details"):
        place = _place(details, len(places) + 1)
        if place is not None:
            places.append(place)
    if not places:
        return None
    return LocalResults(places=places, more_locations_link=_more_places(root, links))


def _place(details: LexborNode, position: int) -> LocalPlace | None:
    heading = details.css_first("[role='heading']")
    if heading is None and details.parent is not None:
        heading = details.parent.css_first("[role='heading']")
    title = node_text(heading)
    if not title:
        return None
    skipped = {node.mem_id for node in details.css(f"{_DESCRIPTION}, {_SERVICE_OPTIONS}")}
    lines = [
        text
        for child in details.iter(include_text=False)
        if child.attributes.get("role") != "heading"
        and child.mem_id not in skipped
        and (text := node_text(child))
    ]
    description = details.css_first(_DESCRIPTION)
    return place_from_lines(position, title, lines, _unquoted(node_text(description)) or None)


def place_from_lines(
    position: int, title: str, lines: list[str], description: str | None = None
) -> LocalPlace:
    """A place from the lines under its name, in the order every layout prints them."""
    hours = next((line for line in lines if _HOURS.match(line)), None)
    lines = [line for line in lines if line != hours]
    first = _PLACE_SEPARATOR.split(lines[0]) if lines else []
    rating = _RATING.match(lines[0]) if lines else None
    # "4.1 (30) · $$ · Coffee shop": the kind of place is the last part that is not the
    # rating or the price; "No reviews · Coffee shop" has no rating.
    kinds = [part for part in first if part and not _RATING.match(part)]
    price = next((part for part in kinds if _PRICE.match(part)), None)
    kinds = [part for part in kinds if not _PRICE.match(part)]
    second = _PLACE_SEPARATOR.split(lines[1]) if len(lines) > 1 else []
    phone = next((part for part in second[1:] if _PHONE.match(part)), None)
    return LocalPlace(
        position=position,
        title=title,
        rating=float(rating.group(1).replace(",", ".")) if rating else None,
        reviews=_reviews(lines[0]) if rating else None,
        price=price,
        type=kinds[-1] if kinds else None,
        address=second[0] if second and second[0] else None,
        phone=phone,
        hours=hours,
        description=description,
    )


def _unquoted(text: str) -> str:
    """A quoted review without its quotes; "Their website mentions "x"" as it is."""
    if len(text) > 1 and text[0] in '"“' and text[-1] in '"”':
        return text[1:-1].strip()
    return text


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

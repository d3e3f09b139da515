"""Google's entity carousels: the knowledge graph's lists, SerpApi's "top carousel".

A query about a set of things ("van gogh paintings", "spider man cast") is answered above the
results, or inside the panel, by a row of entity cards. SerpApi puts each row in
``knowledge_graph`` under the name of the list (``artworks``, ``cast``), every card a
``name``, its ``extensions`` (the year, the role), the ``link`` and the ``image``.

What has held since at least 2019, and is what this reads: the row is a
``g-scrolling-carousel`` (or a ``[role=list]``), each card a link to another Google search for
that entity, pinned to it with ``stick=``, named by its ``aria-label`` (2019-2023), its
``data-entityname`` (2021) or its ``title`` ("Tom Holland (Spider-Man)", "Spirited Away"). The
card's other lines are the extensions. The list's name is the last step of the heading's
breadcrumb ("Vincent van Gogh › Artworks", "Spider-Man: No Way Home / Cast"), else the fact the
block is tagged with (``data-attrid="kc:/film/film:cast"``). Rows of unnamed cards (related
products) are not entity lists and are left alone. The panel's "People also search for" cards
are marked ``data-reltype="sideways"`` (2019-2021) and become ``people_also_search_for``.

Thumbnails arrive as a 1×1 placeholder that an inline script fills in
(``_setImagesSrc(['kximg0'], 'data:image/jpeg;base64,…')``); the script's data is read when a
card's own image is the placeholder, then ``data-src`` and the thumbnail URL in ``data-key``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text
from serpgate.engines.google.links import Links
from serpgate.models.response import KnowledgeGraph, KnowledgeGraphItem

# The cards are found in one pass over the page (each pass costs ~0.05-0.1 ms on a big page),
# each then placed in the block around it: a row (``g-scrolling-carousel``, else a
# ``[role=list]`` or the 2013-2019 ``.klbar``) or the panel's "People also search for", whose
# entities are marked as related "sideways". The same marks on the box at the foot of the results
# (``#bres``) are no part of the panel, which is ``#rhs`` or a ``kp-wholepage`` block; nor are the
# foot's entity rows lists of the panel.
_CARDS = "a[href*='stick=']"
_ROW = "g-scrolling-carousel"
_LIST_CLASS = "klbar"
# How far above a card its row or block can be.
_CARD_DEPTH = 12
_ANCESTOR_DEPTH = 30
_PANEL = frozenset({"rhs"})
# The foot of the results, where entity rows are "Related searches" / "People also search for".
_FOOT = frozenset({"bres", "botstuff"})
_SIDEWAYS_LIST = "people_also_search_for"
# A row needs this many named cards to be a list rather than a stray link.
_SHORTEST_ROW = 2
# How far above a row to look for its heading or its ``data-attrid``.
_HEADER_DEPTH = 8
# A label before a row is a breadcrumb only when short: a few steps, a few words.
_LONGEST_BREADCRUMB = 5
_LONGEST_LABEL = 80
_BREADCRUMB = re.compile(r"\s*[›/>]\s*")
_NOTE = re.compile(r"\s*\(([^()]+)\)$")
_KEY = re.compile(r"[^\w]+")
_PLACEHOLDER = "data:image/gif"
_IMAGE_SCRIPT = re.compile(r"var s='(data:image/[^']+)';var ii=\[([^\]]*)\];_setImagesSrc")
_LAZY_IMAGES = re.compile(r"google\.ldi=(\{[^{}]*\})")
_SCRIPT_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
# The fixed fields of the panel: a list never takes one of their names.
_RESERVED = frozenset(KnowledgeGraph.model_fields)


@dataclass(slots=True)
class _Blocks:
    """The page's entity cards, grouped by the block each sits in, in page order."""

    rows: dict[int, list[LexborNode]] = field(default_factory=dict)
    lists: dict[int, list[LexborNode]] = field(default_factory=dict)
    sideways: dict[int, list[LexborNode]] = field(default_factory=dict)
    nodes: dict[int, LexborNode] = field(default_factory=dict)

    def add(self, group: dict[int, list[LexborNode]], block: LexborNode, card: LexborNode) -> None:
        self.nodes[block.mem_id] = block
        group.setdefault(block.mem_id, []).append(card)


def carousels(tree: LexborHTMLParser, links: Links) -> dict[str, list[KnowledgeGraphItem]]:
    """Every named entity row on the page, by list name, in page order."""
    blocks = _Blocks()
    for card in tree.css(_CARDS):
        if _is_entity_card(card, links):
            _place(card, blocks)
    named: dict[str, list[LexborNode]] = {}
    for mem_id, cards in (blocks.rows or blocks.lists).items():
        row = blocks.nodes[mem_id]
        if len(cards) < _SHORTEST_ROW or _within(row, _FOOT):
            continue  # the foot's entity rows are related searches, not the panel's lists
        key = _list_name(row)
        if key and key not in named and key not in _RESERVED:
            named[key] = cards
    related = _related(blocks)
    if related:
        named.setdefault(_SIDEWAYS_LIST, related)
    if not named:
        return {}
    images = _script_images(tree)
    return {key: [_item(card, links, images) for card in cards] for key, cards in named.items()}


def _place(card: LexborNode, blocks: _Blocks) -> None:
    """Files ``card`` under its row; else under its list or "sideways" block, if any."""
    node = card.parent
    for _ in range(_CARD_DEPTH):  # tags first: reading a tag costs far less than attributes
        if node is None:
            break
        if node.tag == _ROW:
            blocks.add(blocks.rows, node, card)
            return
        node = node.parent
    node = card.parent
    for _ in range(_CARD_DEPTH):
        if node is None:
            return
        attributes = node.attributes
        if attributes.get("data-reltype") == "sideways":
            blocks.add(blocks.sideways, node, card)
            return
        if attributes.get("role") == "list" or _LIST_CLASS in (attributes.get("class") or ""):
            blocks.add(blocks.lists, node, card)
            return
        node = node.parent


def _related(blocks: _Blocks) -> list[LexborNode]:
    """The panel's "People also search for" cards; the panel repeats some entities (its short
    row, then the expanded list), so one card each."""
    related: dict[str, LexborNode] = {}
    for mem_id, cards in blocks.sideways.items():
        if _within(blocks.nodes[mem_id], _PANEL, "kp-wholepage"):
            for card in cards:
                related.setdefault(_name(card), card)
    return list(related.values())


def _within(node: LexborNode, ids: frozenset[str], classes: str = "") -> bool:
    """Whether an ancestor of ``node`` has one of ``ids`` or, in its class, ``classes``."""
    parent = node.parent
    for _ in range(_ANCESTOR_DEPTH):
        if parent is None:
            return False
        attributes = parent.attributes
        if attributes.get("id") in ids or (classes and classes in (attributes.get("class") or "")):
            return True
        parent = parent.parent
    return False


def _is_entity_card(card: LexborNode, links: Links) -> bool:
    url = links.absolute(card.attributes.get("href"))
    return url is not None and links.is_google_search(url) and bool(_name(card))


def _name(card: LexborNode) -> str:
    attributes = card.attributes
    for name in (
        attributes.get("aria-label"),
        attributes.get("data-entityname"),
        attributes.get("title"),
    ):
        if name and name.strip():
            return name.strip()
    return ""


def _item(card: LexborNode, links: Links, images: dict[str, str]) -> KnowledgeGraphItem:
    lines = _lines(card)
    name = _without_note(_name(card), lines)
    return KnowledgeGraphItem(
        name=name,
        extensions=_extensions(lines, name) or _title_note(card, name) or None,
        link=links.absolute(card.attributes.get("href")),
        image=_image(card, links, images),
    )


def _without_note(name: str, lines: list[str]) -> str:
    """A tooltip name without the note the card shows on a line of its own:
    "Eternals (2021)" over the lines "Eternals" and "2021" is "Eternals"."""
    match = _NOTE.search(name)
    if match is not None and match.group(1) in lines:
        return name[: match.start()]
    return name


def _extensions(lines: list[str], name: str) -> list[str]:
    """The lines after the name, which a long name wraps over ("Marvel's Spider-" / "Man 2")
    or is cut short on ("Doctor Strange in the Multi...")."""
    whole = _compact(name)
    read = ""
    for index, line in enumerate(lines):
        if read == whole:
            return lines[index:]
        piece = _compact(line)
        stem = piece.rstrip(".…")
        if stem != piece and whole.startswith(read + stem):
            read = whole
            continue
        read += piece
        if not whole.startswith(read):
            return [line for line in lines if _compact(line) != whole]
    return []


def _compact(text: str) -> str:
    """``text`` without white space and with plain hyphens (Google breaks names with U+2011)."""
    return "".join(text.split()).replace("\u2011", "-")


def _title_note(card: LexborNode, name: str) -> list[str]:
    """What the card's tooltip adds to the name, "Jon Favreau (Happy Hogan)": the only copy of
    the extensions in a card whose body is rendered as the row scrolls."""
    title = (card.attributes.get("title") or "").strip()
    note = title.removeprefix(name).strip()
    if title.startswith(name) and note.startswith("(") and note.endswith(")"):
        return [note[1:-1].strip()]
    return []


def _lines(card: LexborNode) -> list[str]:
    """The card's text lines: each innermost ``div`` that holds text (a title split over
    spans stays one line)."""
    blocks = card.css("div")
    # A div holding another is no line: each div marks the nearest div around it.
    outer: set[int] = set()
    for block in blocks:
        parent = block.parent
        while parent is not None and parent.mem_id != card.mem_id and parent.tag != "div":
            parent = parent.parent
        if parent is not None:
            outer.add(parent.mem_id)
    lines: list[str] = []
    for block in blocks:
        text = node_text(block) if block.mem_id not in outer else ""
        if text and text not in lines:
            lines.append(text)
    return lines


def _image(card: LexborNode, links: Links, images: dict[str, str]) -> str | None:
    img = card.css_first("img")
    if img is None:
        return None
    attributes = img.attributes
    src = attributes.get("src") or ""
    if src.startswith("data:") and not src.startswith(_PLACEHOLDER):
        return src
    scripted = images.get(attributes.get("id") or "")
    if scripted:
        return scripted
    for url in (src, attributes.get("data-src"), attributes.get("data-key")):
        if url and not url.startswith("data:"):
            return links.absolute(url)
    return None


def _script_images(tree: LexborHTMLParser) -> dict[str, str]:
    """The thumbnails Google's inline scripts put into placeholders, by image ``id``: data
    URIs through ``_setImagesSrc``, and URLs of the images loaded later in ``google.ldi``."""
    images: dict[str, str] = {}
    for script in tree.css("script"):
        text = script.text(deep=False)
        if "_setImagesSrc" in text:
            _set_images(text, images)
        if "google.ldi=" in text:
            _lazy_images(text, images)
    return images


def _set_images(text: str, images: dict[str, str]) -> None:
    for match in _IMAGE_SCRIPT.finditer(text):
        data = _SCRIPT_ESCAPE.sub(lambda code: chr(int(code.group(1), 16)), match.group(1))
        for image_id in match.group(2).split(","):
            images.setdefault(image_id.strip().strip("'\""), data)


def _lazy_images(text: str, images: dict[str, str]) -> None:
    for match in _LAZY_IMAGES.finditer(text):
        try:
            lazy = json.loads(match.group(1))
        except ValueError:
            continue
        for image_id, url in lazy.items():
            if isinstance(url, str):
                images.setdefault(image_id, url)


def _list_name(row: LexborNode) -> str:
    """The list's name: the fact the block is tagged with (``kc:/film/film:cast``), shortened
    to the heading shown above it when they agree ("books only" under "Books"); else the last
    step of the breadcrumb just before the row, or of the heading above it."""
    node = row.parent
    tagged = ""
    headings: list[str] = []
    for _ in range(_HEADER_DEPTH):
        if node is None:
            break
        attrid = node.attributes.get("data-attrid") or ""
        if not tagged and ":" in attrid:
            tagged = _key(attrid.rsplit(":", 1)[1])
        heading = _key(_heading(node, row))
        if heading and heading not in headings:
            headings.append(heading)
        node = node.parent
    if tagged:
        return next((h for h in headings if f"{tagged}_".startswith(f"{h}_")), tagged)
    return _key(_label_before(row)) or (headings[0] if headings else "")


def _label_before(row: LexborNode) -> str:
    """The last step of a short breadcrumb just before the row, which is not always marked as a
    heading ("Spider-Man: No Way Home / Cast" in 2021)."""
    label = row.prev
    while label is not None and label.tag == "-text":
        label = label.prev
    if label is None:
        return ""
    steps = [step for step in label.text(separator="\n", strip=True).split("\n") if step]
    if not steps or len(steps) > _LONGEST_BREADCRUMB or len(" ".join(steps)) > _LONGEST_LABEL:
        return ""
    names = [step for step in steps if not _BREADCRUMB.fullmatch(step)]
    return names[-1] if names else ""


def _heading(box: LexborNode, row: LexborNode) -> str:
    """The last step of the breadcrumb heading ``box`` holds outside ``row``."""
    for heading in box.css("[role='heading']"):
        if _inside(heading, row):
            continue
        steps = [
            step
            for step in heading.text(separator="\n", strip=True).split("\n")
            if step and not _BREADCRUMB.fullmatch(step)
        ]
        if steps:
            return steps[-1]
    return ""


def _inside(node: LexborNode, container: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == container.mem_id:
            return True
        parent = parent.parent
    return False


def _key(text: str) -> str:
    return _KEY.sub("_", text.strip().lower()).strip("_")

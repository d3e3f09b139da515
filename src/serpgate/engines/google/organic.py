"""Organic results of the full (JavaScript-era) Google page, desktop and mobile.

Google renames its classes every few months, so results are found by what has not changed
since about 2019: a result's title is a heading inside the link to the page, ``a > h3`` on
desktop and ``a > [role=heading][aria-level=3]`` on mobile, and the result is the nearest
``[data-hveid]`` block around it. Everything else in the main column that also has a linked
heading (top stories, PAA, recipe and video carousels, ads) sits in a container that marks it,
and those containers are skipped. Class names still help where nothing structural exists
(the snippet, the site name), always as one option among several that span the years:

=================  ========================================  ===============================
part               2023                                      2025-2026
=================  ========================================  ===============================
snippet            ``div.VwiC3b`` in ``[data-snf=nke7rc]``   same; video: ``div.ITZIwc``
                   (2019: ``span.st``)
date               ``span.MUxGbd.wuQ4Ob`` "Mar 27, 2023 — "  ``span.YrbPuc`` "20.08.2025 — "
displayed link     ``cite`` (mobile: ``span[role=text]``)    ``cite``
site name          ``span.VuuXrf`` (mobile: ``.BTu2cd``)     ``span.VuuXrf``
inline sitelinks   ``[data-snf=gdePb] a`` / ``.HiHjCd a``    same
=================  ========================================  ===============================

Results Google indents under another from the same site ("more results from …") keep their
own position: they are separate pages with their own title, link and snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from serpgate.engines.base import css_within, first_text, node_text
from serpgate.engines.google.links import Links, enclosing_anchor
from serpgate.models.response import OrganicResult, Sitelink, Sitelinks

_TITLE_HEADINGS = "a h3, a [role='heading'][aria-level='3']"

# Containers of the main column whose linked headings are not organic results: carousels
# (top stories, videos, recipes), "People also ask", ads, the knowledge panel and the AI
# overview (``#m-x-content``, with its source cards).
_FEATURES = (
    "g-section-with-header, g-scrolling-carousel, g-accordion, [data-initq], [data-q], "
    "[data-text-ad], #tads, #tadsb, #bottomads, #rhs, #m-x-content, a.WlydOe"
)

_SNIPPET = (
    ".VwiC3b",
    "[data-snf='nke7rc']",
    "[data-sncf='1']",
    ".ITZIwc",
    ".Uroaid",
    ".IsZvec",
    ".aCOpRe",
    "span.st",
    "[style*='-webkit-line-clamp']",
)
_DISPLAYED_LINK = ("cite", "[role='text']")
_BREADCRUMB = re.compile(r"\s*›\s*")
_SOURCE = (".VuuXrf", ".BTu2cd")
# The boxes holding a result's inline sitelinks.
_INLINE_SITELINKS = "[data-snf='gdePb'], .HiHjCd"
_EXPANDED_SITELINKS = ".usJj9c"
_LONGEST_DATE = 60
_DIGITS = re.compile(r"\d+")
# "Results 1 - 43 of 43": a range of counts, never a date (which writes "2025-05-09" tight).
_RANGE = re.compile(r"\d\s+[-–]\s+\d")
_YEARS = (1900, 2099)
# What Google puts between a snippet's date and its text, by layout and language.
_DATE_SEPARATORS = ("—", "–", "-", "·")


@dataclass(frozen=True, slots=True)
class _Found:
    """A title heading that passed the filters, with the blocks around it."""

    heading: LexborNode
    anchor: LexborNode
    container: LexborNode
    block: LexborNode


def organic_results(
    root: LexborNode, links: Links, skip: frozenset[int], offset: int
) -> list[OrganicResult]:
    """The organic results under ``root`` (``#rso``), in page order.

    ``skip`` holds the ``mem_id`` of nodes already read as another block (the answer box);
    ``offset`` is the rank of the page's first result less one (``start``), so positions run
    on across pages.
    """
    # One pass each for the feature containers and the sitelink grids, instead of testing
    # every ancestor of every title against every selector.
    excluded = skip | {node.mem_id for node in root.css(_FEATURES)}
    grids = _grids_by_block(root, links)
    results: list[OrganicResult] = []
    for item in _titles(root, excluded):
        link = links.target(item.anchor.attributes.get("href"))
        title = node_text(item.heading)
        # A card linking back to Google's own search ("See results about", an entity) is
        # Google's suggestion, never a web result.
        if not link or not title or links.is_google_search(link):
            continue
        snippet, date = _snippet(item.container)
        shown = _displayed_link(item.anchor, item.container)
        # A page result always shows where it leads or what it says; a linked heading with
        # neither belongs to some card this reader does not know.
        if shown is None and snippet is None:
            continue
        # The grid belongs to the first result of its block, the site's main page.
        expanded = grids.pop(item.block.mem_id, None)
        results.append(
            OrganicResult(
                position=offset + len(results) + 1,
                title=title,
                link=link,
                displayed_link=shown,
                snippet=snippet,
                date=date,
                source=first_text(item.container, *_SOURCE) or None,
                sitelinks=_sitelinks(item.container, item.anchor, links, expanded),
            )
        )
    return results


def _titles(root: LexborNode, excluded: frozenset[int]) -> list[_Found]:
    root_id = root.mem_id
    seen: set[int] = set()
    found: list[_Found] = []
    for heading in root.css(_TITLE_HEADINGS):
        anchor = enclosing_anchor(heading)
        if anchor is None or anchor.mem_id in seen or anchor.mem_id in excluded:
            continue
        seen.add(anchor.mem_id)
        attributes = anchor.attributes
        if not attributes.get("href") or attributes.get("role") == "button":
            continue
        walked = _walk_up(anchor, root_id, excluded)
        if walked is not None:
            found.append(_Found(heading, anchor, *walked))
    return found


def _walk_up(
    node: LexborNode, root_id: int, excluded: frozenset[int]
) -> tuple[LexborNode, LexborNode] | None:
    """The result container and the top-level block of ``node``; None inside a feature."""
    container: LexborNode | None = None
    block = node
    parent = node.parent
    while parent is not None and parent.mem_id != root_id:
        if parent.mem_id in excluded:
            return None
        if container is None and _is_container(parent.attributes):
            container = parent
        block = parent
        parent = parent.parent
    return (container or block), block


def _is_container(attributes: dict[str, str | None]) -> bool:
    if "data-hveid" in attributes:
        return True
    classes = (attributes.get("class") or "").split()
    return "g" in classes or "MjjYud" in classes


def _grids_by_block(root: LexborNode, links: Links) -> dict[int, list[Sitelink]]:
    """Expanded sitelinks (``table.jmjoTe div.usJj9c``) by the top-level block holding them.

    The grid is a sibling of its result's container, not inside it; its links sit in
    ``h3 > a``, the reverse of a result's ``a > h3``, so they are never taken for results.
    """
    grids: dict[int, list[Sitelink]] = {}
    root_id = root.mem_id
    for cell in root.css(_EXPANDED_SITELINKS):
        anchor = cell.css_first("h3 a[href]") or cell.css_first("a[href]")
        if anchor is None:
            continue
        link = links.target(anchor.attributes.get("href"))
        title = node_text(anchor)
        walked = _walk_up(cell, root_id, frozenset())
        if link and title and walked is not None:
            snippet = first_text(cell, ".zz3gNc", ".st") or None
            grids.setdefault(walked[1].mem_id, []).append(
                Sitelink(title=title, link=link, snippet=snippet)
            )
    return grids


def _displayed_link(anchor: LexborNode, container: LexborNode) -> str | None:
    shown = first_text(anchor, *_DISPLAYED_LINK) or first_text(container, *_DISPLAYED_LINK)
    # DOM snapshots drop the white space around the breadcrumb separators.
    return _BREADCRUMB.sub(" › ", shown) if shown else None


def _snippet(container: LexborNode) -> tuple[str | None, str | None]:
    """The snippet text and the date Google prints before it ("Mar 27, 2023 — …")."""
    for selector in _SNIPPET:
        node = container.css_first(selector)
        if node is None:
            continue
        # Rich snippets list menu items or a video's description lines as separate ``div``s
        # and ``br``s with no white space between them, which node_text keeps apart.
        text = node_text(node)
        if text:
            return _split_date(node, text)
    return None, None


def _split_date(snippet: LexborNode, text: str) -> tuple[str | None, str | None]:
    """Split a leading date off a snippet whose first child element holds "<date> — ".

    The date is its own element in every layout since 2019, so the split follows the markup
    rather than guessing at date formats in every interface language.
    """
    first = snippet.child
    while first is not None and first.tag == "-text":
        if (first.text_content or "").strip():
            return text, None
        first = first.next
    if first is None or first.next is None:
        return text, None
    prefix = node_text(first)
    for separator in _DATE_SEPARATORS:
        if prefix.endswith(separator) and len(prefix) <= _LONGEST_DATE:
            date = prefix[: -len(separator)].strip()
            rest = text[len(prefix) :].strip() if text.startswith(prefix) else text
            if _looks_like_date(date):
                return rest or None, date
    return text, None


def _looks_like_date(text: str) -> bool:
    """ "Mar 27, 2023", "3 days ago", "2025/05/09"; not the counts rich snippets lead with
    ("2411 products", "Results 1 - 48 of 839621") nor a citation line ("M Kuhlmann 著 · 2006 ·
    被引用数: 193"): every number in a date is a day, a month, an hour or a year."""
    numbers = _DIGITS.findall(text)
    if not numbers or "·" in text or _RANGE.search(text):
        return False
    return all(len(number) <= 2 or _YEARS[0] <= int(number) <= _YEARS[1] for number in numbers)


def _sitelinks(
    container: LexborNode, anchor: LexborNode, links: Links, expanded: list[Sitelink] | None
) -> Sitelinks | None:
    title_href = anchor.attributes.get("href")
    inline: list[Sitelink] = []
    for node in css_within(container, _INLINE_SITELINKS, "a[href]"):
        href = node.attributes.get("href")
        link = links.target(href)
        title = node_text(node)
        if link and title and href != title_href and node.attributes.get("role") != "button":
            inline.append(Sitelink(title=title, link=link))
    if not inline and not expanded:
        return None
    return Sitelinks(inline=inline or None, expanded=expanded or None)

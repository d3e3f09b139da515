"""Google's AI overview: the generated answer above the results (2024-2026), text and sources.

The block is ``#m-x-content`` in both captured years, and the text inside has had two shapes:

- 2025: paragraphs of sentences (``span[data-huuid]``, one per sentence, in ``div.rPeykc``),
  lists as ``ul``/``ol`` of such sentences, and sources as links whose text is the page's
  title, a snippet and the site's name;
- 2026: paragraphs ``div.n6owBd``, headings ``[role=heading][aria-level=3]``, lists, and each
  statement followed by a citation button ("MDN Web Docs +2"), which is not part of the text;
  the sources are links labelled "<title>. Opens in a new tab." in the interface language.

A paragraph that ends with a colon and introduces a list, or a numbered line ending with one,
is read as a heading, as SerpApi does; the list of sources (every entry a link) is not text.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.google.links import Links
from serpgate.models.response import AiOverview, AiOverviewReference, AiOverviewTextBlock

_CONTAINER = "#m-x-content"
_BLOCKS = "div.rPeykc, div.n6owBd, [role='heading'][aria-level='3'], ul, ol"
# Inside the text, what is not text: citation buttons and their chips.
_NOT_TEXT_SELECTOR = "button, script, style"
# "2. Unspecified Amount:": a numbered line ending in a colon heads what follows.
_NUMBERED = re.compile(r"^\d{1,2}\.\s.{1,80}:$")


def ai_overview(tree: LexborHTMLParser, links: Links) -> AiOverview | None:
    containers = [node for node in tree.css(_CONTAINER) if node.css_first(_BLOCKS) is not None]
    if not containers:
        return None
    container = containers[0]
    blocks: list[AiOverviewTextBlock] = []
    inside_list: set[int] = set()
    references: list[tuple[str, str, str | None, str | None]] = []
    for node in container.css(_BLOCKS):
        if node.mem_id in inside_list:
            continue
        if node.tag in ("ul", "ol"):
            inside_list.update(inner.mem_id for inner in node.css(_BLOCKS))
            entries = node.css("li")
            # The list of sources: most entries a link to a page, titled as the entry shows it.
            sources = [source for entry in entries if (source := _source(entry, links))]
            if len(sources) * 2 > len(entries):
                references.extend(source for source in sources if source not in references)
                continue
            items = [text for entry in entries if (text := _text(entry))]
            if items:
                _heading_before_list(blocks)
                blocks.append(AiOverviewTextBlock(type="list", list=items))
            continue
        text = _text(node)
        if not text:
            continue
        heading = node.attributes.get("role") == "heading" or _NUMBERED.match(text) is not None
        blocks.append(AiOverviewTextBlock(type="heading" if heading else "paragraph", snippet=text))
    if not blocks:
        return None
    return AiOverview(
        text_blocks=blocks,
        references=[
            AiOverviewReference(index=index, title=title, link=link, snippet=snippet, source=site)
            for index, (title, link, snippet, site) in enumerate(references)
        ]
        or None,
    )


def _heading_before_list(blocks: list[AiOverviewTextBlock]) -> None:
    """A paragraph ending in a colon right before a list introduces it: a heading."""
    last = blocks[-1] if blocks else None
    if last is not None and last.type == "paragraph" and (last.snippet or "").endswith(":"):
        blocks[-1] = AiOverviewTextBlock(type="heading", snippet=last.snippet)


def _text(node: LexborNode) -> str:
    """The node's text without what its buttons say, white space collapsed."""
    hidden = {
        child.mem_id
        for button in node.css(_NOT_TEXT_SELECTOR)
        for child in button.traverse(include_text=True)
        if child.tag == "-text"
    }
    parts = [
        child.text_content or ""
        for child in node.traverse(include_text=True)
        if child.tag == "-text" and child.mem_id not in hidden
    ]
    return " ".join("".join(parts).split())


def _source(entry: LexborNode, links: Links) -> tuple[str, str, str | None, str | None] | None:
    """(title, link, snippet, site) of a source entry: a link whose label is the shown title.

    2025 labels the link with the title; 2026 adds "Opens in a new tab." in the interface
    language. A citation chip ("MDN Web Docs (+2) – view related links") matches no line.
    """
    leaves = _leaves(entry)
    for anchor in entry.css("a[href]"):
        label = " ".join((anchor.attributes.get("aria-label") or "").split())
        titles = {label, label.rstrip(".").rsplit(". ", 1)[0]} if label else set()
        titles.update(_leaves(anchor))
        title = next((leaf for leaf in leaves if leaf in titles), None)
        link = links.target(anchor.attributes.get("href"))
        if title and link:
            # Then the snippet (2026: "20.08.2025 — " and the text) and last the site's name.
            rest = leaves[leaves.index(title) + 1 :]
            snippet = " ".join(rest[:-1]) if len(rest) > 1 else None
            return title, link, snippet, rest[-1] if rest else None
    return None


def _leaves(node: LexborNode) -> list[str]:
    return [
        text
        for child in node.traverse(include_text=True)
        if child.tag == "-text" and (text := " ".join((child.text_content or "").split()))
    ]

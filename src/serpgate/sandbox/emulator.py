"""The contract of a sandbox engine emulator: read the engine's own search URL, answer its markup.

An emulator knows one engine's URL grammar (which query parameter holds the query, how paging is
spelled) and renders corpus pages in that engine's real markup, plus the engine's block page. It
holds no state: the sandbox server owns counting and fault injection, so every emulator gets them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import ClassVar

from serpgate.sandbox.corpus import ResultPage


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What an engine's search URL asks for, in corpus terms."""

    query: str
    page: int = 1
    num: int = 10

    @classmethod
    def at_offset(cls, query: str, offset: int, num: int) -> PageRequest:
        """The page of ``num`` results that holds result ``offset + 1``, for engines that page
        by result rank rather than by page number; a negative offset is the first page."""
        return cls(query=query, page=max(offset, 0) // num + 1, num=num)


class Emulator(ABC):
    """One sandbox engine. ``paths`` are the search paths it answers, relative to its mount."""

    engine: ClassVar[str]
    paths: ClassVar[tuple[str, ...]] = ("/search",)
    content_type: ClassVar[str] = "text/html; charset=utf-8"

    @abstractmethod
    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        """Read the engine's query string; None when it carries no query (a 400 upstream)."""

    @abstractmethod
    def render(self, page: ResultPage, base: str) -> str:
        """The result page in the engine's markup; ``base`` is the emulator's own URL prefix."""

    @abstractmethod
    def render_block(self) -> str:
        """The engine's CAPTCHA or challenge page."""


def esc(text: str) -> str:
    """HTML-escape text for element content and attribute values."""
    return escape(text, quote=True)


def query_text(query: Mapping[str, str], *names: str) -> str:
    """The search terms in the first of ``names`` the query string fills, spaces collapsed."""
    return " ".join(next((query[name] for name in names if query.get(name)), "").split())


def query_int(query: Mapping[str, str], name: str, default: int) -> int:
    """An integer parameter of the query string; ``default`` when absent or not a number."""
    try:
        return int(query[name]) if name in query else default
    except ValueError:  # "ten", "²", or more digits than int() converts
        return default


def pager_numbers(page: ResultPage, shown: int) -> range:
    """The page numbers a pager lists: at most ``shown``, ending with the next page (this one
    on the last page), as numbered pagers do; never every page up to a far one asked for."""
    last = page.page + 1 if page.has_next else page.page
    return range(max(1, last - shown + 1), last + 1)


def highlight(text: str, query: str) -> str:
    """``text`` escaped, with the query's words in bold as result snippets show them."""
    words = "|".join(re.escape(word) for word in query.split())
    if not words:
        return esc(text)
    pieces, last = [], 0
    for match in re.finditer(rf"\b(?:{words})\b", text, re.IGNORECASE):
        pieces += [esc(text[last : match.start()]), f"<b>{esc(match.group(0))}</b>"]
        last = match.end()
    return "".join([*pieces, esc(text[last:])])

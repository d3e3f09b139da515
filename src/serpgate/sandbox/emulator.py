"""The contract of a sandbox engine emulator: read the engine's own search URL, answer its markup.

An emulator knows one engine's URL grammar (which query parameter holds the query, how paging is
spelled) and renders corpus pages in that engine's real markup, plus the engine's block page. It
holds no state: the sandbox server owns counting and fault injection, so every emulator gets them.
"""

from __future__ import annotations

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

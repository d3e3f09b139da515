"""The contract every engine keeps, and the small text helpers their parsers share.

An engine is two pure functions and a name: ``build_request`` turns validated search parameters
into the upstream HTTP request, and ``parse`` turns the page the engine answered into ``SerpData``
or raises a typed ``BlockedError``. Engines hold no connections and no mutable state, so one
instance serves every request and a parser can run in any thread or process. Where the engine's
server lives is a constructor argument (a setting), so production points at the real engine and
tests at the sandbox.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from selectolax.lexbor import LexborNode

from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData

# A desktop browser's headers: engines answer plain HTTP clients with degraded or blocked pages.
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
MOBILE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
}


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """One HTTP request to an engine; ``url`` is complete, query string included."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"


class Engine(ABC):
    """A search engine serpgate can query. Subclasses set ``name`` and implement both methods."""

    name: ClassVar[str]
    default_base_url: ClassVar[str]

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    @abstractmethod
    def build_request(self, params: SearchParams) -> UpstreamRequest:
        """The upstream request that fetches the page ``params`` describe."""

    @abstractmethod
    def parse(self, html: str, params: SearchParams) -> SerpData:
        """Read one result page; raise ``BlockedError`` for CAPTCHA, challenge or ban pages."""

    @staticmethod
    def user_agent(params: SearchParams) -> str:
        return MOBILE_UA if params.device == "mobile" else DESKTOP_UA

    def browser_headers(self, params: SearchParams) -> dict[str, str]:
        headers = dict(BROWSER_HEADERS)
        headers["User-Agent"] = self.user_agent(params)
        if params.hl:
            headers["Accept-Language"] = f"{params.hl},en;q=0.8"
        return headers


_SPACE = re.compile(r"\s+")


def clean(text: str | None) -> str:
    """Collapse runs of white space (including non-breaking) into one space and trim."""
    if not text:
        return ""
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


def node_text(node: LexborNode | None) -> str:
    """The visible text of a node with inline markup joined as a browser joins it.

    selectolax's ``text(strip=True)`` strips each text node before joining, which glues words
    that bold query terms separate ("Download<b>Bing</b>for" → "DownloadBingfor"); joining the
    raw text and collapsing spaces keeps them apart.
    """
    if node is None:
        return ""
    return clean(node.text(deep=True, separator="", strip=False))


def first_text(root: LexborNode, *selectors: str) -> str:
    """Text of the first node any selector finds, trying selectors in order (markup varies)."""
    for selector in selectors:
        found = root.css_first(selector)
        if found is not None:
            text = node_text(found)
            if text:
                return text
    return ""


def query_param(url: str, name: str) -> str | None:
    """One query-string value of ``url``, or None."""
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def parse_count(text: str) -> int | None:
    """The first number in text such as "About 1,230,000 results" or "106.000.000 results"."""
    match = re.search(r"\d[\d.,\s\u202f\xa0]*", text)
    if match is None:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    return int(digits) if digits else None


def with_query(base: str, params: dict[str, str | int]) -> str:
    """``base`` with ``params`` as its query string, skipping empty values."""
    return f"{base}?{urlencode({k: v for k, v in params.items() if v not in ('', None)})}"

"""Google web search, read from the page www.google.com/search answers.

Upstream: ``GET /search?q=…&start=…&num=…&hl=…&gl=…&safe=…&uule=…``. ``start`` is the 0-based
rank of the page's first result (left out on the first page, as browsers do), ``num`` the page
size (left out at Google's default of 10; Google stopped honouring it in September 2025, it
still works on older front ends and in the sandbox), ``hl`` the interface language, ``gl`` the
country and ``safe`` SafeSearch (``active``/``off``). A ``google_domain`` such as
``google.de`` sends the search to ``www.google.de``, unless a base URL other than the default
is configured (a sandbox or a mirror), which always wins.

``cr`` and ``lr`` restrict results to countries and languages, ``tbs`` carries the time and
verbatim filters, ``nfpr=1`` turns off the spelling autocorrection and ``filter=0`` the
similar-results and omitted-results filters: all passed as SerpApi passes them.

``location`` becomes ``uule``, not ``near``: ``near`` was dropped from the web UI years ago and
is ignored, while ``uule`` is what Google's own location setting sends. This writes the
canonical-name form, ``w+`` and the base64 of a small protobuf (role 2, producer 32, the
location's canonical name such as "Austin,Texas,United States"), which needs no coordinates.

``tbm`` (``nws``, ``isch``, ``vid``) or ``udm`` (2 images, 7 videos) selects a tab, whose page
is read into ``news_results``, ``images_results`` or ``video_results``.

Google answers three kinds of document, told apart by ``recognition`` before anything is read:
the full page (desktop or mobile, by the User-Agent), the basic no-JS page (``div.Gx5Zad`` /
``div.ZINbbc`` cards, served to plain HTTP clients until January 2025), and pages that are not
results at all (see ``blocking``). Anything else is ``UnrecognizedPage``, never "no results".
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import partial
from typing import ClassVar

from selectolax.lexbor import LexborHTMLParser

from serpgate.engines.base import Engine, UpstreamRequest, with_query
from serpgate.engines.google.basic import parse_basic
from serpgate.engines.google.blocking import is_javascript_wall
from serpgate.engines.google.full import parse_full
from serpgate.engines.google.links import Links
from serpgate.engines.google.recognition import page_layout, require_results
from serpgate.engines.parameters import Alias, EngineParameters, matching
from serpgate.models.params import GOOGLE_LANGUAGES, SearchParams
from serpgate.models.response import SerpData

_DEFAULT_PAGE_SIZE = 10
# The fields of uule's location message before the name: role=2 (user specified),
# producer=32 (from the location setting), then field 4, the canonical name.
_UULE_HEADER = bytes((0x08, 0x02, 0x10, 0x20, 0x22))


class GoogleEngine(Engine):
    name: ClassVar[str] = "google"
    default_base_url: ClassVar[str] = "https://www.google.com"
    parameters: ClassVar[EngineParameters] = EngineParameters(
        accepts=frozenset(
            {"location", "uule", "gl", "hl", "cr", "lr", "tbs", "safe", "nfpr", "filter"}
            | {"google_domain", "tbm", "udm"}
        ),
        aliases={
            "lr": Alias("lr", matching(GOOGLE_LANGUAGES, "lang_ codes joined by |, as lang_fr"))
        },
        refused=dict.fromkeys(
            ("ludocid", "lsig", "kgmid", "si", "ibp", "uds"),
            "it names a place or entity by Google's own ids, which serpgate does not fetch",
        ),
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        # with_query leaves out the empty values: what a browser leaves out.
        query: dict[str, str | int] = {
            "q": params.q,
            "start": params.start or "",
            "num": params.num if params.num != _DEFAULT_PAGE_SIZE else "",
            "hl": params.hl or "",
            "gl": params.gl or "",
            "safe": params.safe or "",
            "tbm": params.tbm or "",
            "udm": params.udm or "",
            "uule": params.uule or (uule(params.location) if params.location else ""),
            "cr": params.cr or "",
            "lr": params.lr or "",
            "tbs": params.tbs or "",
            "nfpr": "" if params.nfpr is None else params.nfpr,
            "filter": "" if params.filter is None else params.filter,
        }
        return UpstreamRequest(
            url=with_query(f"{self.origin(params)}/search", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        return self._read(LexborHTMLParser(html), lambda: html, params)

    def parse_page(self, content: bytes, charset: str, params: SearchParams) -> SerpData:
        """The tree straight from UTF-8 bytes; the text is decoded only for a page that is no
        results page, which the block checks read as text. On the 650 KB desktop page this
        spares about 1.5 ms of decoding and encoding again (docs/performance.md)."""
        if charset != "utf-8":
            return super().parse_page(content, charset, params)
        text = partial(content.decode, "utf-8", "replace")
        return self._read(LexborHTMLParser(content), text, params)

    def _read(
        self, tree: LexborHTMLParser, text: Callable[[], str], params: SearchParams
    ) -> SerpData:
        links = Links(self.origin(params))
        reader = parse_full if page_layout(tree, text) == "full" else parse_basic
        return require_results(reader(tree, links, params), tree)

    def walled(self, html: str) -> bool:
        return is_javascript_wall(html)

    def origin(self, params: SearchParams) -> str:
        """Where the search goes: ``www.<google_domain>`` unless a base URL was configured."""
        if params.google_domain and self.base_url == self.default_base_url:
            return f"https://www.{params.google_domain}"
        return self.base_url


def uule(location: str) -> str:
    """The ``uule`` value for a canonical location name.

    Returned with a space after the ``w``, which the query string encodes as the ``+`` Google
    expects (``w+CAIQICI…``).
    """
    name = location.encode()
    length = bytearray()
    size = len(name)
    while True:
        byte, size = size & 0x7F, size >> 7
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    return "w " + base64.b64encode(_UULE_HEADER + bytes(length) + name).decode("ascii")

"""Google Scholar, emulated: ``/scholar?q=…&start=…&num=…`` answered in scholar.google.com's
markup.

Each result is a ``div.gs_r.gs_or`` in ``#gs_res_ccl_mid`` with its ``data-cid``: the title
link ``h3.gs_rt > a``, the byline ``div.gs_a`` ("author - site, year - host"), the snippet
``div.gs_rs`` and the link row ``div.gs_fl`` ("Cited by N", "Related articles", "All N
versions"), as Scholar shows them. The corpus has no authors or citations, so they are drawn
from the document itself, deterministically. Then the count line "About N results" and the
``#gs_n`` pager. An empty page says "did not match any articles"; the block page is Scholar's
in-page captcha.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import (
    Emulator,
    PageRequest,
    esc,
    highlight,
    pager_numbers,
    query_int,
    query_text,
)

_MAX_PAGE_SIZE = 20  # Scholar's own cap on num
_PAGER_SIZE = 10


class GoogleScholarEmulator(Emulator):
    engine: ClassVar[str] = "google_scholar"
    paths: ClassVar[tuple[str, ...]] = ("/scholar",)

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "q")
        if not text:
            return None
        num = min(max(query_int(query, "num", 10), 1), _MAX_PAGE_SIZE)
        return PageRequest.at_offset(text, query_int(query, "start", 0), num)

    def render(self, page: ResultPage, base: str) -> str:
        if page.documents:
            results = "".join(_result(doc, page.query, base) for doc in page.documents)
            summary = f"About {page.total_results:,} results (<b>0.04</b> sec)"
        else:
            results = (
                '<div class="gs_r"><div class="gs_med"><p>Your search - <b>'
                f"{esc(page.query)}</b> - did not match any articles.</p></div></div>"
            )
            summary = ""
        return (
            '<!doctype html><html><head><meta charset="utf-8">'
            f"<title>{esc(page.query)} - Google Scholar</title></head><body>"
            f'<form id="gs_hdr_frm" action="{esc(base)}/scholar"><input type="text"'
            f' id="gs_hdr_tsi" name="q" value="{esc(page.query)}"></form>'
            f'<div id="gs_ab_md"><div class="gs_ab_mdw">{summary}</div></div>'
            f'<div id="gs_res_ccl"><div id="gs_res_ccl_mid">{results}</div>'
            f"{_pager(page, base)}</div></body></html>"
        )

    def render_block(self) -> str:
        return (
            "<html><head><title>Google Scholar</title></head><body>"
            '<div id="gs_captcha_ccl"><h1>Please show you\'re not a robot</h1>'
            '<form id="gs_captcha_f" method="post"><div class="g-recaptcha"></div></form>'
            "</div></body></html>"
        )


def _result(doc: Document, query: str, base: str) -> str:
    digest = hashlib.sha256(doc.url.encode()).digest()
    cid = digest[:9].hex()
    cluster = int.from_bytes(digest[9:17], "big")
    cited = digest[17] * 7
    versions = digest[18] % 9 + 1
    host = urlsplit(doc.url).netloc
    author = f"{doc.title[:1].upper()} {host.split('.')[1].capitalize()}"
    year = doc.day.year if doc.day else 2020
    return (
        f'<div class="gs_r gs_or gs_scl" data-cid="{cid}" data-did="{cid}"><div class="gs_ri">'
        f'<h3 class="gs_rt"><a id="{cid}" href="{esc(doc.url)}">{esc(doc.title)}</a></h3>'
        f'<div class="gs_a">{esc(author)}&nbsp;- {esc(host)}, {year} - {esc(host)}</div>'
        f'<div class="gs_rs">{highlight(doc.snippet, query)}</div><div class="gs_fl">'
        f'<a href="{esc(base)}/scholar?cites={cluster}&amp;as_sdt=2005&amp;hl=en">'
        f"Cited by {cited}</a> "
        f'<a href="{esc(base)}/scholar?q=related:{cid}:scholar.google.com/&amp;hl=en">'
        "Related articles</a> "
        f'<a href="{esc(base)}/scholar?cluster={cluster}&amp;hl=en" class="gs_nph">'
        f"All {versions} versions</a></div></div></div>"
    )


def _link(base: str, query: str, start: int, num: int) -> str:
    fields: dict[str, str | int] = {"start": start, "q": query, "hl": "en"}
    if num != 10:
        fields["num"] = num
    return esc(f"{base}/scholar?{urlencode(fields)}")


def _pager(page: ResultPage, base: str) -> str:
    if page.page == 1 and not page.has_next:
        return ""
    cells = []
    for number in pager_numbers(page, _PAGER_SIZE):
        if number == page.page:
            cells.append(f"<td><b>{number}</b></td>")
        else:
            href = _link(base, page.query, (number - 1) * page.num, page.num)
            cells.append(f'<td><a href="{href}">{number}</a></td>')
    if page.has_next:
        href = _link(base, page.query, page.page * page.num, page.num)
        cells.append(f'<td align="left"><a href="{href}"><b>Next</b></a></td>')
    return f'<div id="gs_n" role="navigation"><table><tr>{"".join(cells)}</tr></table></div>'

"""Mojeek, emulated: ``/search?q=…&s=…`` answered in www.mojeek.com's markup.

Results are the ``li`` items of ``ul.results-standard``: a link with the breadcrumb
``p.i > span.url``, the title ``h2 > a.title`` and the snippet ``p.s``. Above them the count
line "Results 1 to 10 from N in 0.12s", below them ``div.pagination`` with 1-based ``s``
offsets. Ten results a page, as Mojeek shows. An empty page says "No pages found matching";
the block page is Mojeek's refusal of automated queries.
"""

from __future__ import annotations

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

_PAGE_SIZE = 10
_PAGER_SIZE = 5


class MojeekEmulator(Emulator):
    engine: ClassVar[str] = "mojeek"

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "q")
        if not text:
            return None
        return PageRequest.at_offset(text, query_int(query, "s", 1) - 1, _PAGE_SIZE)

    def render(self, page: ResultPage, base: str) -> str:
        first = (page.page - 1) * _PAGE_SIZE + 1
        if page.documents:
            last = first + len(page.documents) - 1
            count = (
                f'<div class="top-info"><div class="results-count-container"><p>Results {first}'
                f" to {last} from {page.total_results:,} in 0.12s</p></div></div>"
            )
            items = "".join(
                f'<li class="r{rank}">{_result(doc, page.query)}</li>'
                for rank, doc in enumerate(page.documents, start=first)
            )
            main = f'<ul class="results-standard">{items}</ul>{_pager(page, base)}'
        else:
            count = ""
            main = f"<p>No pages found matching: <b>{esc(page.query)}</b></p>"
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(page.query)} - Mojeek Search</title></head><body>"
            f'<form action="{esc(base)}/search"><input type="text" class="js-search-input"'
            f' name="q" value="{esc(page.query)}"></form>'
            f'<div class="serp-grid">{count}<div class="results">{main}</div></div>'
            "</body></html>"
        )

    def render_block(self) -> str:
        return (
            "<!DOCTYPE html><html><head><title>403 - Forbidden | Mojeek</title></head><body>"
            "<h1>Forbidden</h1><p>Sorry your network appears to be sending automated queries"
            " to Mojeek. Please contact us if you believe this is in error.</p></body></html>"
        )


def _result(doc: Document, query: str) -> str:
    parts = urlsplit(doc.url)
    crumbs = "".join(f" › {esc(part)}" for part in parts.path.split("/") if part)
    url = esc(doc.url)
    return (
        f'<a title="{url}" href="{url}" class="ob"><p class="i"><span class="url">'
        f"{esc(parts.scheme)}://{esc(parts.netloc)}<span>{crumbs}</span></span></p></a>"
        f'<h2><a class="title" title="{url}" href="{url}">{esc(doc.title)}</a></h2>'
        f'<p class="s">{highlight(doc.snippet, query)}</p>'
    )


def _link(base: str, query: str, page: int) -> str:
    return esc(f"{base}/search?{urlencode({'q': query, 's': (page - 1) * _PAGE_SIZE + 1})}")


def _pager(page: ResultPage, base: str) -> str:
    if page.page == 1 and not page.has_next:
        return ""
    items = []
    for number in pager_numbers(page, _PAGER_SIZE):
        if number == page.page:
            items.append(f"<li><span>{number}</span></li>")
        else:
            href = _link(base, page.query, number)
            items.append(f'<li><a href="{href}"><span>{number}</span></a></li>')
    if page.has_next:
        items.append(f'<li><a href="{_link(base, page.query, page.page + 1)}">Next</a></li>')
    return f'<div class="pagination"><ul>{"".join(items)}</ul></div>'

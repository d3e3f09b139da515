"""Ecosia, emulated: ``/search?q=…&p=…`` answered in www.ecosia.org's server-rendered markup.

Results are ``article[data-test-id=organic-result]`` elements as Ecosia's Vue front end
renders them: the source line ``a[data-test-id=result-link]`` ("https://host › path"), the
title ``h2[data-test-id=result-title]`` inside its link, the description
``p[data-test-id=web-result-description]``. Then the related queries, and the simplified
pager (``p`` is the 0-based page). Ten results a page, as Ecosia shows. An empty page says "No
results found"; the block page is Cloudflare's Turnstile challenge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlsplit

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import Emulator, PageRequest, esc, query_int, query_text

_PAGE_SIZE = 10


class EcosiaEmulator(Emulator):
    engine: ClassVar[str] = "ecosia"

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "q")
        if not text:
            return None
        return PageRequest(query=text, page=max(query_int(query, "p", 0), 0) + 1, num=_PAGE_SIZE)

    def render(self, page: ResultPage, base: str) -> str:
        if page.documents:
            main = "".join(_result(doc) for doc in page.documents)
        else:
            main = (
                '<div data-test-id="no-results" class="no-results"><h2>No results found for'
                f" <strong>{esc(page.query)}</strong></h2></div>"
            )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(page.query)} - Ecosia - Web</title></head><body>"
            f'<form action="{esc(base)}/search" role="search"><input type="search" name="q"'
            f' data-test-id="search-form-input" value="{esc(page.query)}"></form>'
            f'<main><div data-test-id="mainline" class="mainline">{main}'
            f"{_related(page, base)}{_pager(page, base)}</div></main></body></html>"
        )

    def render_block(self) -> str:
        return (
            '<html dir="ltr"><head><title>Just a moment...</title></head><body><main>'
            "<h1>Confirm you’re not a robot</h1><p>Our system has detected unusual traffic"
            ' from your network.</p><div><input type="hidden" name="cf-turnstile-response">'
            "</div></main></body></html>"
        )


def _search(base: str, query: str, page: int | None = None) -> str:
    suffix = f"&p={page}" if page is not None else ""
    return esc(f"{base}/search?q={quote(query)}{suffix}")


def _result(doc: Document) -> str:
    parts = urlsplit(doc.url)
    crumbs = "".join(f" › {esc(part)}" for part in parts.path.split("/") if part)
    return (
        f'<div data-test-id="mainline-result-web" class="mainline__result-wrapper">'
        f'<article aria-label="{esc(doc.title)}" data-test-id="organic-result"'
        ' class="result web-result mainline__result"><div class="result__body">'
        '<div class="result__header"><div class="result-info">'
        f'<a data-test-id="result-link" href="{esc(doc.url)}" class="result-info__link">'
        f'<div data-test-id="result-source"><span class="result-info__domain">'
        f'{esc(parts.scheme)}://{esc(parts.netloc)}</span><span class="result-info__breadcrumbs">'
        f"{crumbs}</span></div></a></div>"
        f'<a href="{esc(doc.url)}" class="result__link" data-test-id="result-title-link">'
        f'<h2 data-test-id="result-title" class="result-title__heading">{esc(doc.title)}</h2>'
        '</a></div><div class="result__content"><p data-test-id="web-result-description"'
        f' class="web-result__description">{esc(doc.snippet)}</p></div></div></article></div>'
    )


def _related(page: ResultPage, base: str) -> str:
    if not page.related_searches or not page.documents:
        return ""
    links = "".join(
        f'<a href="{_search(base, related)}" aria-label="{esc(related)}"'
        f' data-test-id="related-queries-link"><span data-test-id="related-queries-text">'
        f"{esc(related)}</span></a>"
        for related in page.related_searches
    )
    return (
        '<div data-test-id="web-related-queries" class="related-queries__bottom">'
        f'<h3 data-test-id="related-queries-header">Searches related to {esc(page.query)}</h3>'
        f"{links}</div>"
    )


def _pager(page: ResultPage, base: str) -> str:
    links = ""
    if page.page > 1:
        links += (
            f'<a data-test-id="previous-button" href="{_search(base, page.query, page.page - 2)}">'
            "Previous</a>"
        )
    if page.has_next:
        links += (
            f'<a data-test-id="next-button" href="{_search(base, page.query, page.page)}">Next</a>'
        )
    if not links:
        return ""
    return f'<div data-test-id="simplified-pagination" class="simplified-pagination">{links}</div>'

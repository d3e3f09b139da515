"""Brave Search, emulated: ``/search?q=…&offset=…`` answered in search.brave.com's markup.

The page keeps what the Brave parser reads on a real page, in the same nesting: the
``div.snippet[data-type=web]`` result whose anchor wraps site name, ``cite.snippet-url``
breadcrumb and title; the description with its date prefix; the FAQ; the related-queries grid;
the offset-based pagination. Svelte's hashed class names come along, so nothing here is easier to
read than the real page. The block page is Brave's challenge route: a proof-of-work card that
falls back to a slider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlsplit

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import Emulator, PageRequest, esc, query_int, query_text


class BraveEmulator(Emulator):
    engine: ClassVar[str] = "brave"

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "q")
        if not text:
            return None
        return PageRequest(query=text, page=max(query_int(query, "offset", 0), 0) + 1)

    def render(self, page: ResultPage, base: str) -> str:
        if page.documents:
            body = (
                "".join(_result(i, doc) for i, doc in enumerate(page.documents))
                + _faq(page)
                + _related(page, base)
                + _pagination(page, base)
            )
        else:
            body = (
                '<div class="snippet svelte-jmfu5f standalone" id="no-results">'
                '<div class="desktop-heading-h4">No results found</div></div>'
            )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(page.query)} - Brave Search</title></head><body>"
            f'<form id="searchform" action="{esc(base)}/search">'
            f'<input id="searchbox" type="text" name="q" value="{esc(page.query)}"></form>'
            '<main id="search-page" class="svelte-e12qt1">'
            f'<div id="results" class="svelte-e12qt1">{body}</div></main></body></html>'
        )

    def render_block(self) -> str:
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Brave Search</title></head><body>"
            '<div class="captcha-page svelte-1c3v2kq"><div class="captcha-card svelte-1c3v2kq">'
            '<h1 class="desktop-heading-h3">Confirm you\'re human</h1>'
            "<p>Please wait while we check your browser.</p>"
            '<form method="post" action="/captcha/pow">'
            '<input type="hidden" name="challenge" value="0"><div class="captcha-slider">'
            '<button type="submit" class="captcha-slider-button">Verify</button></div>'
            "</form></div></div></body></html>"
        )


def _breadcrumb(url: str) -> tuple[str, str]:
    """What Brave shows for a URL: the host without "www." and "› path › parts"."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    path = " › ".join(p for p in parts.path.split("/") if p)
    return host, f"› {path}" if path else ""


def _result(position: int, doc: Document) -> str:
    host, path = _breadcrumb(doc.url)
    site = host.split(".")[-2].capitalize() if "." in host else host
    date = f'<span class="t-secondary">{esc(doc.date)} -</span>' if doc.date else ""
    return (
        f'<div class="snippet svelte-jmfu5f" data-pos="{position}" data-type="web"'
        ' data-keynav="true"><div class="result-wrapper svelte-1rq4ngz">'
        '<div class="result-content svelte-1rq4ngz">'
        f'<a href="{esc(doc.url)}" target="_self" class="svelte-14r20fy l1">'
        '<div class="site-name-wrapper svelte-on1hvy"><div class="site-name-content svelte-on1hvy">'
        f'<div class="desktop-small-semibold t-secondary text-ellipsis">{esc(site)}</div>'
        '<div class="url-wrapper svelte-on1hvy">'
        '<cite class="snippet-url desktop-small-regular t-tertiary svelte-on1hvy">'
        f'{esc(host)} <span class="text-ellipsis">{esc(path)}</span></cite></div></div></div>'
        '<div class="title search-snippet-title line-clamp-1 svelte-14r20fy"'
        f' title="{esc(doc.title)}">{esc(doc.title)}</div></a>'
        '<div class="generic-snippet svelte-1cwdgg3">'
        '<div class="content desktop-default-regular t-primary line-clamp-dynamic svelte-1cwdgg3">'
        f"<!--[-->{date}<!--]--><!---->{esc(doc.snippet)}<!----></div></div>"
        "</div></div></div>"
    )


def _faq(page: ResultPage) -> str:
    items = "".join(
        '<div class="faq-item svelte-1koe52u"><div class="accordion-item svelte-1rwoi5h">'
        f'<details class="svelte-1rwoi5h"><summary title="{esc(question)}" class="svelte-1rwoi5h">'
        '<div class="title line-clamp-2 desktop-default-semibold svelte-1rwoi5h">'
        f"{esc(question)}</div></summary>"
        '<div class="content desktop-default-regular t-secondary svelte-1koe52u">'
        f"{esc(answer)}</div></details></div></div>"
        for question, answer in page.related_questions
    )
    return (
        '<div id="faq" class="snippet svelte-jmfu5f standalone">'
        '<header class="desktop-heading-h4 svelte-e5xoai secondary">People also ask</header>'
        f"{items}</div>"
    )


def _related(page: ResultPage, base: str) -> str:
    asked = set(page.query.split())
    links = []
    for related in page.related_searches:
        # Brave bolds the words a suggestion adds to the query.
        words = "".join(
            f"<span>{esc(w)} </span>" if w in asked else f"<strong>{esc(w)} </strong>"
            for w in related.split()
        )
        href = esc(f"{base}/search?q={quote(related)}&source=relatedQueries")
        links.append(
            f'<a href="{href}" class="related-query desktop-default-regular t-secondary'
            ' svelte-1ndh8p4" data-sveltekit-reload="">'
            f'<div class="line-clamp-2">{words}</div></a>'
        )
    return (
        '<div id="related-queries" class="snippet svelte-jmfu5f standalone">'
        '<div class="related-queries-wrapper svelte-1ndh8p4">'
        '<header class="desktop-heading-h4 svelte-e5xoai secondary">Related queries</header>'
        f'<div class="related-queries-grid noscrollbar svelte-1ndh8p4">{"".join(links)}</div>'
        "</div></div>"
    )


def _pagination(page: ResultPage, base: str) -> str:
    def button(offset: int, label: str) -> str:
        href = esc(f"{base}/search?q={quote(page.query)}&offset={offset}&spellcheck=0")
        return (
            f'<a href="{href}" class="button svelte-na4a2u type size--medium" role="link"'
            f' data-sveltekit-reload="true"><span class="svelte-na4a2u">{label}</span></a>'
        )

    # Brave's offset is the 0-based page index; the buttons carry no page number.
    previous = button(page.page - 2, "Previous") if page.page > 1 else ""
    following = button(page.page, "Next") if page.has_next else ""
    return (
        '<div id="pagination-snippet" class="snippet svelte-jmfu5f standalone">'
        f'<div id="pagination" class="svelte-14nrfpk">{previous}{following}</div></div>'
    )

"""Yandex, emulated: ``/search/?text=…&p=…&numdoc=…`` answered in yandex.com's 2023+ markup.

Each result is an ``li.serp-item`` holding an ``.Organic`` card: the title link
``a.OrganicTitle-Link`` around its ``h2``, the breadcrumb ``.Path`` ("host › path"), the text
``.OrganicText``. Then the related searches, the ``nav.Pager`` whose links carry the 0-based
``p``, and the "N results found" line. An empty page is Yandex's "Ничего не нашли" card; the
block page is its SmartCaptcha checkbox form.
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

_MAX_PAGE_SIZE = 100
_PAGER_SIZE = 5


class YandexEmulator(Emulator):
    engine: ClassVar[str] = "yandex"
    paths: ClassVar[tuple[str, ...]] = ("/search/", "/search")

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "text")
        if not text:
            return None
        num = min(max(query_int(query, "numdoc", 10), 1), _MAX_PAGE_SIZE)
        return PageRequest(query=text, page=max(query_int(query, "p", 0), 0) + 1, num=num)

    def render(self, page: ResultPage, base: str) -> str:
        if page.documents:
            items = "".join(_result(doc, page.query) for doc in page.documents)
            found = f'<div class="serp-adv__found">{page.total_results:,} results found</div>'
        else:
            items = (
                '<li class="serp-item"><div class="EmptySearchResults">'
                '<div class="EmptySearchResults-Title">Ничего не нашли</div>'
                '<div class="EmptySearchResults-Subtitle">Переформулируйте запрос или поищите '
                "что-нибудь ещё</div></div></li>"
            )
            found = ""
        return (
            '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
            f"<title>{esc(page.query)} — Яндекс: нашлось {page.total_results:,} результатов"
            "</title></head><body>"
            f'<header class="HeaderDesktop"><form class="HeaderForm" action="{esc(base)}/search/">'
            '<input class="HeaderForm-Input mini-suggest__control" name="text" type="text"'
            f' aria-label="Запрос" value="{esc(page.query)}"></form></header>'
            f'<div class="main"><div class="content__left">{found}'
            '<ul id="search-result" aria-label="Результаты поиска" class="serp-list">'
            f"{items}</ul>{_related(page, base)}{_pager(page, base)}</div></div></body></html>"
        )

    def render_block(self) -> str:
        # The shape of Yandex's SmartCaptcha: a checkbox form posting to /checkcaptcha.
        return (
            '<html lang="en"><head><title>Are you not a robot?</title></head><body>'
            '<div id="root"><main><form method="POST" action="/checkcaptcha?key=sandbox">'
            "<h1>Please confirm that you and not a robot are sending requests</h1>"
            '<div class="CheckboxCaptcha" data-testid="checkbox-captcha">'
            '<input type="submit" class="CheckboxCaptcha-Button" role="checkbox" value="">'
            "<span>I'm not a robot</span></div></form></main></div></body></html>"
        )


def _result(doc: Document, query: str) -> str:
    parts = urlsplit(doc.url)
    path = parts.path.strip("/")
    return (
        '<li class="serp-item serp-item_card" data-fast="1"><div class="Organic">'
        '<div class="OrganicTitle"><a class="Link OrganicTitle-Link" target="_blank"'
        f' href="{esc(doc.url)}"><h2 class="OrganicTitle-LinkText">'
        f'<span class="OrganicTitleContentSpan">{esc(doc.title)}</span></h2></a></div>'
        '<div class="Organic-Subtitle"><div class="Path Organic-Path">'
        f'<a class="Link Path-Item" href="{esc(doc.url)}"><b>{esc(parts.netloc)}</b>'
        f'<span class="Path-Separator" aria-hidden="true">›</span>{esc(path)}</a></div></div>'
        '<div class="Organic-ContentWrapper"><div class="TextContainer OrganicText">'
        f'<span class="OrganicTextContentSpan">{highlight(doc.snippet, query)}</span>'
        "</div></div></div></li>"
    )


def _link(base: str, query: str, **extra: str | int) -> str:
    return esc(f"{base}/search/?{urlencode({'text': query, **extra})}")


def _related(page: ResultPage, base: str) -> str:
    if not page.related_searches or not page.documents:
        return ""
    items = "".join(
        f'<div class="related__item"><a href="{_link(base, related)}">{esc(related)}</a></div>'
        for related in page.related_searches
    )
    return f'<div class="related"><h2>Вместе с этим ищут</h2>{items}</div>'


def _pager(page: ResultPage, base: str) -> str:
    if page.page == 1 and not page.has_next:
        return ""
    size = {} if page.num == 10 else {"numdoc": page.num}
    items = []
    for number in pager_numbers(page, _PAGER_SIZE):
        if number == page.page:
            items.append(
                f'<button class="Pager-Item Pager-Item_current" aria-label="Текущая страница'
                f' {number}">{number}</button>'
            )
        else:
            href = _link(base, page.query, p=number - 1, **size)
            items.append(
                f'<a class="Pager-Item" aria-label="Страница {number}" href="{href}">{number}</a>'
            )
    return f'<nav class="Pager" aria-labelledby="Pager">{"".join(items)}</nav>'

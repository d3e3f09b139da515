"""The sandbox Bing: corpus pages in the markup www.bing.com sends a browser.

The page keeps the structure of real result pages (``#b_results > li.b_algo > h2 > a``, links
through the ``/ck/a?…&u=a1<base64url>`` click tracker, ``div.b_caption > p``, ``cite``,
``.sb_count``, the ``#brsv3`` related-searches block and the ``li.b_pag`` pager), so
``BingEngine`` reads it with the same code paths as the real thing, tracker unwrapping included.
Only the chrome no parser looks at (scripts, styles, header menus) is left out.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import Emulator, PageRequest, esc, query_int, query_text

# Bing caps ``count`` at 50; the corpus can serve what SearchParams allows.
_MAX_COUNT = 100


class BingEmulator(Emulator):
    engine: ClassVar[str] = "bing"

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "q")
        if not text:
            return None
        num = min(max(query_int(query, "count", 10), 1), _MAX_COUNT)
        return PageRequest.at_offset(text, query_int(query, "first", 1) - 1, num)

    def render(self, page: ResultPage, base: str) -> str:
        num = page.num
        if page.documents:
            results = "".join(_result(doc) for doc in page.documents)
        else:
            results = (
                f'<li class="b_no"><h1>There are no results for <strong>{esc(page.query)}'
                "</strong></h1><ul><li><span>Check your spelling or try different keywords"
                "</span></li></ul></li>"
            )
        return (
            '<!DOCTYPE html><html dir="ltr" lang="en" xml:lang="en"><head>'
            '<meta content="text/html; charset=utf-8" http-equiv="content-type">'
            f"<title>{esc(page.query)} - Search</title></head>"
            '<body class="b_respl">'
            f"{_header(base, page.query)}"
            '<div id="b_content"><main aria-label="Search Results">'
            '<div id="b_tween"><div id="b_tween_searchResults">'
            f'<span class="sb_count">{_count_text(page, num)}</span></div></div>'
            f'<ol id="b_results">{results}{_related(page, base)}{_pager(page, base, num)}</ol>'
            '</main><aside aria-label="Additional Results"><ol id="b_context"></ol></aside>'
            "</div></body></html>"
        )

    def render_block(self) -> str:
        # The shape of Bing's real challenge: normal page chrome around a Turnstile widget.
        return (
            '<!DOCTYPE html><html dir="ltr" lang="en" xml:lang="en"><head>'
            '<meta content="text/html; charset=utf-8" http-equiv="content-type">'
            "<title>Search</title></head>"
            '<body class="b_respl b_sbText">'
            f"{_header('', '')}"
            '<div class="captcha"><div class="captcha_header">One last step</div>'
            '<div class="captcha_text">Please solve the challenge below to continue</div>'
            '<div class="checkbox"><div id="turnstile-widget"></div></div></div>'
            "</body></html>"
        )


def _header(base: str, query: str) -> str:
    return (
        '<header id="b_header" role="banner">'
        f'<form action="{esc(base)}/search" id="sb_form">'
        '<div class="b_searchboxForm" role="search">'
        f'<input class="b_searchbox" id="sb_form_q" name="q" type="search" value="{esc(query)}"'
        ' maxlength="1000">'
        '<input type="submit" class="b_searchboxSubmit" id="sb_form_go" name="go" value="Search">'
        "</div></form></header>"
    )


def _count_text(page: ResultPage, num: int) -> str:
    if page.page == 1 or not page.documents:
        return f"About {page.total_results:,} results"
    first = (page.page - 1) * num + 1
    return f"{first}-{first + len(page.documents) - 1} of {page.total_results:,} results"


def _tracked(url: str) -> str:
    """``url`` behind Bing's click tracker, as real result links are."""
    digest = hashlib.sha256(url.encode()).hexdigest()
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return (
        f"https://www.bing.com/ck/a?!&&p={digest}&ptn=3&ver=2&hsh=4"
        f"&fclid={digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        f"&u=a1{encoded}&ntb=1"
    )


def _cite(url: str) -> str:
    """The breadcrumb Bing shows for a URL: "https://host › path › parts"."""
    split = urlsplit(url)
    parts = [f"{split.scheme}://{split.netloc}", *filter(None, split.path.split("/"))]
    return " › ".join(parts)


def _result(doc: Document) -> str:
    href = esc(_tracked(doc.url))
    site = urlsplit(doc.url).netloc
    date = f'<span class="news_dt">{esc(doc.date)}</span>&nbsp;·&nbsp;' if doc.date else ""
    return (
        '<li class="b_algo" data-id="">'
        f'<div class="b_tpcn"><a class="tilk" aria-label="{esc(site)}" tabindex="-1"'
        f' target="_blank" href="{href}"><div class="tptxt"><div class="tptt">{esc(site)}</div>'
        '<div class="tpmeta"><div class="b_attribution" tabindex="-1">'
        f"<cite>{esc(_cite(doc.url))}</cite></div></div></div></a></div>"
        f'<h2 class=""><a target="_blank" href="{href}">{esc(doc.title)}</a></h2>'
        f'<div class="b_caption"><p class="b_lineclamp2">{date}{esc(doc.snippet)}</p></div>'
        "</li>"
    )


def _search_link(base: str, query: str, **extra: str | int) -> str:
    return esc(f"{base}/search?{urlencode({'q': query, **extra})}")


def _related(page: ResultPage, base: str) -> str:
    if not page.related_searches:
        return ""
    asked = set(page.query.split())
    items = []
    for number, related in enumerate(page.related_searches, start=1):
        # Bing bolds the words a suggestion adds to the query.
        words = " ".join(
            esc(word) if word in asked else f"<strong>{esc(word)}</strong>"
            for word in related.split()
        )
        link = _search_link(base, related, FORM=f"QSRE{number}")
        items.append(
            f'<li><a href="{link}"><div class="b_suggestionIcon"></div>'
            f'<div class="b_suggestionText">{words}</div></a></li>'
        )
    return (
        '<li class="b_ans"><div class="b_rs" id="brsv3">'
        f"<h2>Related searches for <strong>{esc(page.query)}</strong></h2>"
        f'<ul class="b_vList b_divsec">{"".join(items)}</ul></div></li>'
    )


def _page_link(base: str, query: str, page: int, num: int) -> str:
    extra: dict[str, str | int] = {"first": (page - 1) * num + 1, "count": num}
    if page > 1:
        extra["FORM"] = "PERE" if page == 2 else f"PERE{page - 2}"
    return _search_link(base, query, **extra)


def _pager(page: ResultPage, base: str, num: int) -> str:
    if page.page == 1 and not page.has_next:
        return ""
    items = []
    if page.page > 1:
        items.append(
            f'<li><a class="sb_pagP sb_pagP_bp b_widePag sb_bp" aria-label="Previous page"'
            f' title="Previous page" href="{_page_link(base, page.query, page.page - 1, num)}">'
            '<div class="sw_prev">Previous</div></a></li>'
        )
    items.extend(
        f'<li><a class="b_widePag sb_bp" aria-label="Page {number}"'
        f' href="{_page_link(base, page.query, number, num)}">{number}</a></li>'
        for number in range(max(1, page.page - 2), page.page)
    )
    items.append(
        f'<li><a aria-label="Page {page.page}" class="sb_pagS sb_pagS_bp b_widePag sb_bp">'
        f"{page.page}</a></li>"
    )
    if page.has_next:
        following = _page_link(base, page.query, page.page + 1, num)
        items.append(
            f'<li><a class="b_widePag sb_bp" aria-label="Page {page.page + 1}"'
            f' href="{following}">{page.page + 1}</a></li>'
            f'<li><a class="sb_pagN sb_pagN_bp b_widePag sb_bp" aria-label="Next page"'
            f' title="Next page" href="{following}"><div class="sw_next">Next</div></a></li>'
        )
    return (
        '<li class="b_pag"><nav role="navigation"'
        f' aria-label="More results for {esc(page.query)}"><h4 class="b_hide">Pagination</h4>'
        f'<ul class="sb_pagF">{"".join(items)}</ul></nav></li>'
    )

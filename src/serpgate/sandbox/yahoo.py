"""Yahoo Search, emulated: ``/search?p=…&b=…&pz=…`` answered in search.yahoo.com's markup.

Results are rendered as Yahoo serves them to an HTTP client: every link wrapped in the
``r.search.yahoo.com/…/RU=<target>/RK=…`` click tracker, the site name sharing its element with
the breadcrumb, the date prefixed to the snippet, "People also ask" between the results, the
"Searches related to" table, and the numbered pagination with the result count. The block page is
Yahoo's bare "error 999" refusal, which is what a rate-limited address gets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlencode, urlsplit

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import (
    Emulator,
    PageRequest,
    esc,
    pager_numbers,
    query_int,
    query_text,
)

_DEFAULT_PAGE_SIZE = 7  # what Yahoo shows when the URL does not say
_MAX_PAGE_SIZE = 100
# How many page numbers Yahoo's pager lists.
_PAGER_SIZE = 5


class YahooEmulator(Emulator):
    engine: ClassVar[str] = "yahoo"

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "p")
        if not text:
            return None
        size = query_int(query, "pz", _DEFAULT_PAGE_SIZE)
        size = min(size, _MAX_PAGE_SIZE) if size > 0 else _DEFAULT_PAGE_SIZE
        return PageRequest.at_offset(text, query_int(query, "b", 1) - 1, size)

    def render(self, page: ResultPage, base: str) -> str:
        items = [_result(doc) for doc in page.documents]
        if items and page.related_questions:
            items.insert(min(3, len(items)), _people_also_ask(page))
        if items:
            main = "".join(f"<li>{item}</li>" for item in items)
            after = _also_try(page, base) + _pagination(page, base)
        else:
            main = (
                '<li class="first last"><div class="dd zrp"><p>We did not find results for:'
                f" <b>{esc(page.query)}</b>. Check spelling or type a new query.</p></div></li>"
            )
            after = ""
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(page.query)} - Yahoo Search Results</title></head><body>"
            f'<form id="sf" role="search" action="{esc(base)}/search">'
            f'<input type="text" id="yschsp" name="p" value="{esc(page.query)}"></form>'
            '<div id="bd" role="document"><div id="results"><div id="cols"><div id="left">'
            '<div id="main" class="main-res"><div id="web" class="web-res">'
            '<h2 class="off-left">Search Results</h2>'
            f'<ol class="reg searchCenterMiddle">{main}</ol></div>{after}'
            "</div></div></div></div></div></body></html>"
        )

    def render_block(self) -> str:
        return (
            "<!doctype html><html><head><title>Yahoo</title></head><body>"
            '<div id="content"><p>Sorry, Unable to process request at this time -- error 999.</p>'
            "</div></body></html>"
        )


def _tracked(url: str) -> str:
    """``url`` behind Yahoo's click tracker, as links served to HTTP clients are."""
    # The tracker's opaque fields differ per link on the real page, so they do here too.
    token = hashlib.sha256(url.encode()).hexdigest()[:22]
    return (
        f"https://r.search.yahoo.com/_ylt={token};_ylu=Y29sbwNncTEEcG9zAzEEdnRpZAMEc2VjA3Ny"
        f"/RV=2/RE=1774000000/RO=10/RU={quote(url, safe='').lower()}/RK=2/RS={token[::-1]}-"
    )


def _result(doc: Document) -> str:
    parts = urlsplit(doc.url)
    crumbs = [p for p in parts.path.split("/") if p][:2]
    breadcrumb = " › ".join([f"{parts.scheme}://{parts.netloc}", *crumbs])
    site = parts.netloc.split(".")[-2].capitalize()
    date = f'<span class="fc-smoke">{esc(doc.date)} · </span>' if doc.date else ""
    return (
        '<div class="dd algo algo-sr relsrch Sr"><div class="compTitle options-toggle">'
        '<a class="d-ib va-top mt-38 mb-4 mxw-100p" data-matarget="algo" target="_blank"'
        f' referrerpolicy="origin" href="{esc(_tracked(doc.url))}">'
        '<div class="d-ib p-abs t-0 l-0 fz-13 lh-16 fc-dustygray wr-bw ls-n fw-m">'
        '<span style="letter-spacing: 0.195px" class="d-ib va-mid">'
        f'<span class="fc-141414 d-b">{esc(site)}</span>{esc(breadcrumb)}</span></div>'
        '<h3 style="display: block" class="title fc-2015C2-imp pt-6 ivmt-6 mxw-100p">'
        f'<span class="d-b fz-20 lh-24 tc ls-024 fw-500">{esc(doc.title)}</span></h3></a></div>'
        '<div class="compText aAbs">'
        '<p class="fc-dustygray fz-14 lh-22 ls-02 mah-44 ov-h d-box fbox-ov fbox-lc2">'
        f"{date}{esc(doc.snippet)}</p></div></div>"
    )


def _people_also_ask(page: ResultPage) -> str:
    items = "".join(
        f'<div class="itm pt-8 pb-8" qidx="{number}"><div class="cnt mt-0"><div class="ttl">'
        '<div class="ttl-l" aria-expanded="false" role="button"><div class="compText"><p>'
        f'<span class="cur-p fc-refblack fz-16 fw-500 lh-28">{esc(question)}</span>'
        '</p></div></div></div><div class="exp hidden"><div class="compTextList"><ul>'
        f'<li class="va-top mb-8 fz-m"><div class="lh-m ls-024 d-b">{esc(answer)}</div></li>'
        "</ul></div></div></div></div>"
        for number, (question, answer) in enumerate(page.related_questions, 1)
    )
    return (
        '<div class="dd bb-1 bingrelqa catKG bingrelqa"><div class="compTitle pb-16">'
        '<p class="title fz-20 lh-24 fw-500">People also ask</p></div>'
        f'<div class="compContainerExp compContainerExpRight">{items}</div></div>'
    )


def _search_link(base: str, query: str, **extra: str | int) -> str:
    return esc(f"{base}/search?{urlencode({'p': query, **extra})}")


def _also_try(page: ResultPage, base: str) -> str:
    cells = "".join(
        '<tr class="d-box pb-8"><td class="d-f ai-c bgc-refgray bdr-100 w-304">'
        f'<a class="d-f ai-c w-100p fz-14 lh-17 fc-141414"'
        f' href="{_search_link(base, related, fr2="p:s,v:w,m:rs-bottom")}">{esc(related)}</a>'
        "</td></tr>"
        for related in page.related_searches
    )
    return (
        '<ol class="reg searchCenterFooter"><li class="first last"><div class="dd AlsoTry">'
        '<div class="compTitle"><h2 class="title"><span class="fc-refblack fz-20 fw-500">'
        f"Searches related to {esc(page.query)}</span></h2></div>"
        f'<table class="compTable mt-6 mb-0 td-n"><tbody>{cells}</tbody></table>'
        "</div></li></ol>"
    )


def _pagination(page: ResultPage, base: str) -> str:
    size = page.num

    def link(number: int) -> str:
        return _search_link(base, page.query, b=(number - 1) * size + 1, pz=size, bct=0)

    numbers = []
    for number in pager_numbers(page, _PAGER_SIZE):
        if number == page.page:
            numbers.append(f"<strong>{number}</strong>")
        else:
            shown = f"Results {(number - 1) * size + 1}-{number * size}"
            numbers.append(f'<a title="{shown}" href="{link(number)}">{number}</a>')
    following = f'<a class="next" href="{link(page.page + 1)}">Next</a>' if page.has_next else ""
    return (
        f'<div class="compPagination"><div class="pages">{"".join(numbers)}</div>{following}'
        f'<span class="fz-13 fc-smoke">About {page.total_results:,} search results</span></div>'
    )

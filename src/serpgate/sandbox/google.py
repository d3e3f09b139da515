"""The sandbox Google: corpus pages in the markup www.google.com sends a desktop browser.

The page keeps the structure of real result pages (2023 desktop, with the numbered pager
Google brought back in 2025): ``#result-stats``, ``#rso`` of ``div.MjjYud`` blocks, each
result a ``div.g[data-hveid]`` with its ``a > h3`` title, ``cite`` and ``div.VwiC3b`` snippet
(a dated one starts with ``<span>Mar 5, 2020</span> — ``), a "People also ask" block of
``.related-question-pair[data-q]`` after the third result, related searches in ``#bres`` and
the ``table.AaVjTc`` pager with ``a#pnnext`` in ``#botstuff``. The first page also carries a
"Top stories" carousel (``a.WlydOe`` news cards, 2021-2025) and an image pack (``[data-lpage]``
tiles) of its first documents. ``GoogleEngine`` therefore reads it with the same code paths as
a real page. Only the chrome no parser looks at (scripts, styles, header menus) is left out.
The block page is the ``/sorry/`` reCAPTCHA page.

Every tab (``tbm``/``udm``) is answered with this page: its news cards are what the News tab
reads, its image tiles what the Images tab reads, its results what the Videos tab reads.
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
    pager_numbers,
    query_int,
    query_text,
)

_DEFAULT_NUM = 10
_MAX_NUM = 100
# How many page numbers Google's pager lists.
_PAGER_SIZE = 10
# Where Google puts "People also ask" among the first results.
_QUESTIONS_AFTER = 3
# Where the top stories and the image pack sit, and how many documents each shows.
_STORIES_AFTER = 1
_CAROUSEL_SIZE = 3


class GoogleEmulator(Emulator):
    engine: ClassVar[str] = "google"

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "q")
        if not text:
            return None
        num = min(max(query_int(query, "num", _DEFAULT_NUM), 1), _MAX_NUM)
        return PageRequest.at_offset(text, query_int(query, "start", 0), num)

    def render(self, page: ResultPage, base: str) -> str:
        num = page.num
        blocks = [_result(doc, index) for index, doc in enumerate(page.documents)]
        if page.documents and page.related_questions:
            blocks.insert(min(_QUESTIONS_AFTER, len(blocks)), _questions(page))
        if page.page == 1 and page.documents:
            blocks.insert(min(_STORIES_AFTER, len(blocks)), _top_stories(page) + _images(page))
        stats = _statistics(page) if page.documents else ""
        nothing = "" if page.documents else _no_results(page.query)
        return (
            '<!DOCTYPE html><html itemscope="" itemtype="http://schema.org/SearchResultsPage" '
            'lang="en"><head><meta charset="UTF-8">'
            f"<title>{esc(page.query)} - Google Search</title></head>"
            '<body class="srp" jscontroller="Eox39d">'
            f"{_search_box(base, page.query)}"
            '<div id="main"><div id="cnt">'
            '<div id="appbar"><div id="slim_appbar">'
            f'<div id="result-stats">{stats}</div></div></div>'
            '<div id="rcnt"><div id="center_col" class="s6JM6d">'
            '<div id="taw"><div id="tvcap"></div></div>'
            f'<div id="res" role="main"><div id="topstuff">{nothing}</div>'
            '<div id="search"><div data-hveid="CAEQAA">'
            '<h1 class="Uo8X3b OhScic zsYMMe">Search Results</h1>'
            f'<div id="rso" class="v7W49e">{"".join(blocks)}</div></div></div></div>'
            '<div id="bottomads"></div>'
            f'<div id="botstuff"><div data-hveid="CAcQAA">{_related(page, base)}'
            f"{_pager(page, base, num)}</div></div>"
            "</div></div></div></div></body></html>"
        )

    def render_block(self) -> str:
        return (
            '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            '<meta name="viewport" content="initial-scale=1">'
            "<title>https://www.google.com/search</title></head>"
            '<body style="font-family:arial,sans-serif;background-color:#fff;color:#000;'
            'padding:20px;font-size:18px">'
            '<div style="max-width:400px"><hr noshade="" size="1"><br>'
            '<form id="captcha-form" action="index" method="post">'
            '<noscript><div style="font-size:13px">In order to continue, please enable '
            "javascript on your web browser.</div></noscript>"
            '<div id="recaptcha" class="g-recaptcha" data-sitekey="sandbox" '
            'data-callback="submitCallback"></div>'
            '<input type="hidden" name="q" value="sandbox">'
            '<input type="hidden" name="continue" value="https://www.google.com/search"></form>'
            '<hr noshade="" size="1"><div style="font-size:13px"><b>About this page</b><br><br>'
            "Our systems have detected unusual traffic from your computer network. This page "
            "checks to see if it's really you sending the requests, and not a robot."
            '<br><br><div id="infoDiv" style="display:none">This page appears when Google '
            "automatically detects requests coming from your computer network which appear to "
            "be in violation of the Terms of Service.</div>"
            "IP address: 127.0.0.1<br>URL: https://www.google.com/search<br></div></div>"
            "</body></html>"
        )


def _hveid(*parts: object) -> str:
    # Google's block ids are opaque tokens; a stable hash keeps pages byte-for-byte repeatable.
    return "C" + hashlib.sha256(repr(parts).encode()).hexdigest()[:6].upper() + "QAA"


def _search_box(base: str, query: str) -> str:
    return (
        f'<div id="searchform"><form action="{esc(base)}/search" method="GET" role="search">'
        f'<textarea class="gLFyf" name="q" aria-label="Search">{esc(query)}</textarea>'
        "</form></div>"
    )


def _statistics(page: ResultPage) -> str:
    seconds = 0.2 + page.total_results % 60 / 100
    return f"About {page.total_results:,} results<nobr> ({seconds:.2f} seconds)&nbsp;</nobr>"


def _no_results(query: str) -> str:
    return (
        '<div class="card-section"><p role="heading" aria-level="3">Your search - '
        f"<em>{esc(query)}</em> - did not match any documents.</p>"
        "<p>Suggestions:</p><ul><li>Make sure that all words are spelled correctly.</li>"
        "<li>Try different keywords.</li></ul></div>"
    )


def _shown_url(url: str) -> str:
    """Google's breadcrumb form of a URL: "https://host › path › to"."""
    parts = urlsplit(url)
    crumbs = [part for part in parts.path.split("/") if part]
    trail = "".join(f" › {esc(crumb)}" for crumb in crumbs)
    origin = esc(f"{parts.scheme}://{parts.netloc}")
    return f'{origin}<span class="dyjrff qzEoUe" role="text">{trail}</span>' if trail else origin


def _site_name(url: str) -> str:
    host = urlsplit(url).netloc.split(".")
    return (host[1] if len(host) > 2 else host[0]).capitalize()


def _result(doc: Document, index: int) -> str:
    dated = (
        f'<span class="MUxGbd wuQ4Ob WZ8Tjf"><span>{esc(doc.date)}</span> — </span>'
        if doc.date
        else ""
    )
    return (
        '<div class="MjjYud"><div jscontroller="SC7lYd" class="g Ww4FFb vt6azd tF2Cxc asEBEc" '
        f'lang="en" data-hveid="{_hveid(doc.url, index)}">'
        '<div class="kvH3mc BToiNc UK95Uc" data-snc="ih6Jnb_sandbox">'
        '<div class="Z26q7c UK95Uc jGGQ5e" data-snf="x5WNvb" data-snhf="0">'
        f'<div class="yuRUbf"><a href="{esc(doc.url)}"><br>'
        f'<h3 class="LC20lb MBeuO DKV0Md">{esc(doc.title)}</h3>'
        '<div class="TbwUpd NJjxre iUh30 ojE3Fb"><span class="H9lube"></span><div>'
        f'<span class="VuuXrf">{esc(_site_name(doc.url))}</span><div class="byrV5b">'
        f'<cite class="qLRx3b tjvcx GvPZzd cHaqb" role="text">{_shown_url(doc.url)}</cite>'
        "</div></div></div></a></div></div>"
        '<div class="Z26q7c UK95Uc" data-sncf="1" data-snf="nke7rc">'
        f'<div class="VwiC3b yXK7lf MUxGbd yDYNvb lyLwlc lEBKkf">{dated}'
        f"<span>{esc(doc.snippet)}</span></div></div></div></div></div>"
    )


def _questions(page: ResultPage) -> str:
    pairs = "".join(
        '<div><div class="wQiwMc related-question-pair" jscontroller="xfmZMb" '
        f'data-q="{esc(question)}"><div><div role="button" tabindex="0" class="dnXCYb" '
        'aria-expanded="false"><div class="JlqpRe"><span class="JCzEY ZwRhJd">'
        f'<span class="CSkcDe">{esc(question)}</span></span></div></div></div>'
        '<div class="bCOlv"><div class="wDYxhc" data-attrid="wa:/description" data-md="61">'
        f'<span class="hgKElc">{esc(answer)}</span></div></div></div></div>'
        for question, answer in page.related_questions
    )
    return (
        '<div class="MjjYud"><div jscontroller="Da4hkd" class="cUnQKe" '
        f'data-initq="{esc(page.query)}" data-hveid="{_hveid("paa", page.query)}">'
        '<div class="Wt5Tfe"><div class="eJH8qe adDDi"><div class="T6zPgb">'
        '<div aria-level="2" role="heading"><span class="mgAbYb OSrXXb RES9jf IFnjPb">'
        f'People also ask</span></div></div></div><div data-sgrd="true">{pairs}</div>'
        "</div></div></div>"
    )


def _top_stories(page: ResultPage) -> str:
    cards = "".join(
        f'<div data-news-doc-id="{_hveid("news", doc.url)}">'
        f'<a class="WlydOe" href="{esc(doc.url)}"><div class="SoAPf">'
        f'<div class="MgUUmf NUnG9d"><span>{esc(_site_name(doc.url))}</span></div>'
        f'<div class="n0jPhd ynAwRc MBeuO nDgy9d" role="heading" aria-level="3">{esc(doc.title)}'
        f'</div><div class="GI74Re nDgy9d">{esc(doc.snippet)}</div>'
        f'<div class="OSrXXb rbYSKb LfVVr"><span>{esc(doc.date or "1 day ago")}</span></div>'
        "</div></a></div>"
        for doc in page.documents[:_CAROUSEL_SIZE]
    )
    return (
        '<div class="MjjYud"><g-section-with-header><div class="e2BEnf">'
        '<div role="heading" aria-level="2">Top stories</div></div>'
        f'<div class="SoaBEf">{cards}</div></g-section-with-header></div>'
    )


def _images(page: ResultPage) -> str:
    tiles = "".join(
        f'<div class="eA0Zlc" data-lpage="{esc(doc.url)}"><h3 class="ob5Hkd"><a>'
        f'<img alt="{esc(doc.title)}" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></a></h3>'
        f'<a class="EZAeBe" href="{esc(doc.url)}"><span>{esc(_site_name(doc.url))}</span>'
        f'<div class="toI8Rb OSrXXb">{esc(doc.title)}</div></a></div>'
        for doc in page.documents[:_CAROUSEL_SIZE]
    )
    return (
        '<div class="MjjYud"><div id="iur"><div role="heading" aria-level="2">Images</div>'
        f"{tiles}</div></div>"
    )


def _related(page: ResultPage, base: str) -> str:
    if not page.related_searches:
        return ""
    links = "".join(
        f'<div data-hveid="{_hveid("rs", query)}"><a class="k8XOCe R0xfCb VCOFK s8bAkb" '
        f'href="{esc(_search_url(base, query))}"><div class="aXBZVd"></div>'
        f'<div class="s75CSd OhScic AB4Wff">{esc(query)}</div></a></div>'
        for query in page.related_searches
    )
    return (
        '<div id="bres"><div class="ULSxyf"><div class="MjjYud"><div class="oIk2Cb">'
        '<div class="adDDi"><span aria-level="2" role="heading">Related searches</span></div>'
        f'<div class="y6Uyqe"><div class="AJLUJb">{links}</div></div></div></div></div></div>'
    )


def _pager(page: ResultPage, base: str, num: int) -> str:
    if page.page == 1 and not page.has_next:
        return ""
    cells = []
    if page.page > 1:
        previous = esc(_search_url(base, page.query, (page.page - 2) * num, num))
        cells.append(
            f'<td class="d6cvqb BBwThe"><a id="pnprev" href="{previous}">'
            '<span class="SJajHc"></span><span>Previous</span></a></td>'
        )
    for number in pager_numbers(page, _PAGER_SIZE):
        if number == page.page:
            cells.append(f'<td class="YyVfkd NKTSme"><span class="SJajHc"></span>{number}</td>')
            continue
        href = esc(_search_url(base, page.query, (number - 1) * num, num))
        cells.append(
            f'<td class="NKTSme"><a aria-label="Page {number}" class="fl" href="{href}">'
            f'<span class="SJajHc NVbCr"></span>{number}</a></td>'
        )
    if page.has_next:
        following = esc(_search_url(base, page.query, page.page * num, num))
        cells.append(
            '<td aria-level="2" class="d6cvqb BBwThe" role="heading">'
            f'<a class="LLNLxf" href="{following}" id="pnnext"><span class="SJajHc NVbCr"></span>'
            '<span class="oeN89d">Next</span></a></td>'
        )
    return (
        '<div role="navigation"><h1 class="Uo8X3b">Page Navigation</h1>'
        '<table class="AaVjTc" role="presentation"><tbody><tr jsname="TeSSVd" valign="top">'
        f"{''.join(cells)}</tr></tbody></table></div>"
    )


def _search_url(base: str, query: str, start: int = 0, num: int = _DEFAULT_NUM) -> str:
    params: dict[str, str | int] = {"q": query}
    if start:
        params["start"] = start
    if num != _DEFAULT_NUM:
        params["num"] = num
    return f"{base}/search?{urlencode(params)}"

"""What a Google page says about itself: result count, time taken, query, and its pages.

``#result-stats`` has read "About 1,230,000 results (0.52 seconds)" in every desktop layout,
with the interface language's digits and words ("Ungefähr 114.000.000 Ergebnisse (0,25 Sek.)"),
so the count is the last number before the parenthesis and the time the number inside it.
Mobile pages have no statistics line.

Pages are linked three ways over the years: the numbered pager ``table.AaVjTc`` with
``a#pnnext`` (desktop until 2023 and again since 2025), the "More results" button ``a.T7sFge``
that loads the next page in place (2023 continuous scrolling, desktop and mobile), and the
basic page's footer link "Next >".
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from serpgate.engines.base import node_text, parse_count, parse_int
from serpgate.engines.google.links import Links
from serpgate.models.params import SearchParams
from serpgate.models.response import Pagination, SearchInformation

_COUNT = re.compile(r"\d[\d.,\s\u202f\xa0]*")
_TIME = re.compile(r"\(\s*(\d+(?:[.,]\d+)?)")
_NEXT = "a#pnnext[href], a.T7sFge[href], a[aria-label='Next page'][href]"


def search_information(tree: LexborHTMLParser, *, empty: bool) -> SearchInformation:
    """``empty``: the page holds no results of any kind ("Fully empty")."""
    total, seconds = _statistics(node_text(tree.css_first("#result-stats")))
    return SearchInformation(
        organic_results_state="Fully empty" if empty else "Results for exact spelling",
        total_results=total,
        time_taken_displayed=seconds,
        query_displayed=_query(tree),
    )


def _statistics(text: str) -> tuple[int | None, float | None]:
    if not text:
        return None, None
    head, _, _ = text.partition("(")
    counts = _COUNT.findall(head)
    seconds = _TIME.search(text)
    return (
        parse_count(counts[-1]) if counts else None,
        float(seconds.group(1).replace(",", ".")) if seconds else None,
    )


def _query(tree: LexborHTMLParser) -> str | None:
    box = tree.css_first("textarea[name='q']")
    if box is not None and (text := node_text(box)):
        return text
    field = tree.css_first("input[name='q']")
    value = field.attributes.get("value") if field is not None else None
    return " ".join(value.split()) if value else None


def pagination(tree: LexborHTMLParser, links: Links, params: SearchParams) -> Pagination | None:
    current = params.page
    pages: dict[str, str] = {}
    pager = tree.css_first("table.AaVjTc") or tree.css_first("[role='navigation'] table")
    if pager is not None:
        for anchor in pager.css("a[href]"):
            number = parse_int(node_text(anchor))
            url = links.absolute(anchor.attributes.get("href"))
            if number is not None and url:
                pages[str(number)] = url
        shown = parse_int(node_text(pager.css_first("td.YyVfkd")))
        if shown is not None:
            current = shown
    following = tree.css_first(_NEXT)
    next_url = links.absolute(following.attributes.get("href")) if following is not None else None
    if not pages and next_url is None:
        return None
    return Pagination(current=current, next=next_url, other_pages=pages or None)

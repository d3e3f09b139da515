"""Startpage's ``/sp/search``, answered from the corpus as its server-rendered React page.

Like the real page it carries the results twice: as markup (``div.result`` cards with the site
name, the display URL, an ``a.result-title`` and a ``p.description`` that starts with Google's
date prefix) and as the app's props in ``React.createElement(UIStartpage.AppSerpWeb, {...})``,
where titles and descriptions are HTML-escaped with ``<b>`` highlights and the page links point
at ``/serp?q=...&page=N``, which is served too. The block page is the CAPTCHA page with its
feedback form that Startpage redirects distrusted clients to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote, urlencode, urlsplit

import orjson

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

PER_PAGE = 10
# How many page numbers Startpage's pager lists.
_PAGER_SIZE = 10

_RESULT = """
<div class="result css-o7i03b">
  <div class="upper css-4wnopv">
    <a href="{url}" rel="noopener nofollow" target="_blank" aria-label="{url}" \
data-testid="result-favicon" class="favicon-link css-n7c8hp"><div class="favicon-container \
css-rwvbo4"><div tabindex="-1" class="favicon css-t84qzr"><img class="css-pznjws" height="16px" \
width="16px" src="" alt="favicon" loading="lazy"></div></div></a>
    <div class="wgl-title-link-container css-1gz2b5f">
      <a href="{url}" rel="noopener nofollow" target="_blank" aria-label="link" \
class="wgl-site-title css-1d1wvpc"><span class="link-text">{site}</span></a><a href="{url}" \
rel="noopener nofollow" target="_blank" aria-label="{url}" class="wgl-display-url css-u4i8t0">\
<span class="link-text default-link-text css-1h1cbur">{url}</span><span class="link-text \
structured-link-text css-11jm68n">{crumbs}</span></a>
    </div>
  </div>
  <a class="result-title result-link css-1bggj8v" href="{url}" target="_blank" \
rel="noopener nofollow noreferrer" data-testid="gl-title-link"><h2 class="wgl-title css-i3irj7">
    {title}
  </h2></a>
  <p class="description css-1507v2l">
    {description}
  </p>
</div>
"""

_PAGE_FORM = """
<form action="{base}/sp/search" method="post" class="css-eaucvd" aria-label="{label}">\
<input type="hidden" name="query" value="{query}"><input type="hidden" name="cat" value="web">\
<input type="hidden" name="sc" value="{sc}"><input type="hidden" name="page" value="{number}">\
<button tabindex="0" class="css-ocm99y" type="submit" data-testid="pagination-button" \
role="link">{name}</button></form>
"""

_BLOCK = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Startpage</title>
  <link rel="canonical" href="https://www.startpage.com/sp/captcha">
</head>
<body>
  <main class="captcha-page">
    <h1>Please verify that you are a human</h1>
    <p>As a privacy-focused search engine we do not track you, so we cannot tell you apart from \
automated traffic. Solve the puzzle below to continue searching.</p>
    <form id="captcha-form" action="/sp/captcha/verify" method="post">
      <div class="captcha-container"></div>
      <button type="submit">Continue</button>
    </form>
    <form id="blocked_feedback_form" action="/sp/captcha/feedback" method="post">
      <textarea name="feedback" aria-label="Tell us what happened"></textarea>
      <button type="submit">Send feedback</button>
    </form>
  </main>
</body>
</html>
"""


class StartpageEmulator(Emulator):
    engine = "startpage"
    # ``/serp`` is where the page links in the props lead.
    paths = ("/sp/search", "/serp")

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        q = query_text(query, "query", "q")
        if not q:
            return None
        return PageRequest(query=q, page=max(query_int(query, "page", 1), 1), num=PER_PAGE)

    def render(self, page: ResultPage, base: str) -> str:
        sc = hashlib.sha256(page.query.encode()).hexdigest()[:14]
        query = esc(page.query)
        cards = "".join(_card(doc, page.query) for doc in page.documents) or (
            f'<div class="no-results css-1c0g5w4"><h2>No results found for <b>{query}</b></h2>'
            "<p>Try different keywords.</p></div>"
        )
        numbers = pager_numbers(page, _PAGER_SIZE)
        forms = "".join(
            _PAGE_FORM.format(
                base=base,
                label=f"current page {n}" if n == page.page else f"go to page {n}",
                query=query,
                sc=sc,
                number=n,
                name=n,
            )
            for n in numbers
        )
        props = orjson.dumps(_props(page, base, sc, numbers)).decode().replace("</", "<\\/")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>Startpage Search Results</title>\n</head>\n<body>\n"
            f'<form id="search" action="{base}/sp/search" method="post">'
            f'<input id="q" name="query" type="text" class="search-form-input" value="{query}">'
            f'<input type="hidden" name="sc" value="{sc}"></form>\n'
            '<div class="css-108ilqv e6rco0f0"><div id="main" class="css-1juavld">'
            f'<div class="w-gl css-1og29rd">{cards}</div>\n'
            '<div class="pagination-container css-1kfqg5z"><div class="pagination css-1phvy2g" '
            f'role="navigation" aria-label="more search results">{forms}</div></div>\n'
            "</div></div>\n<script>\n  function hydrateSSR() {\n"
            "    ReactDOM.hydrate(\n"
            f"      React.createElement(UIStartpage.AppSerpWeb, {props}),\n"
            "      document.getElementById('main')\n    );\n  }\n</script>\n</body>\n</html>\n"
        )

    def render_block(self) -> str:
        return _BLOCK


def _card(doc: Document, query: str) -> str:
    return _RESULT.format(
        url=esc(doc.url),
        site=esc(_site(doc.url)),
        crumbs=_crumbs(doc.url),
        title=esc(doc.title),
        description=_description(doc, query),
    )


def _props(page: ResultPage, base: str, sc: str, numbers: range) -> dict[str, object]:
    """The app's props, reduced to the parts that carry the page."""

    def link(number: int, name: str, next_prev: bool) -> dict[str, object]:
        url = f"{base}/serp?{urlencode({'q': page.query, 'page': number, 'sc': sc})}"
        selected = number == page.page and not next_prev
        return {
            "name": name,
            "nextPrev": next_prev,
            "number": number,
            "selected": selected,
            "url": url,
        }

    pages = [link(n, str(n), False) for n in numbers]
    if page.has_next:
        pages.append(link(page.page + 1, "Next", True))
    results = [
        {
            "clickUrl": doc.url,
            "description": _description(doc, page.query),
            "displayUrl": doc.url,
            "siteLinks": [],
            "siteTitleData": _site(doc.url),
            "sourceIndex": index,
            "title": highlight(doc.title, page.query),
        }
        for index, doc in enumerate(page.documents)
    ]
    return {
        "render": {
            "page": page.page - 1,
            "presenter": {
                "pagination": {"current": page.page - 1, "pages": pages},
                "regions": {
                    "mainline": [
                        {
                            "display_type": "web-google",
                            "presented_count": len(results),
                            "results": results,
                        }
                    ],
                    "sidebar": [],
                },
            },
            "query": quote(page.query),
            "query_category": "web",
            "search_sc": sc,
            "hasBeenEscaped": True,
        },
        "translations": {},
    }


def _description(doc: Document, query: str) -> str:
    """The snippet as Google words it, led by the day in Startpage's "world" format."""
    snippet = highlight(doc.snippet, query)
    day = doc.day
    return f"{day.day} {day:%b %Y} <b>...</b> {snippet}" if day else snippet


def _site(url: str) -> str:
    return urlsplit(url).netloc.removeprefix("www.")


def _crumbs(url: str) -> str:
    parts = urlsplit(url)
    crumbs = [f"<span>{esc(f'{parts.scheme}://{parts.netloc}')} </span>"]
    crumbs += [
        f"<span>&nbsp;›&nbsp;</span><span> {esc(step)} </span>"
        for step in parts.path.split("/")
        if step
    ]
    return "".join(crumbs)

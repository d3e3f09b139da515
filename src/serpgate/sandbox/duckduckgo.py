"""DuckDuckGo's no-JavaScript endpoint, ``/html/``, answered from the corpus in its own markup.

The page is the one html.duckduckgo.com serves: the header form, ``div#links`` of
``div.result.web-result`` blocks whose links go through ``//duckduckgo.com/l/?uddg=`` redirects,
the publication day beside the URL, and "Previous"/"Next" forms that carry the offset ``s`` and a
``vqd`` token. Paging follows the offset as DuckDuckGo's does. The block page is the anomaly
modal with its image puzzle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import (
    Emulator,
    PageRequest,
    esc,
    highlight,
    query_int,
    query_text,
)

PER_PAGE = 10

_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
  <meta http-equiv="content-type" content="text/html; charset=UTF-8" />
  <meta name="referrer" content="origin" />
  <meta name="robots" content="noindex, nofollow" />
  <title>{query} at DuckDuckGo</title>
  <link rel="stylesheet" media="handheld, all" href="//duckduckgo.com/dist/h.css" type="text/css"/>
</head>
"""

_RESULT = """
  <div class="result results_links results_links_deep web-result ">
    <div class="links_main links_deep result__body"> <!-- This is the visible part -->
      <h2 class="result__title">
        <a rel="nofollow" class="result__a" href="{href}">{title}</a>
      </h2>
      <div class="result__extras">
        <div class="result__extras__url">
          <span class="result__icon">
            <a rel="nofollow" href="{href}">
              <img class="result__icon__img" width="16" height="16" alt=""
                src="//external-content.duckduckgo.com/ip3/{host}.ico" name="i15" />
            </a>
          </span>
          <a class="result__url" href="{href}">
          {displayed}
          </a>
          {date}
        </div>
      </div>
      <a class="result__snippet" href="{href}">{snippet}</a>
      <div class="clear"></div>
    </div>
  </div>
"""

_NAV_FORM = """
  <div class="nav-link">
    <form action="{action}" method="post">
      <input type="submit" class='btn btn--alt' value="{label}" />
      <input type="hidden" name="q" value="{query}" />
      <input type="hidden" name="s" value="{offset}" />
      <input type="hidden" name="nextParams" value="" />
      <input type="hidden" name="v" value="l" />
      <input type="hidden" name="o" value="json" />
      <input type="hidden" name="dc" value="{display_count}" />
      <input type="hidden" name="api" value="d.js" />
      <input type="hidden" name="vqd" value="{vqd}" />
      <input name="kl" value="{region}" type="hidden" />
    </form>
  </div>
"""

_BLOCK = """<!DOCTYPE html>
<html lang="en-US">
<head>
  <meta http-equiv="content-type" content="text/html; charset=UTF-8" />
  <meta name="robots" content="noindex, nofollow" />
  <title>DuckDuckGo</title>
</head>
<body class="body--html">
  <form id="challenge-form" action="//duckduckgo.com/anomaly.js?sv=html&amp;cc=botnet"
    method="POST">
    <div class="anomaly-modal__mask">
      <div class="anomaly-modal__modal" data-testid="anomaly-modal">
        <div class="anomaly-modal__title">Unfortunately, bots use DuckDuckGo too.</div>
        <div class="anomaly-modal__description">Please complete the following challenge to \
confirm this search was made by a human.</div>
        <div class="anomaly-modal__instructions">Select all squares containing a duck:</div>
        <div class="anomaly-modal__puzzle"></div>
        <button class="btn btn--primary anomaly-modal__submit" type="submit">Submit</button>
      </div>
    </div>
  </form>
</body>
</html>
"""


class DuckDuckGoEmulator(Emulator):
    engine = "duckduckgo"
    paths = ("/html/", "/html")

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        q = query_text(query, "q")
        if not q:
            return None
        return PageRequest.at_offset(q, query_int(query, "s", 0), PER_PAGE)

    def render(self, page: ResultPage, base: str) -> str:
        query = esc(page.query)
        parts = [
            _HEAD.format(query=query),
            '<body class="body--html">\n  <a name="top" id="top"></a>\n',
            f'  <div id="header" class="header cw header--html">\n'
            f'    <form name="x" class="header__form" action="{base}/html/" method="post">\n'
            f'      <input name="q" autocomplete="off" class="search__input" '
            f'id="search_form_input_homepage" type="text" value="{query}" />\n'
            f"    </form>\n  </div>\n",
            '  <div class="serp__results">\n  <div id="links" class="results">\n',
        ]
        if page.documents:
            parts.extend(_result(doc, page.query) for doc in page.documents)
        else:
            parts.append(
                '  <div class="result results_links results_links_deep result--no-result">\n'
                '    <div class="no-results">No results.</div>\n  </div>\n'
            )
        offset = (page.page - 1) * page.num
        if page.page > 1:
            parts.append(_nav_form(page, base, "Previous", offset - page.num))
        if page.has_next:
            parts.append(_nav_form(page, base, "Next", offset + page.num))
        parts.append("  </div>\n  </div>\n</body>\n</html>\n")
        return "".join(parts)

    def render_block(self) -> str:
        return _BLOCK


def _result(doc: Document, query: str) -> str:
    target = quote(doc.url, safe="")
    rut = hashlib.sha256(doc.url.encode()).hexdigest()
    host = doc.url.split("/")[2]
    day = doc.day
    date = f"<span>&nbsp; &nbsp; {day.isoformat()}T00:00:00.0000000</span>" if day else ""
    return _RESULT.format(
        href=esc(f"//duckduckgo.com/l/?uddg={target}&rut={rut}"),
        title=esc(doc.title),
        host=esc(host),
        displayed=esc(doc.url.removeprefix("https://")),
        date=date,
        snippet=highlight(doc.snippet, query),
    )


def _nav_form(page: ResultPage, base: str, label: str, offset: int) -> str:
    # DuckDuckGo derives vqd from the query; a stable digest stands in for it.
    vqd = "4-" + str(int(hashlib.sha256(page.query.encode()).hexdigest()[:30], 16))
    return _NAV_FORM.format(
        action=f"{base}/html/",
        label=label,
        query=esc(page.query),
        offset=offset,
        display_count=offset + 1,
        vqd=vqd,
        region="wt-wt",
    )

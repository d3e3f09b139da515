"""Deciding what page Google answered, before anything is read from it.

A Google answer is one of four things, and only the first two may become a successful search:

- a results page: the full page (desktop or mobile, ``#rso``/``#search``/``#center_col``) or the
  basic no-JS page (``div.Gx5Zad`` cards since 2022, ``div.ZINbbc`` before), holding at least
  one block this package reads;
- Google's own no-results page: the same containers, with "Your search - … - did not match any
  documents" (in the interface language) or a result count of 0 in ``#result-stats``;
- a block: the ``/sorry/`` CAPTCHA, the JavaScript wall, the consent page (see ``blocking``);
- anything else: a new layout, an error page, a body cut off before its results (its search box
  filled, and the ``<noscript>`` link to ``/httpservice/retry/enablejs`` every result page
  carries for browsers without JavaScript: not the JavaScript wall). That is
  ``UnrecognizedPage``, never "no results": an empty answer would be cached and charged, and a
  layout change would go unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import node_text
from serpgate.engines.google.blocking import raise_if_blocked
from serpgate.errors import JavaScriptRequired, UnrecognizedPage
from serpgate.models.response import SerpData

Layout = Literal["full", "basic"]

FULL_CONTAINERS = "#rso, #search, #center_col"
BASIC_CARDS = "div.Gx5Zad, div.ZINbbc"

# "Your search - q - did not match any documents." in the interface languages seen on the
# pages of our users; the result count of 0 covers the rest.
_NO_RESULTS_PHRASES = (
    "did not match any documents",
    "did not match any news results",
    "did not match any image results",
    "did not match any video results",
    "no results found for",
    "ergab keine treffer",
    "ne correspond à aucun document",
    "no obtuvo ningún resultado",
    "non ha prodotto risultati",
    "não encontrou nenhum documento",
    "に一致する情報は見つかりませんでした",
)
# Where Google writes the no-results notice, in every layout since 2019.
_NOTICE = "#topstuff, #botstuff, #res, #center_col, div.Gx5Zad, div.ZINbbc, #main"
# The search box at the top of every results page (the /sorry/ form's hidden "q" is not one).
_QUERY_BOX = "textarea[name='q']"
_QUERY_FIELD = "input[name='q']:not([type='hidden'])"
_ZERO_COUNT = ("0 results", "0 ergebnisse", "0 résultat", "0 resultados", "0 risultati")


def page_layout(tree: LexborHTMLParser, text: Callable[[], str]) -> Layout:
    """The layout of a results page; raises the typed error for every other page, for which
    it reads the page's ``text``."""
    if tree.css_first(FULL_CONTAINERS) is not None:
        return "full"
    if any(_shown(card) for card in tree.css(BASIC_CARDS)):
        return "basic"
    try:
        raise_if_blocked(tree, text())
    except JavaScriptRequired:
        # Result pages served to browsers carry the wall's <noscript> link too: one whose search
        # box holds the query is a results page cut off before its results, not the wall.
        if node_text(tree.css_first(_QUERY_BOX)) or _query_value(tree):
            raise UnrecognizedPage(
                "Google answered a results page cut off before its results container"
            ) from None
        raise
    raise UnrecognizedPage(
        "Google answered a page that is neither results, its no-results page nor a known block"
    )


def _query_value(tree: LexborHTMLParser) -> str:
    field = tree.css_first(_QUERY_FIELD)
    return (field.attributes.get("value") or "").strip() if field is not None else ""


def says_no_results(tree: LexborHTMLParser) -> bool:
    """Google's own evidence that the search has no results."""
    for node in tree.css(_NOTICE):
        text = node_text(node).lower()
        if any(phrase in text for phrase in _NO_RESULTS_PHRASES):
            return True
    stats = node_text(tree.css_first("#result-stats")).lower()
    return any(stats.endswith(count) or f" {count} " in f" {stats} " for count in _ZERO_COUNT)


def has_results(data: SerpData) -> bool:
    """Whether a parse found anything a client pays for (related searches alone are not)."""
    return bool(
        data.organic_results
        or data.ads
        or data.answer_box
        or data.knowledge_graph
        or data.ai_overview
        or data.local_results
        or data.shopping_results
        or data.top_stories
        or data.inline_videos
        or data.news_results
        or data.images_results
        or data.video_results
        or data.related_questions
    )


def require_results(data: SerpData, tree: LexborHTMLParser) -> SerpData:
    """``data`` if it holds results or the page says it has none; else ``UnrecognizedPage``."""
    if has_results(data):
        return data
    if says_no_results(tree):
        info = data.search_information.model_copy(update={"organic_results_state": "Fully empty"})
        return data.model_copy(update={"search_information": info})
    raise UnrecognizedPage(
        "Google answered a results page in which nothing could be read and which does not say "
        "it has no results: a new layout?"
    )


def _shown(card: LexborNode) -> bool:
    # The basic page keeps its hidden search-tools card (``#st-card``) even when cut off.
    attributes = card.attributes
    return "display:none" not in (attributes.get("style") or "").replace(" ", "")

"""Recognising the pages Google answers instead of results.

Only pages without a results container get here. Three kinds, all served with status 200 or
429 and told apart by their markup and words, never by the absence of results (a query can
legitimately have none):

- the ``/sorry/`` page: "Our systems have detected unusual traffic", a reCAPTCHA form
  (``form#captcha-form`` with a ``div.g-recaptcha`` since at least 2017). It also carries a
  ``<noscript>`` asking for JavaScript, so it is checked first: it is a ban, not a JS wall.
- the JavaScript wall Google has served plain HTTP clients since January 2025: a near-empty
  "Google Search" page whose ``<noscript>`` refreshes to ``/httpservice/retry/enablejs`` and
  whose fallback says "If you're having trouble accessing Google Search, please click here"
  (a ``/search?…&emsg=SG_REL`` link); since 2026 also a card "Turn on JavaScript to keep
  searching". No CAPTCHA; a browser, or another exit, gets results.
- the EU consent interstitial ("Before you continue to Google"), a form posting to
  ``consent.google.*``: no results until cookies are accepted.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from serpgate.errors import BlockedError, JavaScriptRequired

_CAPTCHA = (
    "form#captcha-form, div#recaptcha, div.g-recaptcha, form[action*='/sorry/'], "
    "script[src*='/recaptcha/']"
)
_JAVASCRIPT_WALL = (
    "meta[http-equiv='refresh'][content*='/httpservice/retry/enablejs'], "
    "a[href*='/httpservice/retry/enablejs'], a[href*='emsg=SG_REL']"
)
# The wall's own words, for variants without the links: the 2025 fallback line and the 2026
# "Turn on JavaScript to keep searching" card.
_JAVASCRIPT_PHRASES = (
    "trouble accessing google search",
    "turn on javascript to keep searching",
    "enable javascript",
)
_CONSENT = "form[action*='consent.google.'], a[href*='consent.google.'][href*='/save']"

_BANNED_TEXT = "unusual traffic from your computer network"
# A /sorry/ ban lasts "shortly after those requests stop": minutes, not seconds.
_CAPTCHA_REST_SECONDS = 600.0
_CONSENT_REST_SECONDS = 60.0


def is_javascript_wall(html: str) -> bool:
    """Whether ``html`` is the enable-JavaScript wall (and not results, nor a CAPTCHA): what a
    browser gets past by running the page's script."""
    try:
        tree = LexborHTMLParser(html)
        if tree.css_first("#center_col, #search, #rso") is not None:
            return False
        raise_if_blocked(tree, html)
    except JavaScriptRequired:
        return True
    except BlockedError:
        return False
    return False


def raise_if_blocked(tree: LexborHTMLParser, html: str) -> None:
    """Raise the typed error for a CAPTCHA, JavaScript wall or consent page; else return.

    Only for pages without a results container: result pages served to browsers may carry
    the same ``<noscript>`` refresh, and the same words, for visitors without JavaScript.
    """
    if tree.css_first(_CAPTCHA) is not None:
        raise BlockedError(
            "Google answered its /sorry/ CAPTCHA page (unusual traffic)",
            retry_after=_CAPTCHA_REST_SECONDS,
        )
    lowered = html.lower()
    if tree.css_first(_JAVASCRIPT_WALL) is not None or any(
        phrase in lowered for phrase in _JAVASCRIPT_PHRASES
    ):
        raise JavaScriptRequired("Google answered its enable-JavaScript page instead of results")
    if tree.css_first(_CONSENT) is not None:
        raise BlockedError(
            "Google answered its cookie consent page", retry_after=_CONSENT_REST_SECONDS
        )
    # A /sorry/ variant without the reCAPTCHA form (an IP already banned outright).
    if _BANNED_TEXT in html:
        raise BlockedError(
            "Google answered its /sorry/ page (unusual traffic)",
            retry_after=_CAPTCHA_REST_SECONDS,
        )

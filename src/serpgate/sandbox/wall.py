"""``JavaScriptWall``: the sandbox's version of the page Google has served non-browsers since 2025.

A client without a valid cookie gets, instead of results, a near-empty "Google Search" page: a
``<noscript>`` that refreshes to ``/httpservice/retry/enablejs`` (what a client without
JavaScript follows), a fallback line "If you're having trouble accessing Google Search, please
click here" linking to the search with ``emsg=SG_REL``, and an inline script. The script turns a
nonce the page carries into a token (a few hundred rounds of 32-bit FNV-1a, so that only a client
that runs the script gets it), sets it as a cookie and reloads the page; the reload, carrying the
cookie, gets results.

The cookie is bound to what the real wall binds it to: the client's address and its user agent
(the nonce is an HMAC of both and the expiry, under a secret made when the sandbox starts), and it
expires after ``cookie_ttl`` seconds on the sandbox's clock. A cookie replayed from another
address, with another user agent, or after its expiry gets the wall again. No capture of the real
page is in the fixtures; this one follows what public descriptions of it show, and carries every
mark ``engines.google.blocking`` recognises.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from html import escape

COOKIE = "SG_SS"
# Rounds of FNV-1a the script runs: trivial for a JavaScript engine, but the token cannot be read
# off the page without running (or re-implementing) the script.
_ROUNDS = 256
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def token_for(nonce: str) -> str:
    """The token the challenge script computes from ``nonce``; the server checks against it."""
    value = nonce
    for _ in range(_ROUNDS):
        digest = _FNV_OFFSET
        for char in value:
            digest = ((digest ^ ord(char)) * _FNV_PRIME) & 0xFFFFFFFF
        value = f"{digest:08x}{nonce}"
    return value[:8]


# The same computation in the page; Math.imul keeps the product in 32 bits as the Python does.
_SCRIPT = """(function(){{var n="{nonce}",v=n;for(var r=0;r<{rounds};r++){{var h=0x811c9dc5;
for(var i=0;i<v.length;i++){{h=Math.imul(h^v.charCodeAt(i),0x01000193)>>>0;}}
v=("0000000"+h.toString(16)).slice(-8)+n;}}
document.cookie="{cookie}={expires}."+n+"."+v.slice(0,8)+"; path=/; max-age={max_age}";
location.replace(location.href);}})();"""


class JavaScriptWall:
    """Decides per request whether the client passed the challenge, and renders the challenge."""

    def __init__(
        self,
        cookie_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        secret: bytes | None = None,
    ) -> None:
        self.cookie_ttl = cookie_ttl
        self._clock = clock
        self._secret = secret or secrets.token_bytes(32)

    def _nonce(self, address: str, user_agent: str, expires: str) -> str:
        message = f"{address}\n{user_agent}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:16]

    def admits(self, address: str, user_agent: str, cookies: Mapping[str, str]) -> bool:
        """Whether the cookie was earned from this address and user agent, and is unexpired."""
        expires, _, rest = cookies.get(COOKIE, "").partition(".")
        nonce, _, token = rest.partition(".")
        try:
            alive = int(expires) > self._clock() * 1000
        except ValueError:
            return False
        expected = self._nonce(address, user_agent, expires)
        return (
            alive
            and hmac.compare_digest(nonce, expected)
            and hmac.compare_digest(token, token_for(expected))
        )

    def challenge(self, address: str, user_agent: str, base: str, query: str) -> str:
        """The wall page for this client; ``base`` is the emulator's URL prefix."""
        # Milliseconds on the sandbox's clock: digits only, so "." can separate the parts.
        expires = str(int((self._clock() + self.cookie_ttl) * 1000))
        nonce = self._nonce(address, user_agent, expires)
        sei = escape(nonce[:12])
        enablejs = f"{base}/httpservice/retry/enablejs?sei={sei}"
        script = _SCRIPT.format(
            nonce=nonce,
            rounds=_ROUNDS,
            cookie=COOKIE,
            expires=expires,
            # Never outliving the server's own expiry, so a browser never sends a stale one.
            max_age=max(1, int(self.cookie_ttl)),
        )
        retry = escape(f"{base}/search?{query}&emsg=SG_REL&sei={nonce[:12]}", quote=True)
        return (
            '<!DOCTYPE html><html lang="en"><head><title>Google Search</title>'
            "<style>body{background-color:#fff}</style></head><body>"
            "<noscript><style>table,div,span,p{display:none}</style>"
            f'<meta content="0;url={enablejs}" http-equiv="refresh">'
            '<div style="display:block">Please click <a href="'
            f'{enablejs}">here</a> if you are not redirected within a few seconds.</div>'
            f"</noscript><script>{script}</script>"
            '<div style="font-size:13px">If you\'re having trouble accessing Google Search, '
            f'please&nbsp;<a href="{retry}">click here</a>, or send&nbsp;feedback.</div>'
            "</body></html>"
        )

    @staticmethod
    def enable_javascript() -> str:
        """Where the ``<noscript>`` refresh leads: a page asking for JavaScript, no results."""
        return (
            '<!DOCTYPE html><html lang="en"><head><title>Google Search</title></head><body>'
            "<p>Turn on JavaScript to keep searching. Please enable JavaScript in your "
            "browser settings and reload this page.</p></body></html>"
        )

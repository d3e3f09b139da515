"""Turning the hrefs of a Google page into the URLs a client can follow.

Google links results three ways: directly (the full desktop page since about 2019), through its
click redirect ``/url?q=<target>`` (the basic no-JS page, images, some mobile layouts) or
``/url?url=<target>`` (news and app cards), and relative to its own host for its own pages
(pagination, related searches). A client wants the page itself, so redirects are unwrapped, and
Google's own pages are made absolute against the host the search went to: the configured base
URL, or ``www.<google_domain>``, so that a sandbox's pages keep pointing at the sandbox.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from selectolax.lexbor import LexborNode

from serpgate.engines.base import absolute_url, query_param

_REDIRECT_PATHS = ("/url", "/interstitial")


class Links:
    """Resolves hrefs found on one page fetched from ``origin`` (scheme, host and mount path)."""

    def __init__(self, origin: str) -> None:
        # A trailing slash makes relative hrefs keep a mount path such as the sandbox's ``/google``.
        self.origin = origin.rstrip("/") + "/"
        self._host = urlsplit(self.origin).netloc

    def absolute(self, href: str | None) -> str | None:
        """``href`` as an absolute URL, or None for empty, fragment-only, script and malformed
        links."""
        return absolute_url(self.origin, href)

    def target(self, href: str | None) -> str | None:
        """Where a result link leads: Google's click redirects unwrapped, the rest absolute."""
        url = self.absolute(href)
        if url is None or not any(f"{path}?" in url for path in _REDIRECT_PATHS):
            return url
        try:
            parts = urlsplit(url)
        except ValueError:  # an invalid host such as "http://[", so not Google's
            return url
        if parts.path in _REDIRECT_PATHS and self._is_google(href or "", parts.netloc):
            wrapped = query_param(url, "q") or query_param(url, "url")
            if wrapped and wrapped.startswith(("http://", "https://")):
                return wrapped
        return url

    def is_google_search(self, url: str) -> bool:
        """Whether ``url`` is a Google results page (``/search?…`` on this host or Google's)."""
        if "/search" not in url:  # most links: no need to split them
            return False
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        own = parts.netloc == self._host or ".google." in f".{parts.netloc}"
        return own and parts.path.endswith("/search")

    def _is_google(self, href: str, host: str) -> bool:
        # Another site's own ``/url?q=`` page is a page, not Google's redirect.
        return href.startswith("/") or host == self._host or ".google." in f".{host}"


def enclosing_anchor(node: LexborNode | None) -> LexborNode | None:
    """The ``<a>`` a title heading sits in (Google wraps the heading, never the reverse)."""
    while node is not None and node.tag != "a":
        node = node.parent
    return node

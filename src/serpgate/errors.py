"""The one exception tree of serpgate.

Domain code raises these; only the API layer turns them into HTTP answers, so that nothing below
the routes knows about HTTP and every failure reaches the client as ``{"error": "..."}`` with the
status the class carries. Engines raise the ``UpstreamError`` branch, which the upstream layer
reads to decide whether another attempt could help::

    SerpgateError                      500  (never raised directly)
    ├── InvalidRequest                 400  a parameter is missing, malformed or out of range
    ├── AuthenticationError            401  no API key, or one that is unknown or revoked
    ├── NotFound                       404  no such search for this tenant
    ├── RateLimited                    429  a rate limit is spent (carries retry_after)
    ├── QuotaExceeded                  402  the plan's monthly searches are spent (not a throttle)
    ├── ServiceUnavailable             503  shedding load or a breaker is open (carries retry_after)
    │   └── BrowserUnavailable         503  the engine needs Chromium and none was found
    └── UpstreamError                  502  the engine's answer could not be used
        ├── BlockedError               502  the engine answered a CAPTCHA, challenge or ban page
        │   └── JavaScriptRequired     502  the engine wants a browser, not an HTTP client
        ├── UnrecognizedPage           502  not results, nor the engine's no-results, nor a block
        ├── TransientUpstreamError     502  5xx, reset, truncated body: another attempt may work
        │   ├── UpstreamTimeout        504  no complete answer inside the deadline
        │   └── ProxyFailure           502  the proxy failed before the engine was reached
        └── FatalUpstreamError         502  a 4xx that no retry fixes
"""

from __future__ import annotations


class SerpgateError(Exception):
    """Base of every error serpgate answers with; ``message`` is safe to show to clients."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # Extra response headers the answer must carry (RateLimit-* on a 429, for one).
        self.headers: dict[str, str] = {}


class InvalidRequest(SerpgateError):
    status_code = 400


class AuthenticationError(SerpgateError):
    status_code = 401


class NotFound(SerpgateError):
    status_code = 404


class RateLimited(SerpgateError):
    status_code = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceeded(SerpgateError):
    status_code = 402


class ServiceUnavailable(SerpgateError):
    status_code = 503

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BrowserUnavailable(ServiceUnavailable):
    """An engine set to fetch through Chromium (its JavaScript wall) while none can be run."""


class UpstreamError(SerpgateError):
    status_code = 502


class BlockedError(UpstreamError):
    """The engine recognised us as a bot; ``retry_after`` says how long this exit should rest."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JavaScriptRequired(BlockedError):
    """Google-style "enable JavaScript" page: not a CAPTCHA, but no results either."""


class UnrecognizedPage(UpstreamError):
    """The page is none of what the parser knows: never cached, never charged, kept for an operator.

    Answering such a page as "no results" would be a confident lie (a new layout, a consent page, an
    interstitial, a truncated body); a parser says "no results" only on the engine's own evidence.
    The upstream layer attaches the page and the URL it came from, for the operator's copy.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.page: str | None = None
        self.url: str | None = None


class TransientUpstreamError(UpstreamError):
    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamTimeout(TransientUpstreamError):
    status_code = 504


class ProxyFailure(TransientUpstreamError):
    """The exit failed (unreachable, refused the tunnel) before the engine saw the request."""


class FatalUpstreamError(UpstreamError):
    pass

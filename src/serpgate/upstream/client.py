"""``UpstreamClient``: the ``http`` transport to engines, one pooled aiohttp session per engine.

The cheapest transport, and the one a fingerprinting engine refuses (its ClientHello is no
browser's); ``transports.EngineTransports`` picks it, ``impersonate`` or ``browser`` per engine.

A session per engine keeps one engine's slow or stuck connections from starving another's pool.
``send`` makes exactly one attempt and turns every network failure into a typed
``TransientUpstreamError`` (or ``UpstreamTimeout``); deciding whether to try again, and through
which proxy, belongs to the layer above.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import aiohttp

from serpgate.engines.base import UpstreamRequest
from serpgate.errors import TransientUpstreamError, UpstreamTimeout
from serpgate.settings import UpstreamSettings
from serpgate.upstream.failures import describe_failure

# Engines' pages run to 2 MB; anything far larger is not a result page and not worth buffering.
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class RawResponse:
    """What one attempt got back, before any judgement of whether it is usable.

    The body is kept as the bytes that came (``content``) and decoded only when first read
    (``body``): a page parsed in another process (``PageParser``) crosses to it as those bytes,
    and the archive keeps them as they came when they are UTF-8, so a 650 KB page need not be
    decoded and encoded again on the event loop of every search.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    elapsed: float
    # A codec Python knows (``known_charset``); a byte that does not decode becomes U+FFFD.
    charset: str = "utf-8"

    @classmethod
    def of_text(
        cls, status: int, headers: Mapping[str, str], body: str, url: str, elapsed: float
    ) -> RawResponse:
        """An answer that came as text (a browser's document)."""
        raw = cls(status, headers, body.encode(), url, elapsed)
        raw.__dict__["body"] = body  # already what ``body`` would decode ``content`` to
        return raw

    @cached_property
    def body(self) -> str:
        return self.content.decode(self.charset, errors="replace")

    def encoded(self) -> bytes:
        """The body as UTF-8: the bytes as they came when the engine sent UTF-8."""
        return self.content if self.charset == "utf-8" else self.body.encode()


def known_charset(name: str | None) -> str:
    """The codec for a charset an answer names; UTF-8 for none, or one Python does not know."""
    try:
        return codecs.lookup(name or "utf-8").name
    except LookupError:
        return "utf-8"


class UpstreamClient:
    def __init__(self, settings: UpstreamSettings) -> None:
        self._settings = settings
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._closed = False

    def _session(self, engine: str) -> aiohttp.ClientSession:
        if self._closed:
            # A fetch still running at shutdown (a coalesced leader, a background refresh)
            # must not open a session that nothing would close.
            raise TransientUpstreamError(f"{engine}: the service is shutting down")
        session = self._sessions.get(engine)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._settings.pool_size,
                limit_per_host=self._settings.pool_size_per_host,
                ttl_dns_cache=300,
                enable_cleanup_closed=True,
                # False accepts a sandbox's self-signed certificate.
                ssl=self._settings.verify_tls,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self._settings.total_timeout,
                    sock_connect=self._settings.connect_timeout,
                ),
                # Engines set tracking cookies; replaying them across tenants would link searches.
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )
            self._sessions[engine] = session
        return session

    async def send(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None = None,
        time_left: float | None = None,
    ) -> RawResponse:
        """One attempt at ``request``; raises ``TransientUpstreamError`` for network failures.

        ``time_left`` is what remains of the caller's deadline, capping this attempt below the
        session's own total timeout.
        """
        started = time.perf_counter()
        # Always a ClientTimeout: aiohttp reads an explicit ``timeout=None`` as "no timeout at
        # all", not as "the session's".
        per_call = aiohttp.ClientTimeout(
            total=min(time_left, self._settings.total_timeout)
            if time_left is not None
            else self._settings.total_timeout,
            sock_connect=self._settings.connect_timeout,
        )
        try:
            async with self._session(engine).request(
                request.method,
                request.url,
                headers=request.headers,
                proxy=proxy,
                timeout=per_call,
                allow_redirects=True,
                max_redirects=5,
            ) as response:
                # StreamReader.read(n) returns what is buffered, not n bytes: read to the end.
                chunks, size = [], 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise TransientUpstreamError(
                            f"{engine}: answer over {MAX_BODY_BYTES} bytes"
                        )
                    chunks.append(chunk)
                return RawResponse(
                    status=response.status,
                    headers=dict(response.headers),
                    content=b"".join(chunks),
                    url=str(response.url),
                    elapsed=time.perf_counter() - started,
                    charset=known_charset(response.charset),
                )
        except TimeoutError as exc:
            message = describe_failure(engine, exc, request.url, proxy, per_call.total or 0.0)
            raise UpstreamTimeout(message) from exc
        except (aiohttp.ClientError, OSError) as exc:
            message = describe_failure(engine, exc, request.url, proxy)
            raise TransientUpstreamError(message) from exc

    async def close(self) -> None:
        self._closed = True
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions))

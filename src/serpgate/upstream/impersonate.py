"""``ImpersonateClient``: requests whose TLS and HTTP/2 fingerprints are Chrome's, via curl_cffi.

Engines tell clients apart before reading a header: aiohttp's ClientHello (JA4
``t13d1812h1_…``, ALPN http/1.1 only) is no browser's, while curl_cffi built against BoringSSL
with ``impersonate="chrome131"`` sends Chrome's own (``t13d1517h2_8daaf6152771_…``), its HTTP/2
settings and its header order. What is left to keep consistent is what the headers claim: the
User-Agent the engine asked for (Chrome 131 on Windows, or on Android for mobile searches) and
the client hints Chrome sends with it (``sec-ch-ua*``), derived here from that User-Agent, so that
no header contradicts another or the fingerprint. The profile follows the User-Agent: the
Android profile for a mobile one.

Cookies are never kept between requests (``discard_cookies``): engines' tracking cookies would
link different tenants' searches. The one cookie sent on purpose is the challenge cookie a browser
earned for this exit (``WallPass``), passed per request.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from curl_cffi import CurlECode
from curl_cffi.requests import AsyncSession, RequestsError, Response

from serpgate.engines.base import UpstreamRequest
from serpgate.errors import ProxyFailure, TransientUpstreamError, UpstreamTimeout
from serpgate.upstream.client import MAX_BODY_BYTES, RawResponse, known_charset
from serpgate.upstream.failures import peer_of

_CHROME = re.compile(r"Chrome/(\d+)")
# Failures that happen before the engine is reached, when a proxy is in the way: the exit's fault.
_PROXY_CODES = frozenset(
    {CurlECode.COULDNT_RESOLVE_PROXY, CurlECode.COULDNT_CONNECT, CurlECode.PROXY}
)


def client_hints(user_agent: str) -> dict[str, str]:
    """The low-entropy client hints Chrome sends with ``user_agent`` (none for other browsers)."""
    found = _CHROME.search(user_agent)
    if found is None:
        return {}
    major = found.group(1)
    mobile = "Android" in user_agent
    if mobile:
        platform = "Android"
    elif "Windows" in user_agent:
        platform = "Windows"
    elif "Mac OS X" in user_agent:
        platform = "macOS"
    else:
        platform = "Linux"
    return {
        "sec-ch-ua": f'"Google Chrome";v="{major}", "Chromium";v="{major}", "Not_A Brand";v="24"',
        "sec-ch-ua-mobile": "?1" if mobile else "?0",
        "sec-ch-ua-platform": f'"{platform}"',
    }


class ImpersonateClient:
    def __init__(
        self,
        profile: str = "chrome131",
        mobile_profile: str = "chrome131_android",
        total_timeout: float = 10.0,
        verify_tls: bool = True,
        max_clients: int = 100,
    ) -> None:
        self._profile = profile
        self._mobile_profile = mobile_profile
        self._total_timeout = total_timeout
        self._verify = verify_tls
        self._max_clients = max_clients
        self._session: AsyncSession[Response] | None = None

    def _open(self) -> AsyncSession[Response]:
        # Made on first use, inside the running loop curl_cffi binds its multi handle to.
        if self._session is None:
            self._session = AsyncSession(max_clients=self._max_clients)
        return self._session

    async def send(
        self,
        engine: str,
        request: UpstreamRequest,
        proxy: str | None = None,
        time_left: float | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """One attempt, as Chrome would make it; network failures become typed errors."""
        agent = next((v for k, v in request.headers.items() if k.lower() == "user-agent"), "")
        profile = self._mobile_profile if "Android" in agent else self._profile
        headers = {**request.headers, **client_hints(agent)}
        timeout = self._total_timeout if time_left is None else min(time_left, self._total_timeout)
        started = time.perf_counter()
        try:
            response = await self._open().request(
                request.method,  # type: ignore[arg-type]  # an upper-case HTTP method by contract
                request.url,
                headers=headers,
                cookies=dict(cookies) if cookies else None,
                proxy=proxy,
                timeout=timeout,
                impersonate=profile,  # type: ignore[arg-type]  # a profile name from settings
                verify=self._verify,
                allow_redirects=True,
                max_redirects=5,
                discard_cookies=True,
            )
        except RequestsError as exc:
            raise _typed(engine, exc, request.url, proxy, timeout) from exc
        body = response.content
        if len(body) > MAX_BODY_BYTES:
            raise TransientUpstreamError(f"{engine}: answer over {MAX_BODY_BYTES} bytes")
        return RawResponse(
            status=response.status_code,
            headers={k: v or "" for k, v in response.headers.items()},
            content=body,
            url=str(response.url),
            elapsed=time.perf_counter() - started,
            charset=known_charset(response.encoding),
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _typed(
    engine: str, error: RequestsError, url: str, proxy: str | None, timeout: float
) -> TransientUpstreamError:
    """The failure in the words ``failures.describe_failure`` uses for aiohttp's."""
    code = error.code
    host = urlsplit(url).hostname or url
    if code == CurlECode.OPERATION_TIMEDOUT:
        return UpstreamTimeout(f"{engine}: no answer from {host} within {timeout:g} s")
    if proxy is not None and code in _PROXY_CODES:
        return ProxyFailure(f"{engine}: could not connect to proxy {peer_of(proxy)}")
    if code == CurlECode.PARTIAL_FILE:
        return TransientUpstreamError(f"{engine}: the answer from {host} was cut short")
    name = code.name.lower() if isinstance(code, CurlECode) else str(code)
    return TransientUpstreamError(f"{engine}: request to {host} failed (curl {name})")

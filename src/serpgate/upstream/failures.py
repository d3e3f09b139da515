"""Network failures told in words a person can act on.

A client that reads ``502 {"error": "google: ClientConnectorDNSError"}`` learns a class name and
nothing else. ``describe_failure`` names the engine, the peer that failed (the engine's host, or
the proxy, by its address without credentials) and the cause ("could not resolve
www.google.com", "connection refused by proxy 127.0.0.3:8080", "timed out after 10 s").
"""

from __future__ import annotations

import errno
import ssl
from urllib.parse import urlsplit

import aiohttp


def peer_of(url: str) -> str:
    """``host:port`` of ``url``, never its credentials or path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def describe_failure(
    engine: str, exc: BaseException, url: str, proxy: str | None = None, timeout: float = 0.0
) -> str:
    """One sentence for the failure ``exc`` of a request to ``url`` (through ``proxy``)."""
    host = urlsplit(url).hostname or url
    via = f"proxy {peer_of(proxy)}" if proxy else peer_of(url)
    return f"{engine}: {_cause(exc, host, via, timeout)}"


def _cause(exc: BaseException, host: str, via: str, timeout: float) -> str:
    """``via`` is the peer a connection goes to: the proxy, else the engine's host and port."""
    if isinstance(exc, TimeoutError):
        return f"no answer from {host} within {timeout:g} s" if timeout else f"{host} timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"could not resolve {host}"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"{via} refused the tunnel to {host} (HTTP {exc.status})"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        return f"{host}'s TLS certificate did not verify"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _os_cause(exc.os_error, via)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{via} closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the answer from {host} was cut short"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return f"{host} redirected too many times"
    if isinstance(exc, OSError):
        return _os_cause(exc, via)
    return f"request to {host} failed ({type(exc).__name__})"


def _os_cause(error: OSError, peer: str) -> str:
    if isinstance(error, ConnectionRefusedError) or error.errno == errno.ECONNREFUSED:
        return f"connection refused by {peer}"
    if isinstance(error, ConnectionResetError) or error.errno == errno.ECONNRESET:
        return f"connection reset by {peer}"
    if error.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH}:
        return f"{peer} is unreachable"
    reason = error.strerror or type(error).__name__
    return f"could not connect to {peer}: {reason.lower()}"

"""SSRF: a webhook never reaches this host's own network unless the operator allows it.

A webhook URL is the client's to choose, and the service POSTs to it from inside the deployment,
where Redis, the metrics port and cloud metadata (169.254.169.254) answer. So every address a
target resolves to must be public. The check happens where the connection is made, in the
resolver the HTTP client uses (``GuardedResolver``), so a name that resolved to a public address
when the search was accepted and to a private one at delivery (DNS rebinding) is still refused;
literal addresses, which aiohttp does not resolve, are checked by ``check_literal`` first.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class RefusedTarget(Exception):
    """The webhook's host is (or resolves to) an address the service may not reach."""


def is_public(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_literal(url: str, *, allow_private: bool) -> None:
    """Refuse a URL whose host is a non-public address literal or ``localhost``."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if allow_private:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise RefusedTarget(f"webhook host {host!r} is this machine")
    try:
        address = ip_address(host)
    except ValueError:
        return  # a name: the resolver judges what it resolves to
    if not is_public(address):
        raise RefusedTarget(f"webhook address {host} is private, loopback or link-local")


class GuardedResolver(AbstractResolver):
    """Resolves as usual, then refuses the host if any of its addresses is not public.

    Any, not all: a name with one private address among public ones could be steered to it.
    """

    def __init__(self, resolver: AbstractResolver | None = None) -> None:
        self._resolver = resolver or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            if not is_public(ip_address(result["host"])):
                raise RefusedTarget(
                    f"webhook host {host!r} resolves to {result['host']}, "
                    "a private, loopback or link-local address"
                )
        return results

    async def close(self) -> None:
        await self._resolver.close()

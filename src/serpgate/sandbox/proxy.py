"""``ForwardProxy``: a sandbox HTTP forward proxy that reaches engines from its own address.

Real proxy pools work because each proxy is a different IP to the engine. Linux routes all of
127.0.0.0/8 to the loopback interface, so each proxy listens on, and connects out from, its own
loopback address (``proxy_address``): the emulators see one client address per proxy and can ban
them one by one, for hundreds of proxies.

It speaks the plain-HTTP proxy protocol (absolute-form ``GET http://host/path``), which is all the
sandbox's plain-http engines need; CONNECT tunnels are out of scope. Its kind decides how it
fails, as the proxies of a bought list fail:

- ``good`` forwards faithfully, answering 502 or 504 when the engine resets or stalls;
- ``dead`` refuses every connection (its port is bound but never listens);
- ``slow`` forwards after ``delay`` seconds (of the shared clock);
- ``forbidden`` answers 403 to everything.

Addressed directly (origin-form), ``GET /_proxy/stats`` returns what it served and injected.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import socket
from collections import Counter
from enum import StrEnum
from urllib.parse import quote

import aiohttp
from aiohttp import web
from yarl import URL

from serpgate.clock import Clock

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded; the
# length is recomputed for the body as sent.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def proxy_address(n: int) -> str:
    """The loopback address of the ``n``-th proxy (1-based): 127.0.0.2, 127.0.0.3, ...

    127.0.0.1 stays the service's own; addresses ending in .0 or .255 are skipped, so the
    numbering runs on into 127.0.1.1 past 127.0.0.254.
    """
    if n < 1:
        raise ValueError("proxies are numbered from 1")
    # 254 usable host numbers (1..254) a /24; number 0 of all, 127.0.0.1, is the service's.
    block, host = divmod(n, 254)
    return str(ipaddress.IPv4Address(0x7F000000 + block * 256 + host + 1))


class ProxyKind(StrEnum):
    GOOD = "good"
    DEAD = "dead"
    SLOW = "slow"
    FORBIDDEN = "forbidden"


class ForwardProxy:
    def __init__(
        self,
        address: str,
        kind: ProxyKind = ProxyKind.GOOD,
        *,
        delay: float = 5.0,
        credentials: tuple[str, str] | None = None,
        upstream_timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self.address = address
        self._clock = clock or Clock()
        self.kind = kind
        self.delay = delay
        self.stats: Counter[str] = Counter()
        self._credentials = credentials
        self._upstream_timeout = upstream_timeout
        self._runner: web.ServerRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._parked: socket.socket | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """The proxy's URL, credentials included, as a client's proxy setting takes it."""
        user = ""
        if self._credentials is not None:
            name, password = self._credentials
            user = f"{quote(name, safe='')}:{quote(password, safe='')}@"
        return f"http://{user}{self.address}:{self._port}"

    @property
    def stats_url(self) -> str:
        return f"http://{self.address}:{self._port}/_proxy/stats"

    async def start(self) -> str:
        if self.kind is ProxyKind.DEAD:
            # Bound without listen(): the port stays ours, and every SYN to it gets a RST.
            self._parked = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._parked.bind((self.address, 0))
            self._port = self._parked.getsockname()[1]
            return self.url
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(self.address, 0)),
            timeout=aiohttp.ClientTimeout(total=self._upstream_timeout),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        # aiohttp re-sends an idempotent request once, silently, when its connection resets; a
        # sandbox proxy must pass the engine's resets on, so it is off (as in aiohttp's own
        # test client).
        self._session._retry_connection = False
        self._runner = web.ServerRunner(web.Server(self._handle), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        if self._parked is not None:
            self._parked.close()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if not request.raw_path.startswith(("http://", "https://")):
            if request.path == "/_proxy/stats":
                return web.json_response({"kind": self.kind.value, **self.stats})
            return web.Response(status=400, text="a forward proxy takes absolute URLs")
        self.stats["requests"] += 1
        if not self._authorised(request.headers.get("Proxy-Authorization")):
            self.stats["auth_refused"] += 1
            return web.Response(status=407, headers={"Proxy-Authenticate": 'Basic realm="sandbox"'})
        if self.kind is ProxyKind.FORBIDDEN:
            self.stats["forbidden"] += 1
            return web.Response(status=403, text="Forbidden by proxy policy")
        if self.kind is ProxyKind.SLOW:
            self.stats["delayed"] += 1
            await self._clock.sleep(self.delay)
        return await self._forward(request)

    async def _forward(self, request: web.BaseRequest) -> web.Response:
        if self._session is None:
            raise RuntimeError("the proxy is not started")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read() if request.body_exists else None
        try:
            async with self._session.request(
                request.method,
                URL(request.raw_path, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                status = upstream.status
                answer = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
        except TimeoutError:
            self.stats["upstream_timeouts"] += 1
            return web.Response(status=504, text="upstream timed out")
        except (aiohttp.ClientError, OSError):
            self.stats["upstream_errors"] += 1
            return web.Response(status=502, text="upstream failed")
        self.stats["forwarded"] += 1
        return web.Response(status=status, body=payload, headers=answer)

    def _authorised(self, header: str | None) -> bool:
        if self._credentials is None:
            return True
        if header is None or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
        except ValueError:
            return False
        expected = ":".join(self._credentials)
        return hmac.compare_digest(decoded.encode(), expected.encode())

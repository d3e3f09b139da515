"""``SandboxWorld``: the whole hostile world on loopback, started and stopped as one.

The sandbox server (every emulator, one fault profile) on 127.0.0.1 and N forward proxies on
127.0.0.2, 127.0.0.3, ... (hundreds of them, if need be: see ``proxy_address``), so that the
service under test reaches the engines through as many distinct client addresses. The engines are
also served over TLS (``https_url``), where the listener reads each client's ClientHello for the
fingerprint check (``sandbox.tls``). ``serpgate sandbox``, ``serpgate demo --profile hostile``,
the integration tests and the reliability benchmark all start the world through this one class.
It runs on the ``Clock`` it is given, which a service in the same process shares.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from serpgate.clock import Clock
from serpgate.sandbox.corpus import Corpus
from serpgate.sandbox.emulator import Emulator
from serpgate.sandbox.faults import FaultProfile
from serpgate.sandbox.proxy import ForwardProxy, ProxyKind, proxy_address
from serpgate.sandbox.server import STATE, WALLED_BY_DEFAULT, create_sandbox_app
from serpgate.sandbox.tls import HttpsListener

_BAD_KINDS = (ProxyKind.DEAD, ProxyKind.SLOW, ProxyKind.FORBIDDEN)


@dataclass(frozen=True, slots=True)
class ProxyMix:
    """How many proxies of each kind the world runs; ``slow_delay`` is the slow ones' delay."""

    good: int = 0
    dead: int = 0
    slow: int = 0
    forbidden: int = 0
    slow_delay: float = 5.0

    @classmethod
    def with_bad_share(cls, total: int, bad_share: float, slow_delay: float = 5.0) -> ProxyMix:
        """``total`` proxies of which ``bad_share`` are bad, dealt dead, slow, forbidden in turn."""
        bad = [_BAD_KINDS[i % len(_BAD_KINDS)] for i in range(round(total * bad_share))]
        return cls(
            good=total - len(bad),
            dead=bad.count(ProxyKind.DEAD),
            slow=bad.count(ProxyKind.SLOW),
            forbidden=bad.count(ProxyKind.FORBIDDEN),
            slow_delay=slow_delay,
        )

    def kinds(self) -> list[ProxyKind]:
        return (
            [ProxyKind.GOOD] * self.good
            + [ProxyKind.DEAD] * self.dead
            + [ProxyKind.SLOW] * self.slow
            + [ProxyKind.FORBIDDEN] * self.forbidden
        )


class SandboxWorld:
    def __init__(
        self,
        emulators: Sequence[Emulator],
        faults: FaultProfile | None = None,
        proxies: ProxyMix | None = None,
        *,
        corpus: Corpus | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        proxy_credentials: tuple[str, str] | None = None,
        clock: Clock | None = None,
        walled: Iterable[str] = WALLED_BY_DEFAULT,
        cookie_ttl: float = 600.0,
        fingerprinted: Iterable[str] = (),
        https: bool = True,
    ) -> None:
        self.clock = clock or Clock()
        self.app = create_sandbox_app(
            emulators,
            corpus,
            faults,
            self.clock,
            walled=walled,
            cookie_ttl=cookie_ttl,
            fingerprinted=fingerprinted,
        )
        self._https: HttpsListener | None = None
        self._with_https = https
        self._engines = [emulator.engine for emulator in emulators]
        self._host = host
        self._port = port
        mix = proxies or ProxyMix()
        self.proxies = [
            ForwardProxy(
                proxy_address(n),
                kind,
                delay=mix.slow_delay,
                credentials=proxy_credentials,
                clock=self.clock,
            )
            for n, kind in enumerate(mix.kinds(), start=1)
        ]
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.https_url = ""

    @property
    def engine_urls(self) -> dict[str, str]:
        """Each engine's base URL, as ``Settings.engine_urls`` takes it."""
        return {engine: f"{self.base_url}/{engine}" for engine in self._engines}

    @property
    def https_engine_urls(self) -> dict[str, str]:
        """Each engine's base URL on the HTTPS listener (empty without it)."""
        if not self.https_url:
            return {}
        return {engine: f"{self.https_url}/{engine}" for engine in self._engines}

    @property
    def proxy_urls(self) -> list[str]:
        return [proxy.url for proxy in self.proxies]

    async def start(self) -> SandboxWorld:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        # Without openssl no certificate can be made: the world runs without HTTPS, and the
        # empty https_url says so to whoever needed it.
        if self._with_https and self._runner.server is not None and shutil.which("openssl"):
            self._https = HttpsListener(self._runner.server, self.app[STATE].fingerprints, host)
            self.https_url = f"https://{host}:{await self._https.start()}"
        # Hundreds of proxies start in a few batches rather than one by one.
        for first in range(0, len(self.proxies), 64):
            await asyncio.gather(*(p.start() for p in self.proxies[first : first + 64]))
        return self

    async def close(self) -> None:
        await asyncio.gather(*(proxy.close() for proxy in self.proxies))
        if self._https is not None:
            await self._https.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SandboxWorld:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def engine_stats(self) -> dict[str, int]:
        """What the engines served and injected, as ``GET /_sandbox/stats`` reports it."""
        return dict(sorted(self.app[STATE].stats.items()))

    def proxy_stats(self) -> dict[str, dict[str, int]]:
        """What each proxy served and injected, keyed ``"127.0.0.N (kind)"``."""
        return {f"{p.address} ({p.kind.value})": dict(p.stats) for p in self.proxies}

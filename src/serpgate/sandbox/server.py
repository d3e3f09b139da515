"""The sandbox server: every emulator under one aiohttp app, each mounted at ``/<engine>``.

So one port serves them all, and an engine's base URL setting is ``http://HOST:PORT/<engine>``.
The server owns what every engine shares: counting what it served, and making the world hostile.
A ``FaultProfile`` decides per request whether the client's address is banned, whether the answer
is slow, an error, a reset or a truncated body (``sandbox.faults``); ``calm`` injects nothing.

Operator endpoints, which tests and the demo use to prove and steer the hostility:

- ``GET /_sandbox/stats``: counts per engine: ``requests``, ``served``, every ``injected.*``
  fault and the bans begun (``bans.flag`` at random, ``bans.rate`` over the threshold), so a
  test can show how hostile the world really was;
- ``GET /_sandbox/clients``: requests per engine per client address (each proxy has its own);
- ``POST /_sandbox/block?engine=E&on=1``: E answers its block page to everyone;
- ``POST /_sandbox/outage?engine=E&on=1&status=503&retry_after=2&answers=N``: E answers that
  status (to the next N requests, or until lifted);
- ``POST /_sandbox/wall?engine=E&on=1``: E answers its JavaScript wall (``sandbox.wall``) to
  clients without a valid cookie, as Google does by default; ``on=0`` lifts it;
- ``POST /_sandbox/fingerprint?engine=E&on=1``: E refuses, over the HTTPS listener
  (``sandbox.tls``), clients whose TLS ClientHello is not a browser's.

Walled and fingerprint-refused requests count as ``E.walled`` and ``E.fingerprint_refused``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from serpgate.clock import Clock
from serpgate.sandbox.corpus import Corpus
from serpgate.sandbox.emulator import Emulator
from serpgate.sandbox.faults import SLOW_AFTER, Fault, FaultInjector, FaultPlan, FaultProfile
from serpgate.sandbox.fingerprint import Fingerprints
from serpgate.sandbox.wall import JavaScriptWall

# The engines whose real counterparts wall clients that run no JavaScript.
WALLED_BY_DEFAULT = frozenset({"google"})


@dataclass(slots=True)
class Outage:
    """An engine answering ``status`` to everyone: for good, or for the next ``answers``."""

    status: int = 503
    retry_after: float | None = None
    answers: int | None = None


@dataclass
class SandboxState:
    """What the sandbox has served, per engine and outcome, and how it is misbehaving."""

    stats: Counter[str] = field(default_factory=Counter)
    blocked: set[str] = field(default_factory=set)
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(FaultProfile(name="calm")))
    outages: dict[str, Outage] = field(default_factory=dict)
    clients: Counter[tuple[str, str]] = field(default_factory=Counter)
    wall: JavaScriptWall = field(default_factory=JavaScriptWall)
    walled: set[str] = field(default_factory=lambda: set(WALLED_BY_DEFAULT))
    fingerprints: Fingerprints = field(default_factory=Fingerprints)
    fingerprinted: set[str] = field(default_factory=set)


STATE = web.AppKey("state", SandboxState)


def create_sandbox_app(
    emulators: Iterable[Emulator],
    corpus: Corpus | None = None,
    faults: FaultProfile | None = None,
    clock: Clock | None = None,
    *,
    walled: Iterable[str] = WALLED_BY_DEFAULT,
    cookie_ttl: float = 600.0,
    fingerprinted: Iterable[str] = (),
) -> web.Application:
    """The sandbox app; ``clock`` is the one the service shares (bans, latency, cookies), real by
    default. ``walled`` engines answer their JavaScript wall to clients without the cookie its
    script sets (valid ``cookie_ttl`` seconds on ``clock``), ``fingerprinted`` ones refuse
    non-browser TLS fingerprints over the HTTPS listener."""
    world = corpus or Corpus()
    clock = clock or Clock()
    app = web.Application()
    app[STATE] = SandboxState(
        faults=FaultInjector(faults or FaultProfile(name="calm"), clock.monotonic),
        wall=JavaScriptWall(cookie_ttl, clock.monotonic),
        walled=set(walled),
        fingerprinted=set(fingerprinted),
    )

    for emulator in emulators:
        for path in emulator.paths:
            app.router.add_get(f"/{emulator.engine}{path}", _handler(emulator, world, clock))
        app.router.add_get(f"/{emulator.engine}/httpservice/retry/enablejs", _enablejs)
    app.router.add_get("/_sandbox/stats", _stats)
    app.router.add_get("/_sandbox/clients", _clients)
    app.router.add_post("/_sandbox/block", _block)
    app.router.add_post("/_sandbox/outage", _outage)
    app.router.add_post("/_sandbox/wall", _toggle("walled"))
    app.router.add_post("/_sandbox/fingerprint", _toggle("fingerprinted"))
    return app


def _handler(
    emulator: Emulator, world: Corpus, clock: Clock
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """One engine's page route: each gate in turn (outage, block, fingerprint, fault plan,
    wall), then the page from ``world``, with the plan's faults applied."""
    engine = emulator.engine

    async def serve(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        stats = state.stats
        stats[f"{engine}.requests"] += 1
        address = request.remote or "unknown"
        state.clients[engine, address] += 1
        refused = _refusal(state, emulator, request)
        if refused is not None:
            return refused
        plan = state.faults.plan(engine, address)
        challenged = _challenge(state, emulator, request, address, plan)
        if challenged is not None:
            return challenged
        if plan.delay >= SLOW_AFTER:
            stats[f"{engine}.injected.slow"] += 1
        if plan.delay > 0:
            await clock.sleep(plan.delay)
        asked = emulator.page_request(request.query)
        if asked is None:
            stats[f"{engine}.bad_request"] += 1
            return web.Response(status=400, text="missing query")
        if plan.fault is not None:
            stats[f"{engine}.injected.{plan.fault.value}"] += 1
            if plan.fault is not Fault.TRUNCATE:
                return _fail(request, plan, state.faults.profile)
        page = world.page(asked.query, asked.page, asked.num)
        body = emulator.render(page, f"/{engine}")
        if plan.fault is Fault.TRUNCATE:
            return await _truncated(request, body.encode())
        stats[f"{engine}.served"] += 1
        return web.Response(text=body, content_type="text/html")

    return serve


def _refusal(state: SandboxState, emulator: Emulator, request: web.Request) -> web.Response | None:
    """What answers before any fault is planned: an outage, a block, a refused fingerprint."""
    engine, stats = emulator.engine, state.stats
    outage = state.outages.get(engine)
    if outage is not None:
        stats[f"{engine}.injected.outage"] += 1
        if outage.answers is not None:
            outage.answers -= 1
            if outage.answers <= 0:
                del state.outages[engine]
        return _status(outage.status, outage.retry_after)
    if engine in state.blocked:
        stats[f"{engine}.blocked"] += 1
        return web.Response(text=emulator.render_block(), content_type="text/html")
    if engine in state.fingerprinted and not state.fingerprints.browser_like(request):
        stats[f"{engine}.fingerprint_refused"] += 1
        block = emulator.render_block()
        return web.Response(status=403, text=block, content_type="text/html")
    return None


def _challenge(
    state: SandboxState, emulator: Emulator, request: web.Request, address: str, plan: FaultPlan
) -> web.Response | None:
    """What a client meets instead of the page: a planned CAPTCHA, or the JavaScript wall."""
    engine, stats = emulator.engine, state.stats
    if plan.fault is Fault.CAPTCHA:
        stats[f"{engine}.injected.captcha"] += 1
        if plan.ban is not None:
            stats[f"{engine}.bans.{plan.ban}"] += 1
        return web.Response(
            status=plan.status, text=emulator.render_block(), content_type="text/html"
        )
    agent = request.headers.get("User-Agent", "")
    if engine in state.walled and not state.wall.admits(address, agent, request.cookies):
        stats[f"{engine}.walled"] += 1
        wall = state.wall.challenge(address, agent, f"/{engine}", request.query_string)
        return web.Response(text=wall, content_type="text/html")
    return None


async def _enablejs(request: web.Request) -> web.Response:
    return web.Response(text=JavaScriptWall.enable_javascript(), content_type="text/html")


def _toggle(
    attribute: Literal["walled", "fingerprinted"],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A switch per engine over one of the state's engine sets."""

    async def toggle(request: web.Request) -> web.Response:
        engines: set[str] = getattr(request.app[STATE], attribute)
        engine = request.query.get("engine", "")
        if request.query.get("on", "1") == "1":
            engines.add(engine)
        else:
            engines.discard(engine)
        return web.json_response(sorted(engines))

    return toggle


def _status(status: int, retry_after: float | None) -> web.Response:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    return web.Response(status=status, text=f"sandbox fault: HTTP {status}", headers=headers)


def _fail(request: web.Request, plan: FaultPlan, profile: FaultProfile) -> web.Response:
    if plan.fault is Fault.ERROR:
        return _status(plan.status, profile.retry_after if plan.status == 503 else None)
    _reset(request)
    # aiohttp treats a cancelled handler as a client that went away: it writes and logs nothing.
    raise asyncio.CancelledError


def _reset(request: web.Request) -> None:
    """Drop the connection with a TCP RST, as an overloaded front end or middlebox does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger on, timeout zero: close() sends RST instead of the orderly FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _truncated(request: web.Request, body: bytes) -> web.StreamResponse:
    """Promise the whole page in Content-Length, send half, and hang up."""
    response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    _reset(request)
    return response


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(dict(request.app[STATE].stats))


async def _clients(request: web.Request) -> web.Response:
    table: dict[str, dict[str, int]] = {}
    for (engine, address), count in sorted(request.app[STATE].clients.items()):
        table.setdefault(engine, {})[address] = count
    return web.json_response(table)


async def _block(request: web.Request) -> web.Response:
    blocked = request.app[STATE].blocked
    engine = request.query.get("engine", "")
    if request.query.get("on", "1") == "1":
        blocked.add(engine)
    else:
        blocked.discard(engine)
    return web.json_response(sorted(blocked))


async def _outage(request: web.Request) -> web.Response:
    outages = request.app[STATE].outages
    engine = request.query.get("engine", "")
    if request.query.get("on", "1") == "1":
        try:
            status = int(request.query.get("status", "503"))
            retry_after = request.query.get("retry_after")
            answers = request.query.get("answers")
            outages[engine] = Outage(
                status,
                float(retry_after) if retry_after else None,
                int(answers) if answers else None,
            )
        except ValueError:
            message = "status, retry_after and answers are numbers"
            return web.json_response({"error": message}, status=400)
    else:
        outages.pop(engine, None)
    return web.json_response({name: outage.status for name, outage in sorted(outages.items())})

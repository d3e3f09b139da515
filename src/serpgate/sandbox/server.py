"""The sandbox server: every emulator under one aiohttp app, each mounted at ``/<engine>``.

So one port serves them all, and an engine's base URL setting is ``http://HOST:PORT/<engine>``.
``/_sandbox/stats`` returns what was served per engine and ``/_sandbox/block`` switches an engine to
its block page, which tests and the demo use to show block handling end to end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import web

from serpgate.sandbox.corpus import Corpus
from serpgate.sandbox.emulator import Emulator


@dataclass
class SandboxState:
    """What the sandbox has served, per engine and outcome, and which engines answer blocks."""

    stats: Counter[str] = field(default_factory=Counter)
    blocked: set[str] = field(default_factory=set)


STATE = web.AppKey("state", SandboxState)


def create_sandbox_app(
    emulators: Iterable[Emulator], corpus: Corpus | None = None
) -> web.Application:
    world = corpus or Corpus()
    app = web.Application()
    app[STATE] = SandboxState()

    def handler(emulator: Emulator) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            state = request.app[STATE]
            stats = state.stats
            stats[f"{emulator.engine}.requests"] += 1
            if emulator.engine in state.blocked:
                stats[f"{emulator.engine}.blocked"] += 1
                return web.Response(text=emulator.render_block(), content_type="text/html")
            asked = emulator.page_request(request.query)
            if asked is None:
                stats[f"{emulator.engine}.bad_request"] += 1
                return web.Response(status=400, text="missing query")
            page = world.page(asked.query, asked.page, asked.num)
            stats[f"{emulator.engine}.served"] += 1
            body = emulator.render(page, f"/{emulator.engine}")
            return web.Response(text=body, content_type="text/html")

        return serve

    for emulator in emulators:
        for path in emulator.paths:
            app.router.add_get(f"/{emulator.engine}{path}", handler(emulator))
    app.router.add_get("/_sandbox/stats", _stats)
    app.router.add_post("/_sandbox/block", _block)
    return app


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(dict(request.app[STATE].stats))


async def _block(request: web.Request) -> web.Response:
    blocked = request.app[STATE].blocked
    engine = request.query.get("engine", "")
    if request.query.get("on", "1") == "1":
        blocked.add(engine)
    else:
        blocked.discard(engine)
    return web.json_response(sorted(blocked))

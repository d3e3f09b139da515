"""The ``serpgate`` command: serve, demo, sandbox, parse, keys.

Every subcommand builds ``Settings`` from the environment once and hands it on; errors are one
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging.config
import os
import secrets
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import uvicorn
from pydantic import SecretStr, ValidationError

from serpgate.app import build_store, create_app
from serpgate.engines.registry import build_engines
from serpgate.errors import SerpgateError
from serpgate.jsonlog import logging_config
from serpgate.metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from serpgate.models.params import SearchParams
from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.faults import fault_profile
from serpgate.sandbox.world import ProxyMix, SandboxWorld
from serpgate.search import encode_entry, render_answer, utc_now
from serpgate.settings import Settings
from serpgate.store.base import StoreUnavailable
from serpgate.traffic.tenants import TenantRegistry


class CLIError(Exception):
    """A failure to report as one line."""


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are validated here
    except ValidationError as exc:
        problems = "; ".join(
            f"SERPGATE_{'__'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise CLIError(f"invalid settings: {problems}") from None


def _configure_logging(level: str) -> None:
    logging.config.dictConfig(logging_config(level))


@contextmanager
def _shared_metrics_dir(configured: Path | None) -> Iterator[None]:
    """Workers' metrics in files they all write and any of them can read: a clean folder (the
    configured one, or a temporary one removed at exit) named in the variable prometheus-client
    reads when each worker imports it."""
    with ExitStack() as stack:
        path = configured or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="serpgate-metrics-"))
        )
        prepare_multiprocess_dir(path)
        os.environ[MULTIPROC_ENV] = str(path)
        yield


def _stop_cleanly(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handler ends ``serve`` with 0, not death by the signal.

    It lands here before uvicorn has started (nothing to drain yet) and after it has stopped:
    uvicorn re-raises the signal to the previous handler once it has drained.
    """
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> None:
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = _settings(**{k: v for k, v in overrides.items() if v is not None})
    _configure_logging(settings.log_level)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_level": settings.log_level,
        "log_config": logging_config(settings.log_level),
        "timeout_graceful_shutdown": settings.shutdown.grace_period,
    }
    signal.signal(signal.SIGTERM, _stop_cleanly)
    if settings.workers > 1:
        # Workers are separate processes: each builds its app from the same environment.
        with _shared_metrics_dir(settings.metrics.multiproc_dir):
            uvicorn.run(
                "serpgate.app:app_from_env", factory=True, workers=settings.workers, **options
            )
        return
    uvicorn.run(create_app(settings), **options)


async def _start_world(args: argparse.Namespace, port: int) -> SandboxWorld:
    """The sandbox engines under ``--profile``, with ``--proxies`` forward proxies in front."""
    try:
        faults = fault_profile(args.profile)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    proxies = args.proxies if args.proxies is not None else (10 if args.profile != "calm" else 0)
    mix = ProxyMix.with_bad_share(proxies, args.bad_share)
    world = SandboxWorld(all_emulators(), faults, mix, host=args.host, port=port)
    return await world.start()


def _describe_world(world: SandboxWorld, profile: str) -> str:
    engines = ", ".join(world.engine_urls)
    lines = [f"sandbox engines ({engines}) at {world.base_url}/<engine>, profile {profile}"]
    if world.proxies:
        kinds = Counter(proxy.kind.value for proxy in world.proxies)
        mix = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        lines.append(
            f"  {len(world.proxies)} forward proxies ({mix}): {' '.join(world.proxy_urls)}"
        )
    lines.append(f"  what the sandbox served and injected: {world.base_url}/_sandbox/stats")
    return "\n".join(lines)


async def _demo(args: argparse.Namespace) -> None:
    world = await _start_world(args, args.sandbox_port)
    key = args.api_key or "demo_" + secrets.token_urlsafe(16)
    settings = _settings(
        host=args.host,
        port=args.port,
        api_keys=SecretStr(f"demo:unlimited:{key}"),
        engine_urls=world.engine_urls,
        resilience={"proxies": {"urls": world.proxy_urls}},
    )
    _configure_logging(settings.log_level)
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"serpgate demo\n{_describe_world(world, args.profile)}\n"
        f"  API key: {key}\n"
        f"  try: curl '{base}/search.json?engine=bing&q=coffee&api_key={key}'\n"
        f"  docs: {base}/docs",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await world.close()


async def _sandbox(args: argparse.Namespace) -> None:
    world = await _start_world(args, args.port)
    print(_describe_world(world, args.profile), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await world.close()


def cmd_parse(args: argparse.Namespace) -> None:
    """Print the answer ``/search`` would give for a saved result page."""
    engines = build_engines({})
    engine = engines.get(args.engine)
    if engine is None:
        raise CLIError(f"unknown engine {args.engine!r}; engines: {', '.join(sorted(engines))}")
    try:
        html = Path(args.file).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CLIError(f"cannot read {args.file}: {exc.strerror}") from None
    asked = {"engine": args.engine, "q": args.q or Path(args.file).stem, "start": args.start}
    params = SearchParams.model_validate({**asked, "num": args.num, "device": args.device})
    data = engine.parse(html, params)
    shown = data.search_information.query_displayed
    if shown and not args.q:
        params = params.model_copy(update={"q": shown})
    entry = encode_entry(data, engine_url=None, attempts=0)
    body = render_answer(
        secrets.token_hex(12), params, args.base_url, utc_now(), status="Success", entry=entry
    )
    sys.stdout.write(orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode() + "\n")


async def _keys(args: argparse.Namespace) -> None:
    settings = _settings()
    if settings.redis_url is None:
        raise CLIError(
            "keys live in the shared store: set SERPGATE_REDIS_URL (an embedded server keeps "
            "its keys in SERPGATE_API_KEYS as name:plan:key entries)"
        )
    store = build_store(settings)
    registry = TenantRegistry(store, settings.plans)
    try:
        if args.action == "create":
            key, tenant = await registry.create(args.name, args.plan)
            print(f"created tenant {tenant.id} ({tenant.name}, plan {tenant.plan})")
            print(f"API key (shown once, store it now): {key}")
        elif args.action == "list":
            for tenant in await registry.list():
                state = "revoked" if tenant.revoked else "active"
                print(f"{tenant.id}\t{tenant.name}\t{tenant.plan}\t{state}\t{tenant.created_at}")
        else:
            tenant = await registry.revoke(args.tenant_id)
            print(f"revoked {tenant.id} ({tenant.name})")
    except StoreUnavailable as exc:
        raise CLIError(f"cannot reach the store: {exc}") from None
    finally:
        await store.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="serpgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server (settings from SERPGATE_*)")
    serve.add_argument("--host", default=None, help="bind address (default SERPGATE_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default SERPGATE_PORT)")
    serve.add_argument(
        "--workers", type=int, default=None, help="worker processes (default SERPGATE_WORKERS, 1)"
    )
    serve.set_defaults(run=cmd_serve)

    demo = sub.add_parser("demo", help="sandbox engines plus the service wired to them")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--sandbox-port", type=int, default=8001)
    demo.add_argument("--api-key", default=None, help="demo key (default: generated, printed)")
    demo.set_defaults(run=lambda a: asyncio.run(_demo(a)))

    sandbox = sub.add_parser("sandbox", help="only the sandbox engines")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8001)
    sandbox.set_defaults(run=lambda a: asyncio.run(_sandbox(a)))

    for command in (demo, sandbox):
        command.add_argument(
            "--profile", default="calm", help="fault profile: calm or hostile (default calm)"
        )
        command.add_argument(
            "--proxies", type=int, default=None, help="forward proxies (default: 10 if hostile)"
        )
        command.add_argument(
            "--bad-share", type=float, default=0.3, help="share of dead, slow, 403 proxies"
        )

    parse = sub.add_parser("parse", help="print the JSON answer for a saved result page")
    parse.add_argument("--engine", required=True)
    parse.add_argument("--q", default=None, help="the query (default: as the page shows it)")
    parse.add_argument("--start", type=int, default=0, help="offset of the page's first result")
    parse.add_argument("--num", type=int, default=10)
    parse.add_argument("--device", default="desktop", choices=["desktop", "tablet", "mobile"])
    parse.add_argument("--base-url", default="http://127.0.0.1:8000", help="origin for links")
    parse.add_argument("file")
    parse.set_defaults(run=cmd_parse)

    keys = sub.add_parser("keys", help="manage API keys in the shared store")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a tenant and print its key once")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", default="developer")
    actions.add_parser("list", help="list tenants (never keys)")
    revoke = actions.add_parser("revoke", help="revoke a tenant's key")
    revoke.add_argument("tenant_id")
    keys.set_defaults(run=lambda a: asyncio.run(_keys(a)))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (CLIError, SerpgateError, OSError) as exc:
        print(f"serpgate: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

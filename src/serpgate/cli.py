"""The serpgate command: serve, worker, demo, sandbox, parse, keys.

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
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import uvicorn
from pydantic import SecretStr, ValidationError

from serpgate.app import build_store, create_app, running_services, search_worker
from serpgate.clock import Clock
from serpgate.edge import EdgeProtocol
from serpgate.engines.registry import ENGINE_TYPES, build_engines
from serpgate.errors import SerpgateError
from serpgate.jsonlog import logging_config
from serpgate.metrics import MULTIPROC_ENV, Metrics, prepare_multiprocess_dir
from serpgate.models.params import SearchParams
from serpgate.sandbox.emulators import all_emulators
from serpgate.sandbox.faults import fault_profile
from serpgate.sandbox.server import WALLED_BY_DEFAULT
from serpgate.sandbox.world import ProxyMix, SandboxWorld
from serpgate.search import encode_entry, render_answer, utc_now
from serpgate.settings import DEFAULT_PLANS, Settings
from serpgate.store.base import StoreUnavailable
from serpgate.traffic.tenants import TenantRegistry


class CLIError(Exception):
    """A failure to report as one line."""


# Forward proxies a hostile sandbox starts unless told otherwise.
HOSTILE_PROXIES = 100


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


def serve_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` runs uvicorn, workers aside (the benchmark's build of the app runs so too)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_level": settings.log_level,
        "log_config": logging_config(settings.log_level),
        "timeout_graceful_shutdown": settings.shutdown.grace_period,
        "http": EdgeProtocol,
        "timeout_keep_alive": settings.http.keep_alive,
    }


def cmd_serve(args: argparse.Namespace) -> None:
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = _settings(**{k: v for k, v in overrides.items() if v is not None})
    _configure_logging(settings.log_level)
    options = serve_options(settings)
    signal.signal(signal.SIGTERM, _stop_cleanly)
    if settings.workers > 1:
        # Workers are separate processes: each builds its app from the same environment, which
        # says how many there are (parser pools are sized to the cores they leave).
        os.environ["SERPGATE_WORKERS"] = str(settings.workers)
        with _shared_metrics_dir(settings.metrics.multiproc_dir):
            uvicorn.run(
                "serpgate.app:app_from_env",
                factory=True,
                workers=settings.workers,
                timeout_worker_healthcheck=settings.worker_healthcheck_timeout,
                **options,
            )
        return
    uvicorn.run(create_app(settings), **options)


async def _worker() -> None:
    settings = _settings()
    if settings.redis_url is None:
        raise CLIError(
            "workers take their searches from the Redis queue: set SERPGATE_REDIS_URL (without "
            "it, serve runs async searches in its own process)"
        )
    _configure_logging(settings.log_level)
    metrics_ = Metrics(cls.name for cls in ENGINE_TYPES)
    try:
        async with running_services(settings, metrics_) as services:
            # Stops on SIGTERM or SIGINT; what it cannot finish in the grace period goes back.
            await search_worker(services).run()
    finally:
        metrics_.close()


async def _start_world(
    args: argparse.Namespace, port: int, clock: Clock | None = None
) -> SandboxWorld:
    """The sandbox engines under ``--profile``, with ``--proxies`` forward proxies in front."""
    try:
        faults = fault_profile(args.profile)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    # A hostile world bans for minutes: ten proxies sustain about two searches a second per
    # engine there (docs/capacity.md), so the default pool is a real one's size.
    default = HOSTILE_PROXIES if args.profile != "calm" else 0
    proxies = args.proxies if args.proxies is not None else default
    mix = ProxyMix.with_bad_share(proxies, args.bad_share)
    world = SandboxWorld(
        all_emulators(),
        faults,
        mix,
        host=args.host,
        port=port,
        clock=clock,
        walled=() if args.no_wall else WALLED_BY_DEFAULT,
        fingerprinted=args.fingerprint,
    )
    return await world.start()


def _serve_env(world: SandboxWorld) -> list[str]:
    """Shell lines that point ``serpgate serve`` at ``world``, ready to paste."""
    lines = [f"SERPGATE_ENGINE_URLS='{orjson.dumps(world.engine_urls).decode()}'"]
    if world.proxies:
        proxies = orjson.dumps(world.proxy_urls).decode()
        lines.append(f"SERPGATE_RESILIENCE__PROXIES__URLS='{proxies}'")
    return [f"export {line}" for line in lines]


def _describe_world(world: SandboxWorld, profile: str) -> str:
    engines = ", ".join(world.engine_urls)
    lines = [f"sandbox engines ({engines}) at {world.base_url}/<engine>, profile {profile}"]
    if world.proxies:
        kinds = Counter(proxy.kind.value for proxy in world.proxies)
        mix = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        lines.append(f"  {len(world.proxies)} forward proxies ({mix})")
    if world.https_url:
        lines.append(f"  over HTTPS (self-signed, JA4 read at the handshake): {world.https_url}")
    lines.append(f"  what the sandbox served and injected: {world.base_url}/_sandbox/stats")
    return "\n".join(lines)


async def _demo(args: argparse.Namespace) -> None:
    # One clock for the sandbox and the service: --clock-speed speeds up both or neither.
    clock = Clock(args.clock_speed)
    world = await _start_world(args, args.sandbox_port, clock)
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
    plan, limits = settings.plans["unlimited"], settings.traffic.limits
    print(
        f"serpgate demo\n{_describe_world(world, args.profile)}\n"
        f"  API key: {key} (plan {plan.name}: {plan.describe(limits.in_flight_per_key)})\n"
        f"  try: curl '{base}/search.json?engine=bing&q=coffee&api_key={key}'\n"
        f"  Google through its JavaScript wall (Chromium once per exit, then its cookie): "
        f"curl '{base}/search.json?engine=google&q=coffee&api_key={key}'\n"
        f"  docs: {base}/docs",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings, clock),
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
    if args.print_env:
        print("\n".join(_serve_env(world)), flush=True)
    else:
        print(_describe_world(world, args.profile), flush=True)
        print("  to point 'serpgate serve' at it, in the shell that runs serve:", flush=True)
        print("\n".join(f"    {line}" for line in _serve_env(world)), flush=True)
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
    # The parameters that shape parsing, where given: which Google tab the page is.
    shaping = {name: value for name in ("tbm", "udm") if (value := getattr(args, name))}
    try:
        params = SearchParams.model_validate(
            {**asked, **shaping, "num": args.num, "device": args.device}
        )
    except ValidationError as exc:
        raise CLIError(f"bad parameter: {exc.errors()[0]['msg']}") from None
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
            print("id\tname\tplan\tstate\tcreated")
            for tenant in await registry.list():
                state = "revoked" if tenant.revoked else "active"
                created = tenant.created_at or "(from settings)"
                print(f"{tenant.id}\t{tenant.name}\t{tenant.plan}\t{state}\t{created}")
        else:
            tenant = await registry.revoke(args.tenant_id)
            print(f"revoked {tenant.id} ({tenant.name})")
    except StoreUnavailable as exc:
        raise CLIError(f"cannot reach the store: {exc}") from None
    finally:
        await store.close()


DESCRIPTION = """\
serpgate: a self-hosted search-results API that answers in SerpApi's JSON shape.

Settings come from SERPGATE_* environment variables (docs/settings.md lists them all); a
command's flags override the few settings they name. Run 'serpgate COMMAND --help' for each."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serpgate",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"serpgate {version('serpgate')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the API server",
        description="Run the API server with the settings in SERPGATE_*.",
    )
    serve.add_argument("--host", default=None, help="address to bind (default: SERPGATE_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default: SERPGATE_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes sharing the port (default: SERPGATE_WORKERS, 1)",
    )
    serve.set_defaults(run=cmd_serve)

    worker = sub.add_parser(
        "worker", help="only run async searches from the Redis queue (no API; scale these out)"
    )
    worker.set_defaults(run=lambda a: asyncio.run(_worker()))

    demo = sub.add_parser(
        "demo",
        help="the sandbox engines plus the service wired to them, with a printed key",
        description="Start the sandbox engines (and proxies) and the service wired to them, on "
        "the in-memory store; print an API key and a first request to try.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address for both (default: %(default)s)")
    demo.add_argument("--port", type=int, default=8000, help="service port (default: %(default)s)")
    demo.add_argument(
        "--sandbox-port", type=int, default=8001, help="sandbox port (default: %(default)s)"
    )
    demo.add_argument("--api-key", default=None, help="the demo key (default: generated, printed)")
    demo.add_argument(
        "--clock-speed",
        type=float,
        default=1.0,
        help="run time this many times faster for the sandbox and the service alike, so that "
        "bans lasting minutes come and go in a benchmark (default: %(default)s, real time)",
    )
    demo.set_defaults(run=lambda a: asyncio.run(_demo(a)))

    sandbox = sub.add_parser(
        "sandbox",
        help="only the sandbox engines and proxies, for a service run elsewhere",
        description="Start only the sandbox: engine emulators and forward proxies on loopback.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    sandbox.add_argument("--port", type=int, default=8001, help="port (default: %(default)s)")
    sandbox.add_argument(
        "--print-env",
        action="store_true",
        help="print only the SERPGATE_* lines that point 'serpgate serve' at this sandbox",
    )
    sandbox.set_defaults(run=lambda a: asyncio.run(_sandbox(a)))

    for command in (demo, sandbox):
        command.add_argument(
            "--profile",
            default="calm",
            help="fault profile: calm (engines always answer) or hostile (bans, CAPTCHAs, 5xx, "
            "resets, slow and broken proxies) (default: %(default)s)",
        )
        command.add_argument(
            "--proxies",
            type=int,
            default=None,
            help=f"forward proxies to start (default: {HOSTILE_PROXIES} when hostile, none when "
            "calm)",
        )
        command.add_argument(
            "--bad-share",
            type=float,
            default=0.3,
            help="share of the proxies that are dead, slow or refusing (default: %(default)s)",
        )
        command.add_argument(
            "--no-wall",
            action="store_true",
            help="serve Google's results to any client (default: its JavaScript wall, as real)",
        )
        command.add_argument(
            "--fingerprint",
            action="append",
            default=[],
            metavar="ENGINE",
            help="refuse non-browser TLS fingerprints for ENGINE on the HTTPS listener",
        )

    parse = sub.add_parser(
        "parse",
        help="print the JSON answer /search would give for a saved result page",
        description="Parse a result page saved from an engine and print the JSON answer that "
        "/search would give for it.",
    )
    parse.add_argument("--engine", required=True, help="the engine whose page this is")
    parse.add_argument("--q", default=None, help="the query (default: as the page shows it)")
    parse.add_argument(
        "--start", type=int, default=0, help="offset of the page's first result (default: 0)"
    )
    parse.add_argument("--num", type=int, default=10, help="results per page (default: 10)")
    parse.add_argument(
        "--device",
        default="desktop",
        choices=["desktop", "tablet", "mobile"],
        help="the device the page was fetched for (default: %(default)s)",
    )
    parse.add_argument(
        "--base-url",
        default="http://127.0.0.1:8000",
        help="origin for the links in the answer (default: %(default)s)",
    )
    parse.add_argument(
        "--tbm", default=None, help="the Google tab the page is: nws, isch or vid (default: web)"
    )
    parse.add_argument(
        "--udm", default=None, help="the Google tab by number: 2 images, 7 videos (default: web)"
    )
    parse.add_argument("file", help="the saved HTML page")
    parse.set_defaults(run=cmd_parse)

    plans = ", ".join(DEFAULT_PLANS)
    keys = sub.add_parser(
        "keys",
        help="create, list and revoke API keys in the shared store (needs SERPGATE_REDIS_URL)",
        description="Manage tenants and their API keys in the Redis store named by "
        "SERPGATE_REDIS_URL. Keys are shown once, at creation, and stored only as hashes.",
    )
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create a tenant and print its key once",
        description="Create a tenant and print its API key, once.",
    )
    create.add_argument("--name", required=True, help="the tenant's name (unique)")
    create.add_argument(
        "--plan",
        default="developer",
        help=f"its plan: {plans}, or one defined in SERPGATE_PLANS (default: %(default)s)",
    )
    actions.add_parser(
        "list",
        help="list tenants (never their keys)",
        description="List tenants with their plan and state; keys are never shown.",
    )
    revoke = actions.add_parser(
        "revoke",
        help="revoke a tenant's key",
        description="Revoke a tenant's key; replicas stop accepting it within seconds.",
    )
    revoke.add_argument("tenant_id", help="the tenant's id (tn_...), as 'keys list' shows it")
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

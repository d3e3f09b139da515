"""Every setting serpgate reads, from ``SERPGATE_*`` environment variables, validated at start.

One nested model per concern; nested values use ``__`` (``SERPGATE_UPSTREAM__TOTAL_TIMEOUT=8``) and
mappings take JSON (``SERPGATE_ENGINE_URLS='{"bing": "http://127.0.0.1:8001"}'``). Settings are
built once by the CLI (or a test) and handed to ``create_app``; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

import tempfile
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


class Plan(BaseModel):
    """What a tenant may do. ``None`` means unlimited.

    ``in_flight`` caps the searches one key may have waiting for an upstream fetch at once.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    per_minute: Annotated[int | None, Field(ge=1)] = None
    per_hour: Annotated[int | None, Field(ge=1)] = None
    per_month: Annotated[int | None, Field(ge=1)] = None
    in_flight: Annotated[int | None, Field(ge=1)] = None

    def in_flight_cap(self, ceiling: int | None) -> int | None:
        """The key's in-flight cap: the plan's, under the deployment's ``ceiling`` if set."""
        caps = [cap for cap in (self.in_flight, ceiling) if cap is not None]
        return min(caps) if caps else None

    def describe(self, ceiling: int | None = None) -> str:
        """The limits in one line, as the demo's banner shows them."""

        def limit(value: int | None, unit: str) -> str:
            return f"unlimited {unit}" if value is None else f"{value} {unit}"

        return ", ".join(
            (
                limit(self.per_minute, "a minute"),
                limit(self.per_hour, "an hour"),
                limit(self.per_month, "a month"),
                limit(self.in_flight_cap(ceiling), "in flight"),
            )
        )


DEFAULT_PLANS = {
    "free": Plan(name="Free", per_minute=10, per_hour=100, per_month=250, in_flight=2),
    "developer": Plan(
        name="Developer", per_minute=100, per_hour=2_000, per_month=5_000, in_flight=10
    ),
    "production": Plan(
        name="Production", per_minute=600, per_hour=20_000, per_month=100_000, in_flight=40
    ),
    "unlimited": Plan(name="Unlimited"),
}


TransportName = Literal["http", "impersonate", "browser", "wallpass"]

# What each engine is fetched with unless ``upstream.transports`` says otherwise: Google walls
# every client that runs no JavaScript (since January 2025), the others answer plain HTTP.
DEFAULT_TRANSPORTS: dict[str, TransportName] = {"google": "wallpass"}


class UpstreamSettings(BaseModel):
    """How serpgate talks to engines."""

    connect_timeout: Annotated[float, Field(gt=0)] = 3.0
    total_timeout: Annotated[float, Field(gt=0)] = 10.0
    pool_size: Annotated[int, Field(ge=1)] = 100
    pool_size_per_host: Annotated[int, Field(ge=1)] = 50
    # All attempts of one search, backoff included, end by then: the client's overall deadline.
    deadline: Annotated[float, Field(gt=0)] = 20.0
    # Per engine, overriding DEFAULT_TRANSPORTS (see docs/transports.md).
    transports: dict[str, TransportName] = {}
    # curl_cffi's browser profiles for the impersonate transport, desktop and mobile searches.
    impersonate: str = "chrome131"
    impersonate_mobile: str = "chrome131_android"
    # False only against a sandbox's self-signed certificate.
    verify_tls: bool = True
    # A wall's cookie is renewed this long before it expires, rather than used to the last second.
    cookie_margin: Annotated[float, Field(ge=0)] = 5.0
    # After a freshly earned cookie is refused this many times in a row, an exit renders every
    # search in the browser for ``browser_only_for`` seconds: the cheap path is not working there.
    cookie_refusals: Annotated[int, Field(ge=1)] = 2
    browser_only_for: Annotated[float, Field(gt=0)] = 300.0

    def transport(self, engine: str) -> TransportName:
        return self.transports.get(engine) or DEFAULT_TRANSPORTS.get(engine, "http")


class BrowserSettings(BaseModel):
    """The headless Chromium pool (``upstream.browser``): where it is and how much it may use."""

    # None: the first of chromium, chromium-browser, google-chrome on PATH.
    executable: Path | None = None
    max_contexts: Annotated[int, Field(ge=1)] = 8
    # Pages rendering at once, the memory bound: about 100 MB each.
    max_pages: Annotated[int, Field(ge=1)] = 4
    page_timeout: Annotated[float, Field(gt=0)] = 15.0
    launch_timeout: Annotated[float, Field(gt=0)] = 30.0


class ProxySettings(BaseModel):
    """The exits serpgate reaches engines through, and when an exit is set aside.

    Ejection follows Envoy's outlier detection: ``eject_after`` consecutive failures set an exit
    aside for one engine for ``eject_base`` × its recent ejections (at most ``eject_max``), never
    more than ``max_ejected_fraction`` of the exits; ``prune_after`` ejections inside
    ``prune_window`` drop it for good. A block (CAPTCHA, ban) rests the exit for that engine
    alone, for its ``Retry-After`` or else for the rest learnt of that engine's bans (from
    ``rest_initial``, between ``rest_min`` and ``rest_max``), and ``block_prune_after`` blocked
    probes in a row prune an exit that never recovers.
    """

    urls: list[SecretStr] = []
    file: Path | None = None
    # The server's own address as an exit; None allows it only when no proxy is configured.
    direct: bool | None = None
    # False keeps every exit in rotation whatever it does (no ejection, no rest): a baseline.
    eject: bool = True
    eject_after: Annotated[int, Field(ge=1)] = 3
    eject_base: Annotated[float, Field(gt=0)] = 30.0
    eject_max: Annotated[float, Field(gt=0)] = 300.0
    max_ejected_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5
    prune_after: Annotated[int, Field(ge=1)] = 3
    prune_window: Annotated[float, Field(gt=0)] = 600.0
    rest_initial: Annotated[float, Field(gt=0)] = 30.0
    rest_min: Annotated[float, Field(gt=0)] = 5.0
    rest_max: Annotated[float, Field(gt=0)] = 1800.0
    block_prune_after: Annotated[int, Field(ge=1)] = 3
    # Searches fail fast ("pool saturated") when demand is over the pool's ceiling (every exit
    # out on average, upstream.capacity) and no more than this share of its exits is left.
    saturation_reserve: Annotated[float, Field(ge=0, le=1)] = 0.1


class RetrySettings(BaseModel):
    """How often one search may try again: full-jitter backoff under an Envoy retry budget."""

    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    # Retries after a fault of the exit alone that do not count towards max_attempts.
    exit_retries: Annotated[int, Field(ge=0, le=10)] = 2
    backoff_base: Annotated[float, Field(ge=0)] = 0.1
    backoff_cap: Annotated[float, Field(ge=0)] = 2.0
    budget_ratio: Annotated[float, Field(ge=0, le=1)] = 0.2
    budget_min_retries: Annotated[int, Field(ge=0)] = 3


class BreakerSettings(BaseModel):
    """One engine's circuit breaker, as resilience4j counts: over the last ``window`` calls.

    It opens only when the failures come from ``min_sources`` distinct tenants (or all of those
    asking, when fewer ask). Each tenant has a breaker of its own per engine, over its last
    ``tenant_window`` searches, so that one whose searches keep failing is slowed alone.
    """

    window: Annotated[int, Field(ge=1)] = 50
    min_calls: Annotated[int, Field(ge=1)] = 20
    failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    open_for: Annotated[float, Field(gt=0)] = 30.0
    half_open_calls: Annotated[int, Field(ge=1)] = 5
    min_sources: Annotated[int, Field(ge=1)] = 3
    tenant_window: Annotated[int, Field(ge=1)] = 10
    tenant_min_calls: Annotated[int, Field(ge=1)] = 5

    def for_tenant(self) -> BreakerSettings:
        """The settings of one tenant's own breaker: its short window, one source."""
        return self.model_copy(
            update={
                "window": self.tenant_window,
                "min_calls": self.tenant_min_calls,
                "half_open_calls": 1,
                "min_sources": 1,
            }
        )


class ResilienceSettings(BaseModel):
    """Proxies, retries and breakers: what keeps hostile engines from reaching clients."""

    proxies: ProxySettings = ProxySettings()
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()


class LimitSettings(BaseModel):
    """Rate limits, quotas and the in-flight cap per API key."""

    # What the limiters do while Redis cannot answer: "local" judges with this process's own
    # counters (each replica then admits up to the full limit), "open" admits everything,
    # "closed" refuses with 503.
    on_redis_error: Literal["local", "open", "closed"] = "local"
    # A cap on every key's searches in flight over its plan's own (``Plan.in_flight``); None
    # leaves each plan's, and ``unlimited`` means unlimited.
    in_flight_per_key: Annotated[int | None, Field(ge=1)] = None
    # Longer than any search can take: an entry older than this belongs to a crashed replica.
    in_flight_ttl: Annotated[float, Field(gt=0)] = 60.0


class CacheSettings(BaseModel):
    """The shared result cache (freshness as RFC 5861 has it) and the coalescing of searches."""

    ttl: Annotated[float, Field(gt=0)] = 3600.0
    ttl_jitter: Annotated[float, Field(ge=0, lt=1)] = 0.1
    stale_while_revalidate: Annotated[float, Field(ge=0)] = 600.0
    stale_if_error: Annotated[float, Field(ge=0)] = 6 * 3600.0
    compress_above: Annotated[int | None, Field(ge=0)] = 8192
    local_entries: Annotated[int, Field(ge=0)] = 1024
    local_bytes: Annotated[int, Field(ge=0)] = 64 * 1024 * 1024
    local_ttl: Annotated[float, Field(ge=0)] = 5.0
    lease_ttl: Annotated[float, Field(gt=0)] = 5.0
    follow_timeout: Annotated[float, Field(gt=0)] = 30.0


class SheddingSettings(BaseModel):
    """The bound on upstream work in flight in one process."""

    max_upstream_in_flight: Annotated[int, Field(ge=1)] = 256
    retry_after: Annotated[float, Field(gt=0)] = 1.0


class RedisHealthSettings(BaseModel):
    """How long a traffic call to Redis may take, and when to stop asking for a while."""

    timeout: Annotated[float, Field(gt=0)] = 1.0
    cooldown: Annotated[float, Field(gt=0)] = 1.0
    # Failures in a row that mark Redis down: one late answer on a busy loop proves little.
    trip_after: Annotated[int, Field(ge=1)] = 3


class TrafficSettings(BaseModel):
    """Admission, caching and load protection: everything between a valid request and a fetch."""

    limits: LimitSettings = LimitSettings()
    cache: CacheSettings = CacheSettings()
    shedding: SheddingSettings = SheddingSettings()
    redis: RedisHealthSettings = RedisHealthSettings()


class ParseSettings(BaseModel):
    """Where engine parsers run (see ``PageParser`` and ``bench/event_loop.py``)."""

    mode: Literal["inline", "thread", "process"] = "process"
    workers: Annotated[int | None, Field(ge=1)] = None
    inline_below: Annotated[int, Field(ge=0)] = 64 * 1024
    # Parse inline while the process answers no other request (``PageParser``).
    inline_when_alone: bool = True
    # Pages no parser recognised, kept for an operator (see ``PageKeeper``); None keeps none.
    unrecognized_dir: Path | None = Field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "serpgate-unrecognized"
    )
    unrecognized_keep: Annotated[int, Field(ge=1)] = 200


class MetricsSettings(BaseModel):
    """Who may read ``GET /metrics``, and how often the event loop's lag is sampled.

    A scrape is answered to clients in ``allow_from`` or to one bearing ``token``; behind a proxy,
    the client is the proxy unless uvicorn trusts its ``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``),
    so the proxy must refuse ``/metrics`` itself (deploy/nginx.conf does). ``multiproc_dir`` holds
    the workers' shared counters under ``serve --workers N`` (default: a fresh temporary folder).
    """

    enabled: bool = True
    token: SecretStr | None = None
    allow_from: list[IPvAnyNetwork] = [
        IPv4Network("127.0.0.0/8"),
        IPv6Network("::1/128"),
    ]
    multiproc_dir: Path | None = None
    loop_lag_interval: Annotated[float, Field(gt=0)] = 0.5

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class ShutdownSettings(BaseModel):
    """What SIGTERM does, in two steps.

    First ``/readyz`` answers 503 for ``drain_delay`` seconds while the process still serves, so a
    load balancer's health check takes it out of rotation before anything is refused; then it
    stops accepting and gives the requests in flight up to ``grace_period`` seconds to finish.
    """

    drain_delay: Annotated[float, Field(ge=0)] = 0.0
    grace_period: Annotated[int, Field(ge=1)] = 20


class HttpSettings(BaseModel):
    """The HTTP edge: how long an idle connection is kept, and which browser origins may call.

    ``cors_origins`` is empty by default: no browser page on another origin may read answers.
    Listing origins (or ``*``) lets browser clients call the API with their key in an
    ``Authorization`` header; preflight ``OPTIONS`` requests are then answered.
    """

    keep_alive: Annotated[float, Field(gt=0)] = 5.0
    cors_origins: list[str] = []


class QueueSettings(BaseModel):
    """The job queue behind ``async=true`` and batches (Redis only; see docs/async.md).

    A job whose worker stops touching it for ``heartbeat`` seconds counts as lost: the next sweep
    (every ``sweep_every`` seconds, by any worker) puts it back on the queue, at most ``retries``
    times in all.
    """

    in_process: bool = True
    concurrency: Annotated[int, Field(ge=1)] = 10
    heartbeat: Annotated[int, Field(ge=1)] = 15
    sweep_every: Annotated[int, Field(ge=1)] = 5
    retries: Annotated[int, Field(ge=1)] = 5
    batch_max: Annotated[int, Field(ge=1, le=10_000)] = 1000


class WebhookSettings(BaseModel):
    """How finished async searches are pushed to their webhook (see docs/webhooks.md)."""

    # Loopback, private and link-local targets are refused unless this is set (SSRF).
    allow_private: bool = False
    timeout: Annotated[float, Field(gt=0)] = 10.0
    # Failed deliveries are tried again, with full-jitter backoff, until this long has passed.
    retry_for: Annotated[float, Field(ge=0)] = 900.0
    backoff_base: Annotated[float, Field(gt=0)] = 1.0
    backoff_cap: Annotated[float, Field(gt=0)] = 60.0


class Settings(BaseSettings):
    """The whole configuration of one serpgate process."""

    model_config = SettingsConfigDict(
        env_prefix="SERPGATE_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    public_url: str | None = None
    redis_url: SecretStr | None = None
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_:.-]*$")] = "serpgate"
    api_keys: SecretStr | None = None
    admin_key: SecretStr | None = None
    plans: dict[str, Plan] = DEFAULT_PLANS
    engine_urls: dict[str, str] = {}
    archive_ttl: Annotated[float, Field(gt=0)] = 31 * 24 * 3600.0
    log_level: str = "info"
    upstream: UpstreamSettings = UpstreamSettings()
    browser: BrowserSettings = BrowserSettings()
    parse: ParseSettings = ParseSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    traffic: TrafficSettings = TrafficSettings()
    workers: Annotated[int, Field(ge=1)] = 1
    # Seconds a worker of ``serve --workers N`` may take to answer its supervisor's health ping
    # before it is killed and replaced. uvicorn's own 5 s kills a worker still importing on a
    # busy host, and its replacement, in a loop.
    worker_healthcheck_timeout: Annotated[int, Field(ge=1)] = 30
    metrics: MetricsSettings = MetricsSettings()
    shutdown: ShutdownSettings = ShutdownSettings()
    http: HttpSettings = HttpSettings()
    queue: QueueSettings = QueueSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @field_validator("redis_url", "api_keys", "admin_key", "public_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

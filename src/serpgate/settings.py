"""Every setting serpgate reads, from ``SERPGATE_*`` environment variables, validated at start.

One nested model per concern; nested values use ``__`` (``SERPGATE_UPSTREAM__TOTAL_TIMEOUT=8``) and
mappings take JSON (``SERPGATE_ENGINE_URLS='{"bing": "http://127.0.0.1:8001"}'``). Settings are
built once by the CLI (or a test) and handed to ``create_app``; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Plan(BaseModel):
    """What a tenant may do. ``None`` means unlimited."""

    model_config = ConfigDict(frozen=True)

    name: str
    per_minute: Annotated[int | None, Field(ge=1)] = None
    per_hour: Annotated[int | None, Field(ge=1)] = None
    per_month: Annotated[int | None, Field(ge=1)] = None


DEFAULT_PLANS = {
    "free": Plan(name="Free", per_minute=10, per_hour=100, per_month=250),
    "developer": Plan(name="Developer", per_minute=100, per_hour=2_000, per_month=5_000),
    "production": Plan(name="Production", per_minute=600, per_hour=20_000, per_month=100_000),
    "unlimited": Plan(name="Unlimited"),
}


class UpstreamSettings(BaseModel):
    """How serpgate talks to engines."""

    connect_timeout: Annotated[float, Field(gt=0)] = 3.0
    total_timeout: Annotated[float, Field(gt=0)] = 10.0
    pool_size: Annotated[int, Field(ge=1)] = 100
    pool_size_per_host: Annotated[int, Field(ge=1)] = 50


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
    plans: dict[str, Plan] = DEFAULT_PLANS
    engine_urls: dict[str, str] = {}
    archive_ttl: Annotated[float, Field(gt=0)] = 31 * 24 * 3600.0
    log_level: str = "info"
    upstream: UpstreamSettings = UpstreamSettings()

"""compose.yaml read the way ``docker compose`` reads it, for tests that rebuild its topology."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: str) -> str:
    """``${NAME:-default}`` as compose resolves it when NAME is not set: the default."""
    return _DEFAULTED.sub(lambda m: m.group(2) or "", value)


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def api_environment(compose: dict[str, Any]) -> dict[str, str]:
    """The variables the api service sets itself; pass-through ones are the operator's to set."""
    environment: dict[str, str | None] = compose["services"]["api"]["environment"]
    return {
        name: interpolate(str(value)) for name, value in environment.items() if value is not None
    }

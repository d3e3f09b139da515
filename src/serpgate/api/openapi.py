"""The OpenAPI document, told which engines exist and which parameters each takes.

FastAPI describes ``GET /search`` from ``SearchParams``, which knows every parameter but not
the engines. Here the ``engine`` parameter becomes an enum of the engines built in, each
parameter says which engines take it, and the SerpApi names engines take for serpgate's own
(Bing's ``first``, Yahoo's ``p``) are listed as parameters of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from serpgate.engines.base import Engine
from serpgate.engines.parameters import COMMON


def engine_aware_openapi(
    app: FastAPI, engine_types: Iterable[type[Engine]]
) -> Callable[[], dict[str, Any]]:
    """A replacement for ``app.openapi``: FastAPI's document, built once, with the engines in."""
    engines = {cls.name: cls.parameters for cls in engine_types}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            operation = schema["paths"]["/search"]["get"]
            operation["parameters"] = _describe(operation["parameters"], engines)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _describe(parameters: list[dict[str, Any]], engines: dict[str, Any]) -> list[dict[str, Any]]:
    """``x-engines`` on every parameter lists the engines that take it (a machine-readable form
    of the description, which the schemathesis run reads to keep to what each engine takes)."""
    described: list[dict[str, Any]] = []
    names = sorted(engines)
    for parameter in parameters:
        name = parameter["name"]
        if name == "engine":
            parameter["schema"] = {"type": "string", "enum": names}
        takers = [e for e in names if name in COMMON or name in engines[e].accepts]
        if not takers:
            continue  # a field only reached through an engine's own name for it (none today)
        if len(takers) < len(names):
            parameter["description"] = f"Engines: {', '.join(takers)}."
        parameter["x-engines"] = takers
        described.append(parameter)
    listed = {p["name"] for p in described}
    aliases: dict[str, dict[str, Any]] = {}
    for engine in names:
        for alias_name, alias in engines[engine].aliases.items():
            if alias_name in listed:
                continue  # the same name as serpgate's own (DuckDuckGo's safe): described there
            entry = aliases.setdefault(
                alias_name,
                {"name": alias_name, "in": "query", "required": False, "x-engines": []},
            )
            entry["schema"] = dict(alias.schema)
            entry["x-engines"].append(engine)
            engines_of_alias = ", ".join(entry["x-engines"])
            entry["description"] = (
                f"SerpApi's name for {alias.target!r} with engines: {engines_of_alias}."
            )
    described.extend(aliases[name] for name in sorted(aliases))
    return described

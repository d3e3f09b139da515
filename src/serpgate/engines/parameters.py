"""``EngineParameters``: which search parameters an engine takes, under SerpApi's names for it.

SerpApi's engines do not all speak ``start``/``num``: Bing pages with ``first`` and ``count``,
Yahoo takes its query as ``p`` and its offset as ``b``. Each engine declares, beside its request
builder, the fields of ``SearchParams`` it maps onto its request (``accepts``) and the SerpApi
names it takes for them (``aliases``), so a SerpApi client's query works unchanged and means the
same thing. Anything an engine does not declare is a 400 naming it: a parameter silently dropped
would answer a different search than the one asked for.

Every engine also takes ``COMMON``: the query, serpgate's uniform paging (``start``/``num``), the
device, and the parameters that steer the service rather than the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from serpgate.errors import InvalidRequest

COMMON = frozenset(
    {"engine", "q", "start", "num", "device", "no_cache", "async", "output", "json_restrictor"}
    | {"zero_trace", "api_key", "serp_api_key", "source", "webhook"}
)


def same(value: str) -> str | None:
    return value


def one_based(value: str) -> str | None:
    """A 1-based result offset (Bing's ``first``, Yahoo's ``b``) as serpgate's 0-based ``start``."""
    if not value.isdecimal() or not value.isascii() or len(value) > 9 or int(value) < 1:
        raise ValueError("must be a whole number from 1, in plain decimal digits")
    return str(int(value) - 1)


def matching(pattern: str, meaning: str) -> Callable[[str], str | None]:
    """A converter that keeps a value of the engine's own form (``pattern``), else a 400 saying
    what the engine means by it: one field, two engines, two meanings (Google's and Yandex's
    ``lr``)."""
    compiled = re.compile(pattern)

    def convert(value: str) -> str | None:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {meaning}")
        return value

    return convert


def times(factor: int) -> Callable[[str], str | None]:
    """A 0-based page number as serpgate's offset: ``factor`` results a page."""

    def convert(value: str) -> str | None:
        if not value.isdecimal() or not value.isascii() or len(value) > 4:
            raise ValueError("must be a page number from 0, in plain decimal digits")
        return str(int(value) * factor)

    return convert


def choice(table: Mapping[str, str | None]) -> Callable[[str], str | None]:
    """A converter for an enumerated value; None drops the parameter (the engine's default)."""

    def convert(value: str) -> str | None:
        if value not in table:
            raise ValueError(f"must be one of {', '.join(table)}")
        return table[value]

    return convert


@dataclass(frozen=True, slots=True)
class Alias:
    """A SerpApi name an engine takes for one of serpgate's fields, how its value maps, and the
    JSON schema of the values it takes (for the OpenAPI document)."""

    target: str
    convert: Callable[[str], str | None] = same
    schema: Mapping[str, object] = field(default_factory=lambda: {"type": "string"})


# The schemas of the converters above, for the OpenAPI document.
ONE_BASED: Mapping[str, object] = {"type": "integer", "minimum": 1, "maximum": 1001}


def one_of(*values: str) -> Mapping[str, object]:
    return {"type": "string", "enum": list(values)}


@dataclass(frozen=True, slots=True)
class EngineParameters:
    """What one engine takes beyond ``COMMON``: fields it maps, and SerpApi names for them.

    ``refused`` names SerpApi parameters of this engine that serpgate does not map, each with
    the reason its 400 gives.
    """

    accepts: frozenset[str] = frozenset()
    aliases: Mapping[str, Alias] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """Every query parameter name this engine takes."""
        return COMMON | self.accepts | frozenset(self.aliases)

    def read(self, engine: str, query: Mapping[str, str]) -> dict[str, str]:
        """``query`` in serpgate's field names; a 400 for what this engine does not take.

        Names no engine knows are left for ``SearchParams`` to refuse as unsupported.
        """
        fields: dict[str, str] = {}
        for name, value in query.items():
            alias = self.aliases.get(name)
            if alias is None:
                if name in self.refused:
                    raise InvalidRequest(
                        f"parameter {name!r} is not supported for engine {engine!r}: "
                        f"{self.refused[name]}"
                    )
                fields[name] = value
                continue
            if alias.target != name and alias.target in query:
                raise InvalidRequest(
                    f"parameters {name!r} and {alias.target!r} mean the same for engine "
                    f"{engine!r}; give one of them"
                )
            try:
                converted = alias.convert(value)
            except ValueError as exc:
                raise InvalidRequest(f"invalid value for parameter {name!r}: {exc}") from None
            if converted is not None:
                fields[alias.target] = converted
        return fields

    def check(self, engine: str, given: Mapping[str, object], known: frozenset[str]) -> None:
        """Refuse a field serpgate knows that this engine does not map."""
        for name in given:
            if name in known and name not in COMMON and name not in self.accepts:
                takes = ", ".join(sorted(self.names - COMMON)) or "only the common parameters"
                raise InvalidRequest(
                    f"parameter {name!r} is not supported for engine {engine!r} (it takes: {takes})"
                )

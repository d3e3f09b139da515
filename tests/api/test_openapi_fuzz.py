"""A bounded schemathesis run over ``/openapi.json``, against the live service and sandbox.

Every operation is exercised with generated requests (the key sent as a Bearer header), valid
and invalid ones: none may answer a 5xx or a response outside its schema (``output=html``'s
text/html included), none that keeps to the schema and to what each engine takes may be refused,
and none that breaks the schema may be accepted.

Which engine takes which parameter is in the document (``x-engines`` on each parameter), and
the generated searches keep to it and to each engine's declaration (one of two names for the
same thing, ``q`` or Yahoo's ``p``; each engine's own form of ``lr``). A ``location`` must be a
known place (``/locations.json`` lists them), which no schema can say. A generated ``api_key``
is dropped (the Bearer header is the key under test, and a random one is rightly a 401), and so
is ``json_restrictor``, whose answer is a part of the document by design. Bounded by the
examples per operation (``SERPGATE_FUZZ_EXAMPLES``, 40 by default).

Run alone: ``timeout 900 .venv/bin/python -m pytest tests/api/test_openapi_fuzz.py``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from serpgate.edge import EdgeProtocol
from serpgate.engines.registry import ENGINE_TYPES
from serpgate.errors import InvalidRequest
from serpgate.locations import LocationIndex
from serpgate.models.params import SearchParams
from tests.live_service import LiveService, live_service

KEY = "sg_fuzz_key"
EXAMPLES = int(os.environ.get("SERPGATE_FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    # Webhook targets on private networks are allowed here: whether an address is private is no
    # part of a schema, and the refusal is tested on its own (tests/jobs).
    with live_service(f"fuzz:unlimited:{KEY}", webhooks={"allow_private": True}) as running:
        # The location index is built on first use (seconds on a busy machine): before the run,
        # so that no generated request waits for it.
        httpx.get(f"{running.url}/locations.json", timeout=120).raise_for_status()
        yield running


@pytest.fixture(scope="module")
def places() -> LocationIndex:
    return LocationIndex.build()


@pytest.fixture(scope="module")
def api_schema(service: LiveService, places: LocationIndex) -> Any:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    search = schema["/search"]["GET"]
    engines = {cls.name: cls.parameters for cls in ENGINE_TYPES}
    engines_of = {
        p["name"]: set(p.get("x-engines", ())) for p in search.definition.raw["parameters"]
    }

    def keeps_to_the_engine(ctx: Any, query: dict[str, Any] | None) -> bool:
        if not query or ctx.operation.path != "/search" or query.get("engine") not in engines:
            return True
        engine = query["engine"]
        if not all(engine in engines_of.get(name, {engine}) for name in query):
            return False
        # What the engine's own declaration refuses (one thing named twice, a value of another
        # engine's form) no schema of a flat parameter list can say.
        declared = engines[engine]
        try:
            fields = declared.read(engine, {k: str(v) for k, v in query.items()})
            declared.check(engine, fields, SearchParams.query_names())
        except InvalidRequest:
            return False
        if query.get("zero_trace") is True and query.get("async") is True:
            return False
        if "location" in query and "uule" in query:
            return False
        if "webhook" in query and query.get("async") is not True:
            return False
        return _location_known(query, places)

    def without_a_key(ctx: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
        if query:
            query.pop("api_key", None)
            query.pop("serp_api_key", None)
            # A restricted answer is a part of the document by design, not the schema's whole.
            query.pop("json_restrictor", None)
        return query

    schema.hook("filter_query")(keeps_to_the_engine)
    schema.hook("map_query")(without_a_key)
    return schema


def _location_known(query: dict[str, Any], places: LocationIndex) -> bool:
    if "location" not in query:
        return True
    try:
        places.resolve(str(query["location"]))
    except Exception:
        return False
    return True


def test_the_api_keeps_its_schema(api_schema: Any) -> None:
    for result in api_schema.get_all_operations():
        operation = result.ok()
        statuses = _exercise(operation)
        # The run's summary, shown with pytest -s: what each operation was sent and answered.
        answered = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
        print(
            f"{operation.method.upper()} {operation.path}: {statuses.total()} requests ({answered})"
        )


def _exercise(operation: Any) -> Counter[int]:
    """Valid and invalid requests to one operation, each answer checked; the statuses seen.

    Under hypothesis directly: schemathesis' pytest plugin reaches into pytest internals that
    pytest 9 no longer has.
    """
    statuses: Counter[int] = Counter()
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)

    @given(st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes)))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def keeps_its_schema(case: schemathesis.Case[Any]) -> None:
        # The edge answers a URL past its limit with 414 before any route sees it (tested in
        # test_edge.py); schemathesis counts no 414 as a refusal, so such URLs are not sent here.
        assume(len(urlencode(case.query or {}, doseq=True)) < EdgeProtocol.max_url - 512)
        response = case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"})
        statuses[response.status_code] += 1

    keeps_its_schema()
    return statuses

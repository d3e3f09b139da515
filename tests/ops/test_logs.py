"""Logs: one JSON line per request with the fields operators filter on, and never an API key."""

from __future__ import annotations

import logging
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from serpgate.jsonlog import (
    _ISSUED_KEY,
    _SECRET_FIELD,
    REDACTED,
    JsonFormatter,
    redact_secrets,
    utc_millis,
)
from tests.ops.processes import SERPGATE, json_lines, running, serve_env, wait_until_ready
from tests.ops.sandbox_thread import sandbox_in_thread
from tests.redis_server import free_port

# Two keys of different shapes: one as `serpgate keys create` issues them, one chosen by hand.
ISSUED_KEY = "sg_Zq8vLr3Wm1Xy7Tb2Kc9Pd4Hf"
CHOSEN_KEY = "hand-picked-Key-5150"
UNKNOWN_KEY = "sg_NotAKeyOfOursButSecretAnyway"
ACCESS_FIELDS = {
    "request_id",
    "tenant_id",
    "engine",
    "cache",
    "attempts",
    "status",
    "duration_ms",
    "method",
    "path",
    "route",
}


def test_no_log_line_carries_an_api_key_even_at_trace_level(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with sandbox_in_thread() as sandbox:
        env = serve_env(
            port,
            api_keys=f"issued:unlimited:{ISSUED_KEY},chosen:unlimited:{CHOSEN_KEY}",
            engine_urls=sandbox.engine_urls(),
            # uvicorn's trace level prints every ASGI message: query strings and headers.
            log_level="trace",
            parse__mode="inline",
        )
        with running([*SERPGATE, "serve", "--workers", "2"], log, env) as proc:
            wait_until_ready(url, proc)
            with httpx.Client(base_url=url, timeout=10) as client:
                for key in (ISSUED_KEY, CHOSEN_KEY):
                    in_query = client.get(
                        "/search.json", params={"engine": "bing", "q": "coffee", "api_key": key}
                    )
                    assert in_query.status_code == 200
                    search_id = in_query.json()["search_metadata"]["id"]
                    bearer = {"Authorization": f"Bearer {key}"}
                    assert (
                        client.get(
                            "/search", params={"engine": "bing", "q": "tea"}, headers=bearer
                        ).status_code
                        == 200
                    )
                    assert (
                        client.get(f"/searches/{search_id}.json", headers=bearer).status_code == 200
                    )
                    assert client.get("/account", params={"api_key": key}).status_code == 200
                    # Refused requests log too: a bad parameter, an unknown engine.
                    bad = {"engine": "bing", "q": "x", "num": "1000", "api_key": key}
                    assert client.get("/search", params=bad).status_code == 400
                    unknown = {"engine": "nope", "q": "x"}
                    assert client.get("/search", params=unknown, headers=bearer).status_code == 400
                refused = client.get(
                    "/search", params={"engine": "bing", "q": "x", "api_key": UNKNOWN_KEY}
                )
                assert refused.status_code == 401
                refused = client.get("/account", headers={"Authorization": f"Bearer {UNKNOWN_KEY}"})
                assert refused.status_code == 401
            time.sleep(0.2)

    text = log.read_text()
    for secret in (ISSUED_KEY, CHOSEN_KEY, UNKNOWN_KEY):
        assert secret not in text
    lines = json_lines(log)
    # uvicorn printed query strings, keys and all (headers it elides), and they came out redacted.
    asgi = " ".join(str(line["msg"]) for line in lines if line["logger"] == "uvicorn.asgi")
    assert "'query_string': b'engine=bing&q=coffee&api_key=REDACTED'" in asgi
    access = [line for line in lines if line["logger"] == "serpgate.access"]
    probes = [line for line in access if line["route"] == "/readyz"]
    assert probes
    assert {line["level"] for line in probes} == {"debug"}
    access = [line for line in access if line["level"] == "info"]
    assert len(access) == 2 * 6 + 2
    for line in access:
        assert line.keys() >= ACCESS_FIELDS
        assert re.fullmatch(r"[0-9a-f]{32}", str(line["request_id"]))
    searches = [line for line in access if line["route"] == "/search.json"]
    assert {line["status"] for line in searches} == {200}
    assert all(line["engine"] == "bing" and line["tenant_id"] for line in searches)
    assert {line["status"] for line in access if line["route"] == "/account"} == {200, 401}
    assert len({line["pid"] for line in lines}) >= 2  # the workers and their parent, one stream


def test_request_id_is_echoed_when_sane_and_replaced_when_not(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with running([*SERPGATE, "serve"], log, serve_env(port)) as proc:
        wait_until_ready(url, proc)
        sane = "7c0d1e5a-2f34-4b5e-9a61-0f9d5c3b2a10"
        assert (
            httpx.get(f"{url}/healthz", headers={"X-Request-ID": sane}).headers["x-request-id"]
            == sane
        )
        forged = 'x", "level": "error'
        answered = httpx.get(f"{url}/nowhere", headers={"X-Request-ID": forged})
        assert answered.status_code == 404
        assert re.fullmatch(r"[0-9a-f]{32}", answered.headers["x-request-id"])
        generated = httpx.get(f"{url}/healthz").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
    access = [line for line in json_lines(log) if line["logger"] == "serpgate.access"]
    assert [line["route"] for line in access] == ["unmatched"]  # probes log at debug only
    assert access[0]["request_id"] == answered.headers["x-request-id"]


def test_secrets_are_redacted_from_messages_exceptions_and_urls() -> None:
    assert redact_secrets("GET /search?q=a&api_key=k1&num=10") == (
        "GET /search?q=a&api_key=REDACTED&num=10"
    )
    assert "k2" not in redact_secrets("{'headers': [(b'authorization', b'Bearer k2')]}")
    assert "k3" not in redact_secrets('{"api_key": "k3"}')
    assert "pw" not in redact_secrets("cannot reach redis://:pw@redis:6379/0")
    assert "pw" not in redact_secrets("proxy http://user:pw@10.0.0.1:3128 failed")
    assert "sg_" + "A" * 20 not in redact_secrets("key sg_" + "A" * 20 + " seen")
    assert redact_secrets("basic markup, 10 results") == "basic markup, 10 results"


@pytest.mark.parametrize(
    "line",
    [
        # The access log redacts its query itself; a line may still carry another key.
        '"msg":"GET /search?api_key=REDACTED 200","path":"/search?api_key=REDACTED&q=a"',
        "GET /search?api_key=REDACTED&api_key=sg_live_k7",
        "GET /search?api_key=REDACTEDk8 200",
        "GET /search?API_KEY=REDACTED&admin_key=k9",
        '{"msg":"GET /s?api_key=REDACTED 200","detail":"apikey: k10"}',
    ],
)
def test_a_line_redacted_in_part_is_redacted_as_a_whole(line: str) -> None:
    """What the shortcut for already-redacted lines answers is what the full scan answers."""
    full = _SECRET_FIELD.sub(rf"\1\2{REDACTED}", line)
    assert redact_secrets(line) == _ISSUED_KEY.sub(f"sg_{REDACTED}", full)
    for secret in ("k7", "k8", "k9", "k10"):
        assert secret not in redact_secrets(line)

    formatter = JsonFormatter()
    try:
        raise ValueError("bad URL /search?api_key=k4")
    except ValueError as exc:
        record = logging.LogRecord(
            "serpgate.test", logging.ERROR, __file__, 1, "failed on %s", ("api_key=k5",), None
        )
        record.exc_info = (type(exc), exc, exc.__traceback__)
        record.tenant_id = "tn_1"
        line = formatter.format(record)
    assert "k4" not in line
    assert "k5" not in line
    assert '"tenant_id":"tn_1"' in line
    assert '"level":"error"' in line


def test_a_line_s_time_reads_as_datetime_writes_it() -> None:
    """The time formatted once per second reads to the millisecond as ``datetime`` gives it,
    at the edges of rounding too, and whatever order the times come in."""
    base = 1_796_000_000
    edges = [base + f for f in (0.0, 0.0004999, 0.0005, 0.0009999, 0.9994999, 0.9995, 0.9999994)]
    edges += [base + f for f in (0.9999995, 0.9999996, 0.999999999, 1.0000004, 1.0000005)]
    sample = [base + random.Random(7).uniform(-1e8, 1e8) for _ in range(5000)]
    stepped = [base + 5 + step / 1_000_000 for step in range(0, 3_000_000, 997)]
    for created in edges + sample + stepped + edges:
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert utc_millis(created) == expected, created


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("GET /s?q=a&api_key=REDACTED&num=1 200", True),
        ('{"path":"/s?q=a&api_key=REDACTED","msg":"GET /s?api_key=REDACTED 200"}', True),
        ("GET /s?api_key=REDACTED&api_key=k11 200", False),
        ("GET /s?api_key=REDACTEDk12 200", False),
        ("GET /s?apikey=REDACTED&admin_key=k13", False),
        ('{"detail":"access_token=k14"}', False),
    ],
)
def test_only_a_line_naming_an_unredacted_secret_is_scanned(line: str, kept: bool) -> None:
    """The check that lets an already-redacted line skip the scan lets nothing else skip it."""
    redacted = redact_secrets(line)
    assert (redacted == line) is kept
    assert not re.search(r"k1[1-4]", redacted)

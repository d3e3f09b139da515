"""The ``serpgate`` command as a user runs it: real processes, a real Redis, real HTTP."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import httpx

from serpgate.cli import build_parser
from serpgate.settings import DEFAULT_PLANS, Settings
from tests.conftest import serp_page
from tests.redis_server import free_port

SERPGATE = [sys.executable, "-m", "serpgate.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERPGATE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_keys_create_list_revoke_against_redis(redis_url: str, key_prefix: str) -> None:
    env = {"SERPGATE_REDIS_URL": redis_url, "SERPGATE_KEY_PREFIX": key_prefix}
    created = run("keys", "create", "--name", "acme", "--plan", "free", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.split("API key (shown once, store it now): ")[1].strip()
    tenant_id = created.stdout.split()[2]
    assert key.startswith("sg_")

    listed = run("keys", "list", env=env)
    assert listed.stdout.splitlines()[0] == "id\tname\tplan\tstate\tcreated"
    assert f"{tenant_id}\tacme\tfree\tactive" in listed.stdout
    assert key not in listed.stdout
    again = run("keys", "create", "--name", "acme", "--plan", "developer", env=env)
    assert again.returncode == 1
    assert "'acme' exists already" in again.stderr

    revoked = run("keys", "revoke", tenant_id, env=env)
    assert revoked.returncode == 0
    assert f"{tenant_id}\tacme\tfree\trevoked" in run("keys", "list", env=env).stdout
    assert run("keys", "revoke", "tn_missing", env=env).returncode == 1


def test_errors_are_one_line_and_nonzero() -> None:
    no_redis = run("keys", "list", env={"SERPGATE_REDIS_URL": ""})
    bad_redis = run("keys", "list", env={"SERPGATE_REDIS_URL": "localhost:6379"})
    bad_setting = run("serve", env={"SERPGATE_PORT": "not-a-port"})
    unreachable = run(
        "keys", "list", env={"SERPGATE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )
    for result, text in [
        (bad_setting, "SERPGATE_PORT"),
        (unreachable, "cannot reach the store"),
        (no_redis, "set SERPGATE_REDIS_URL"),
        (bad_redis, "SERPGATE_REDIS_URL: Value error, must be a redis://"),
    ]:
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert text in result.stderr
        assert "Traceback" not in result.stderr


def test_every_command_and_flag_has_help_and_none_shows_markup() -> None:
    parser = build_parser()
    pending = [parser]
    seen = 0
    while pending:
        current = pending.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, f"{current.prog} {choice.dest} has no help"
                pending.extend(action.choices.values())
            else:
                assert action.help, f"{current.prog} {'/'.join(action.option_strings)} has no help"
                seen += 1
        text = current.format_help()
        assert "``" not in text, text
    assert seen > 25
    version = run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("serpgate ")
    plans = run("keys", "create", "--help").stdout
    for plan in DEFAULT_PLANS:
        assert plan in plans


def test_sandbox_print_env_points_serve_at_it() -> None:
    port = free_port()
    command = [*SERPGATE, "sandbox", "--port", str(port), "--profile", "hostile", "--proxies", "10"]
    command.append("--print-env")
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().strip() for _ in range(2)]
        finally:
            proc.terminate()
            proc.communicate(timeout=20)
    settings: dict[str, str] = {}
    for line in lines:
        name, _, value = line.removeprefix("export ").partition("=")
        settings[name] = shlex.split(value)[0]
    engines = json.loads(settings["SERPGATE_ENGINE_URLS"])
    assert engines["bing"] == f"http://127.0.0.1:{port}/bing"
    proxies = json.loads(settings["SERPGATE_RESILIENCE__PROXIES__URLS"])
    assert len(proxies) == 10
    assert all(url.startswith("http://127.0.0.") for url in proxies)
    # What it printed is what serve's settings read.
    parsed = Settings(**{"engine_urls": engines, "resilience": {"proxies": {"urls": proxies}}})
    assert parsed.engine_urls == engines


def wait_for(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            assert proc.poll() is None, "demo exited early"
            assert time.monotonic() < deadline, "demo did not start"
            time.sleep(0.1)


def test_demo_serves_searches_from_the_sandbox_and_says_how() -> None:
    port, sandbox_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*SERPGATE, "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)]
    with subprocess.Popen(
        [*command, "--api-key", "demo-key"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            wait_for(url, proc)
            params = {"engine": "bing", "q": "coffee", "api_key": "demo-key"}
            body = httpx.get(f"{url}/search.json", params=params, timeout=10).json()
            assert len(body["organic_results"]) == 10
            search_id = body["search_metadata"]["id"]
            archived = httpx.get(f"{url}/searches/{search_id}", params={"api_key": "demo-key"})
            assert archived.json() == body
        finally:
            proc.terminate()
            printed, _ = proc.communicate(timeout=20)
    assert "API key: demo-key (plan Unlimited: unlimited a minute, unlimited an hour, " in printed
    assert "unlimited a month, unlimited in flight)" in printed
    assert f"curl '{url}/search.json?engine=bing&q=coffee&api_key=demo-key'" in printed


def test_parse_prints_the_search_contract_for_a_saved_page() -> None:
    page = serp_page("bing/nojs_2021.html")
    with tempfile.NamedTemporaryFile("w", suffix=".html", encoding="utf-8") as saved:
        saved.write(page)
        saved.flush()
        result = run("parse", "--engine", "bing", saved.name)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["search_metadata"]["status"] == "Success"
    assert body["search_parameters"]["q"] == "bing"  # as the page shows it
    assert len(body["organic_results"]) == 10
    assert body["organic_results"][0]["link"] == "https://www.bing.com/"
    assert body["knowledge_graph"]["title"] == "Bing"


def test_parse_takes_the_google_tab_as_an_option() -> None:
    news = serp_page("google/news_2025-06-14_q-schloss-johannisberg.html")
    with tempfile.NamedTemporaryFile("w", suffix=".html", encoding="utf-8") as saved:
        saved.write(news)
        saved.flush()
        result = run("parse", "--engine", "google", "--tbm", "nws", saved.name)
        refused = run("parse", "--engine", "google", "--tbm", "shop", saved.name)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["search_parameters"]["tbm"] == "nws"
    assert len(body["news_results"]) == 10
    assert body["news_results"][0]["source"] == "DFNI"
    assert refused.returncode == 1
    assert "'nws', 'isch' or 'vid'" in refused.stderr


def test_parse_of_a_block_page_or_unknown_engine_is_one_clear_line() -> None:
    page = serp_page("bing/block_challenge_2026-04.html")
    with tempfile.NamedTemporaryFile("w", suffix=".html", encoding="utf-8") as saved:
        saved.write(page)
        saved.flush()
        blocked = run("parse", "--engine", "bing", saved.name)
        unknown = run("parse", "--engine", "altavista", saved.name)
    missing = run("parse", "--engine", "bing", "/nonexistent/page.html")
    for result, text in [
        (blocked, "bot challenge"),
        (unknown, "unknown engine 'altavista'"),
        (missing, "cannot read /nonexistent/page.html"),
    ]:
        assert result.returncode == 1
        assert text in result.stderr
        assert result.stderr.count("\n") == 1

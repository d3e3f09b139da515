"""Closed-loop load with wrk (Debian's package): C connections, each sending as answers return.

``bench/lua/mix.lua`` feeds wrk the scenario's request paths in order and writes what it saw as
JSON. wrk is C on its own thread, so it needs a small share of one core for the rates here; the
CPU it used (from ``wait4``) goes into every result, so the report can say whether it could have
been the bottleneck. Without wrk on the machine, ``bench.loadgen``'s closed mode stands in.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

SCRIPT = Path(__file__).resolve().parent / "lua" / "mix.lua"


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    try:
        done = subprocess.run(
            ["wrk", "-v"],  # noqa: S607  # looked up on PATH, like every tool
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    return (done.stdout + done.stderr).splitlines()[0].strip() if done.stdout or done.stderr else ""


def run(
    base_url: str,
    paths: Sequence[str],
    workdir: Path,
    name: str,
    *,
    connections: int,
    seconds: float,
    limit: int = 0,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """One wrk run; ``limit`` > 0 ends it after that many answers (``seconds`` is then a bound).

    Returns mix.lua's figures plus ``wall_s`` (first request to last counted answer, or the whole
    run), ``rps``, ``cpu_s`` and ``cpu_share`` (of one core) of wrk itself.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    paths_file = workdir / f"{name}.paths"
    paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
    out = workdir / f"{name}.wrk.json"
    marker = Path(f"{out}.done")
    for stale in (out, marker):
        stale.unlink(missing_ok=True)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout:g}s",
        "-s",
        str(SCRIPT),
        base_url,
        "--",
        str(paths_file),
        str(out),
        str(limit),
    ]
    log = workdir / f"{name}.wrk.log"
    started = time.monotonic()
    with log.open("wb") as output:
        popen = subprocess.Popen(  # noqa: S603  # wrk with our own arguments, no shell
            command, stdout=output, stderr=subprocess.STDOUT
        )
    interrupted, killed = False, False
    deadline = started + seconds + 60
    while True:
        pid, status, usage = os.wait4(popen.pid, os.WNOHANG)
        if pid == popen.pid:
            popen.returncode = code = os.waitstatus_to_exitcode(status)
            cpu = usage.ru_utime + usage.ru_stime
            break
        if limit and not interrupted and marker.exists():
            popen.send_signal(signal.SIGINT)  # wrk prints and calls done() on SIGINT
            interrupted = True
        if time.monotonic() > deadline and not killed:
            popen.kill()
            killed = True
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    if not out.exists():
        raise RuntimeError(f"wrk wrote no results (exit {code}): {log.read_text()[-2000:]}")
    figures: dict[str, Any] = orjson.loads(out.read_bytes())
    counted = figures["received"] if limit else figures["requests"]
    if limit and figures["last_counted"] > 0:
        wall = figures["last_counted"] - figures["first_sent"]
    else:
        wall = figures["duration_us"] / 1e6
    figures.update(
        counted=counted,
        wall_s=wall,
        rps=counted / wall if wall > 0 else 0.0,
        cpu_s=cpu,
        cpu_share=cpu / elapsed if elapsed > 0 else 0.0,
        tool="wrk",
        connections=connections,
    )
    return figures

"""A sampling profile of the running service (py-spy), summarised by component.

py-spy attaches to the server process for a few seconds while load runs and writes collapsed
stacks; ``summarise`` turns them into the share of busy samples each component of the request
path accounts for, and the functions with the most time of their own. py-spy is optional:
without it the scenario says so and carries on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Components, by the file of a frame. A sample goes to the component of its innermost frame that
# is not generic plumbing (asyncio, contextlib, urllib, ...), so a timeout set by redis-py counts
# as redis-py and an urlencode called by the access log as the access log. This survives stacks
# cut short (py-spy cannot always walk a coroutine chain resumed by uvloop to its root).
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Redis client (redis-py): rate-limit script, archive write", ("redis/",)),
    ("serpgate traffic layer (limits, cache lookup, Redis guard)", ("serpgate/traffic/",)),
    ("archive and store", ("serpgate/archive.py", "serpgate/store/")),
    ("search pipeline (render_answer, metadata, links)", ("serpgate/search.py",)),
    (
        "access log (line, JSON, redaction)",
        ("serpgate/accesslog.py", "serpgate/jsonlog.py", "serpgate/loghandler.py", "logging/"),
    ),
    ("metrics (prometheus-client)", ("prometheus_client/", "serpgate/metrics.py")),
    ("validation and models (pydantic)", ("pydantic", "serpgate/models/")),
    ("FastAPI dependency resolution", ("fastapi/dependencies/",)),
    ("routes and authentication", ("serpgate/api/", "serpgate/traffic/tenants")),
    ("framework (FastAPI/Starlette routing, middleware)", ("fastapi/", "starlette/")),
    ("HTTP server (uvicorn, httptools)", ("uvicorn/", "httptools")),
)
GENERIC = (
    "asyncio/", "contextlib", "<frozen", "typing", "dataclasses", "functools", "copy.py", "enum",
    "abc.py", "threading", "weakref", "urllib/", "re/", "json/", "datetime", "uuid", "hashlib",
    "hmac", "secrets", "random", "string", "anyio/",
)  # fmt: skip
LOOP = "event loop (asyncio frames only)"
NATIVE = "native code: uvloop, socket I/O, kernel (CPU not in any Python frame)"

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, rate: int = 250) -> bool:
    """Sample ``pid`` for ``seconds``; False when py-spy is absent or could not attach."""
    binary = py_spy()
    if binary is None:
        return False
    command = [binary, "record", "-p", str(pid), "-d", f"{max(1, round(seconds))}"]
    # --gil: only the thread holding the GIL, i.e. Python CPU time; a thread asleep (the log
    # writer between batches) or waiting for the GIL is not counted as work.
    command += ["-r", str(rate), "-f", "raw", "-o", str(out), "--nonblocking", "--gil"]
    try:
        done = subprocess.run(  # noqa: S603  # py-spy with our own arguments, no shell
            command, capture_output=True, timeout=seconds + 60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and out.exists()


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw)
        if match:
            frames.append((match["func"], match["file"]))
    return frames


def component(frames: list[tuple[str, str]]) -> str:
    for _, path in reversed(frames):
        if any(marker in path for marker in GENERIC):
            continue
        for label, markers in COMPONENTS:
            if any(marker in path for marker in markers):
                return label
        return f"other ({path.split('site-packages/')[-1].split('/')[0]})"
    return LOOP


def summarise(collapsed: Path, top: int = 12) -> dict[str, Any]:
    """Share of busy samples per component, and the functions with the most self time."""
    total = 0
    by_component: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = _frames(stack)
        by_component[component(frames)] += n
        if frames:
            func, path = frames[-1]
            own[f"{func} ({path.split('site-packages/')[-1].split('/src/')[-1]})"] += n
    return {
        "samples": total,
        "counts": by_component.most_common(),
        "self": [(name, n / total) for name, n in own.most_common(top)] if total else [],
    }

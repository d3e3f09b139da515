"""A sampling profile of the running service (py-spy), summarised by stage of the request path.

py-spy attaches to the server process for a few seconds while load runs and writes collapsed
stacks; ``summarise`` turns them into the share of busy samples each stage's frames appear in.
py-spy is optional: without it the scenario says so and carries on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Stage of the cached path -> the frame (function, file fragment) whose inclusive share it is.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("search pipeline (SearchService.search)", "SearchService.search", "serpgate/search.py"),
    ("rate limit: Lua script round trip", "RedisRateLimiter.hit", "ratelimit.py"),
    ("archive write: Redis SET of the answer", "SearchArchive.save", "archive.py"),
    ("cache lookup (ReadThroughCache.get)", "ReadThroughCache.get", "readthrough.py"),
    ("render_answer (metadata + splice)", "render_answer", "serpgate/search.py"),
    ("FastAPI dependencies (params, key)", "solve_dependencies", "fastapi/dependencies"),
    ("access log line + request metrics", "AccessLogMiddleware._finish", "accesslog.py"),
    ("all Redis commands (redis-py)", "Redis.execute_command", "redis/asyncio/client.py"),
    ("response sent (uvicorn send)", "RequestResponseCycle.send", "uvicorn/protocols"),
    ("worker-thread hops (anyio)", "run_sync_in_worker_thread", "anyio"),
)

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
    command += ["-r", str(rate), "-f", "raw", "-o", str(out), "--nonblocking"]
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


def summarise(collapsed: Path, top: int = 12) -> dict[str, object]:
    """Share of busy samples per stage (inclusive) and the functions with the most self time."""
    total = 0
    stage_hits: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = _frames(stack)
        if not frames:
            continue
        for label, func, fragment in STAGES:
            if any(f == func and fragment in path for f, path in frames):
                stage_hits[label] += n
        func, path = frames[-1]
        own[f"{func} ({path.split('site-packages/')[-1].split('/src/')[-1]})"] += n
    share = {label: stage_hits[label] / total if total else 0.0 for label, _, _ in STAGES}
    return {
        "samples": total,
        "stages": share,
        "self": [(name, n / total) for name, n in own.most_common(top)] if total else [],
    }

"""What browser tests share: the system Chromium (or a clear skip), and this process's Chromiums."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serpgate.upstream.browser import find_chromium


def require_chromium() -> Path:
    """The system Chromium; skips with the reason where absent, but fails under CI=true."""
    found = find_chromium(None)
    if found is None:
        reason = "Chromium is not installed (scripts/test installs Debian's chromium as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def chromium_descendants() -> dict[int, str]:
    """Chromium processes descending from this one (pid → command line), zombies excluded."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone while we looked
        # The command name may hold spaces or parentheses: fields start after its last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents[int(entry.name)] = int(fields[1])
        commands[int(entry.name)] = command
    ours = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                changed = True
    return {pid: commands[pid] for pid in ours if "chrom" in commands.get(pid, "")}


def browser_process() -> int:
    """The main Chromium process of this test's pool (its helpers carry ``--type=``)."""
    mains = [pid for pid, cmd in chromium_descendants().items() if "--type=" not in cmd]
    assert len(mains) == 1, mains
    return mains[0]

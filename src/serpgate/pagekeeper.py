"""``PageKeeper``: the pages no parser recognised, kept in a bounded folder for an operator.

A parser that meets a page it does not know answers ``UnrecognizedPage`` rather than "no results".
The page itself is what an operator needs to see why: a new layout, a consent wall, an interstitial
nobody has captured yet. Keeping it the first time it happens catches a layout change on its first
page, not its thousandth. The folder holds at most ``limit`` pages, oldest removed first, so a
layout change that fails every search cannot fill the disk; names sort by time, so ``ls`` shows
the newest last, and each page opens with a comment that says which engine, URL and refusal.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("serpgate.pagekeeper")

_UNSAFE = re.compile(r"[^a-z0-9_-]+")


class PageKeeper:
    def __init__(
        self, folder: Path | None, limit: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.folder = folder
        self.limit = limit
        self._clock = clock

    def keep(self, engine: str, url: str | None, page: str, reason: str) -> Path | None:
        """Write ``page`` to the folder and trim the folder to ``limit`` pages; the path written,
        or None when keeping is off or the disk refused (which never fails the search)."""
        if self.folder is None:
            return None
        now = self._clock()
        micros = int(now * 1_000_000) % 1_000_000
        stamp = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}.{micros:06d}Z"
        name = f"{stamp}-{_UNSAFE.sub('_', engine.lower())}-{secrets.token_hex(4)}.html"
        # "--" cannot appear inside an HTML comment; URLs and messages may hold it.
        header = f"engine: {engine}\nurl: {url or '?'}\nreason: {reason}".replace("--", "- -")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / name
            path.write_text(f"<!-- serpgate kept this page\n{header}\n-->\n{page}", "utf-8")
            self._trim()
        except OSError as exc:
            log.warning(
                "an unrecognised %s page could not be kept in %s: %s", engine, self.folder, exc
            )
            return None
        return path

    def kept(self) -> list[Path]:
        """The pages in the folder, oldest first."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.html"), key=lambda p: p.name)

    def _trim(self) -> None:
        pages = self.kept()
        for old in pages[: max(0, len(pages) - self.limit)]:
            # Another replica sharing the folder may have removed it first.
            old.unlink(missing_ok=True)

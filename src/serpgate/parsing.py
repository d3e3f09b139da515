"""``PageParser``: where engine parsers run, so that a 2 MB page cannot stall the event loop.

Parsing is pure CPU work that holds the GIL, so a thread only shares the loop's time with it,
while a process pool moves it to another core at the cost of pickling the page there and the
result back. Pages under ``inline_below`` bytes parse inline, where a pool's round trip would cost
more than the parse itself. ``bench/event_loop.py`` measures the three modes side by side; the
default follows its figures (see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Literal

from serpgate.engines.base import Engine
from serpgate.errors import SerpgateError, UpstreamError
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData

ParseMode = Literal["inline", "thread", "process"]
log = logging.getLogger("serpgate.parsing")


def spare_cores(serving: int) -> int:
    """A serving process's share of the cores that all of them (``serve --workers N``) leave
    free: the size of its parser pool, one process per core."""
    return ((os.cpu_count() or 1) - serving) // serving


class PageParser:
    """Where pages parse. A process pool is sized, unless ``workers`` says, to this process's
    share of the cores the ``serving`` processes leave free; where that is none, pages parse
    inline. A pool beside as many serving processes as cores only adds a process per core to
    compete for them and a pickled page per search: scenario 3 (two workers on two cores) took
    74.7 s for 100,000 searches with a pool per worker and 50.8 s inline (docs/performance.md)."""

    def __init__(
        self,
        mode: ParseMode,
        workers: int | None = None,
        inline_below: int = 0,
        observe: Callable[[str, float], None] | None = None,
        serving: int = 1,
    ) -> None:
        self._observe = observe
        self.inline_below = inline_below
        self._executor: Executor | None = None
        if mode == "thread":
            self._executor = ThreadPoolExecutor(workers or 2, thread_name_prefix="parse")
        elif mode == "process":
            size = workers or spare_cores(serving)
            if size >= 1:
                self._executor = ProcessPoolExecutor(size)
            else:
                mode = "inline"
        self.mode: ParseMode = mode

    async def parse(self, engine: Engine, html: str, params: SearchParams) -> SerpData:
        """The page read by ``engine``; a parser bug becomes a typed error, never a 500."""
        started = time.perf_counter()
        try:
            if self._executor is None or len(html) < self.inline_below:
                return engine.parse(html, params)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, engine.parse, html, params)
        except SerpgateError:
            raise
        except Exception as exc:
            log.exception("the %s parser failed on a page of %d characters", engine.name, len(html))
            raise UpstreamError(f"{engine.name}: the result page could not be read") from exc
        finally:
            if self._observe is not None:
                self._observe(engine.name, time.perf_counter() - started)

    def close(self) -> None:
        if self._executor is not None:
            # Waiting joins the workers: without it they can outlive the server as orphans.
            self._executor.shutdown(wait=True, cancel_futures=True)

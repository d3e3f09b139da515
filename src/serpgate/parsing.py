"""``PageParser``: where engine parsers run, so that a 2 MB page cannot stall the event loop.

Parsing is pure CPU work that holds the GIL, so a thread only shares the loop's time with it,
while a process pool moves it to another core at the cost of pickling the page there and the
result back. Pages under ``inline_below`` bytes parse inline, where a pool's round trip would cost
more than the parse itself, and so does every page while the process has nothing else to do
(``alone``), when the round trip would only delay the search it serves. ``bench/event_loop.py``
measures the three modes side by side; the default follows its figures (see docs/performance.md).
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
from serpgate.upstream.client import RawResponse

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
        alone: Callable[[], bool] | None = None,
    ) -> None:
        self._observe = observe
        self._alone = alone
        # Pages in the pool now: while one is, the loop has other work (its caller's answer).
        self._pooled = 0
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

    async def parse(
        self,
        engine: Engine,
        raw: RawResponse,
        params: SearchParams,
        beside: Callable[[], object] | None = None,
    ) -> SerpData:
        """The page read by ``engine``; a parser bug becomes a typed error, never a 500.

        ``beside`` (other work on the page) runs on the event loop while the page parses in
        the pool, or before the page parses inline: never in a thread beside an inline parse,
        which holds the GIL for milliseconds at a time (a thread compressing the page for the
        archive, ISA-L, which gives the GIL back between chunks, took 20 times as long beside
        a busy event loop).
        """
        started = time.perf_counter()
        size = len(raw.content)
        try:
            if self._executor is None or size < self.inline_below or self._is_alone():
                if beside is not None:
                    beside()
                return engine.parse_page(raw.content, raw.charset, params)
            loop = asyncio.get_running_loop()
            self._pooled += 1
            try:
                # The page crosses as the bytes that came: a copy, where text is encoded to
                # cross and decoded on arrival.
                parsed = loop.run_in_executor(
                    self._executor, engine.parse_page, raw.content, raw.charset, params
                )
                if beside is not None:
                    beside()
                return await parsed
            finally:
                self._pooled -= 1
        except SerpgateError:
            raise
        except Exception as exc:
            log.exception("the %s parser failed on a page of %d bytes", engine.name, size)
            raise UpstreamError(f"{engine.name}: the result page could not be read") from exc
        finally:
            if self._observe is not None:
                self._observe(engine.name, time.perf_counter() - started)

    def _is_alone(self) -> bool:
        """Whether nothing else wants the event loop now: then the pool only adds its round
        trip (3 ms of the 650 KB Google page's 7, docs/performance.md), and the page parses
        inline. A request that arrives meanwhile waits for that parse, as for any other work
        on the loop; under load there is always another request, and pages go to the pool."""
        return self._alone is not None and self._pooled == 0 and self._alone()

    def close(self) -> None:
        if self._executor is not None:
            # Waiting joins the workers: without it they can outlive the server as orphans.
            self._executor.shutdown(wait=True, cancel_futures=True)

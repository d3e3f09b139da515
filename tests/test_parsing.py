"""PageParser: the three places a parser can run give the same answer, and none outlives the app."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from serpgate.engines.base import Engine, UpstreamRequest
from serpgate.engines.registry import build_engines
from serpgate.models.params import SearchParams
from serpgate.models.response import SearchInformation, SerpData
from serpgate.parsing import PageParser
from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.corpus import Corpus
from serpgate.upstream.client import RawResponse
from tests.ops.processes import SERPGATE, running, serve_env, wait_until_ready
from tests.ops.sandbox_thread import sandbox_in_thread
from tests.redis_server import free_port


def answer(html: str) -> RawResponse:
    return RawResponse(200, {}, html.encode(), "http://127.0.0.1:9/bing", 0.01)


@pytest.mark.parametrize("mode", ["inline", "thread", "process"])
async def test_every_mode_parses_the_same(mode: str) -> None:
    engine = build_engines({})["bing"]
    params = SearchParams(engine="bing", q="espresso machine")
    html = BingEmulator().render(Corpus().page("espresso machine"), "/bing")
    parser = PageParser(mode, workers=1)  # type: ignore[arg-type]  # each Literal in turn
    try:
        parsed = await parser.parse(engine, answer(html), params)
    finally:
        parser.close()
    assert parsed == engine.parse(html, params)
    assert len(parsed.organic_results) == 10


async def test_a_pool_gets_the_cores_the_serving_processes_leave() -> None:
    """As many serving processes as cores leave no core to a pool: pages parse inline; one
    alone leaves it the rest. Told how many, the pool keeps to that whatever the cores."""
    cores = os.cpu_count() or 1
    engine = build_engines({})["bing"]
    params = SearchParams(engine="bing", q="espresso machine")
    html = BingEmulator().render(Corpus().page("espresso machine"), "/bing")
    for serving, told, expected in (
        (cores, None, "inline"),
        (1, None, "process" if cores > 1 else "inline"),
        (cores, 1, "process"),
    ):
        parser = PageParser("process", workers=told, serving=max(1, serving))
        try:
            assert parser.mode == expected, (serving, told)
            assert (await parser.parse(engine, answer(html), params)) == engine.parse(html, params)
        finally:
            parser.close()


def descendants(pid: int) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return found + [d for child in found for d in descendants(int(child))]


def test_parser_processes_end_with_the_server(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with sandbox_in_thread() as sandbox:
        env = serve_env(
            port,
            api_keys="p:unlimited:parse-key",
            engine_urls=sandbox.engine_urls(),
            parse__mode="process",
            parse__inline_below="0",
            parse__inline_when_alone="false",
        )
        with running([*SERPGATE, "serve"], tmp_path / "serve.log", env) as proc:
            wait_until_ready(url, proc)
            params = {"engine": "bing", "q": "pool", "api_key": "parse-key"}
            assert httpx.get(f"{url}/search.json", params=params, timeout=20).status_code == 200
            # `running` wraps the command in timeout(1): server, then its parser processes.
            children = descendants(proc.pid)
            assert len(children) >= 2, "the search should have started a parser process"
            proc.terminate()
            assert proc.wait(timeout=30) == 0
    deadline = time.monotonic() + 5
    while alive := [c for c in children if os.path.exists(f"/proc/{c}")]:
        assert time.monotonic() < deadline, f"parser processes outlived the server: {alive}"
        time.sleep(0.05)


class WhereParsed(Engine):
    """Reads every page as the id of the process that read it."""

    name = "where"
    default_base_url = "http://127.0.0.1:9"

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        return UpstreamRequest(self.base_url)

    def parse(self, html: str, params: SearchParams) -> SerpData:
        return SerpData(search_information=SearchInformation(query_displayed=str(os.getpid())))


async def test_a_page_parses_inline_while_its_process_has_nothing_else_to_do() -> None:
    others = 0
    parser = PageParser("process", workers=1, alone=lambda: others == 0)
    engine, params = WhereParsed(), SearchParams(engine="bing", q="where")
    here = str(os.getpid())

    besides: list[int] = []

    async def parsed_in() -> str | None:
        page = answer("<p>page</p>")
        data = await parser.parse(engine, page, params, lambda: besides.append(os.getpid()))
        return data.search_information.query_displayed if data.search_information else None

    try:
        assert await parsed_in() == here
        others = 1
        assert await parsed_in() not in (here, None)
        # A page in the pool is other work too: the next page joins it there.
        first = asyncio.create_task(parsed_in())
        await asyncio.sleep(0)
        others = 0
        second = await parsed_in()
        assert second not in (here, None)
        assert await first not in (here, None)
        assert await parsed_in() == here
        # Work beside the parse ran once per page, on the event loop, wherever the page parsed.
        assert besides == [os.getpid()] * 5
    finally:
        parser.close()

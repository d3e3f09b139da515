"""SIGTERM with searches in flight: /readyz turns 503, the searches finish with 200, exit 0."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.ops.processes import (
    SERPGATE,
    child_pid,
    json_lines,
    running,
    serve_env,
    wait_until_ready,
)
from tests.ops.sandbox_thread import sandbox_in_thread
from tests.redis_server import free_port

KEY = "shutdown-test-key"
ENGINE_DELAY = 2.5
DRAIN_DELAY = 1.5
SEARCHES = 4


def search(url: str, n: int) -> httpx.Response:
    params = {"engine": "bing", "q": f"drain {n}", "api_key": KEY}
    return httpx.get(f"{url}/search.json", params=params, timeout=30)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_searches_in_flight_finish_and_exits_0(tmp_path: Path, workers: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with sandbox_in_thread(delay=ENGINE_DELAY) as sandbox:
        env = serve_env(
            port,
            api_keys=f"drain:unlimited:{KEY}",
            engine_urls=sandbox.engine_urls(),
            workers=str(workers),
            shutdown__drain_delay=str(DRAIN_DELAY),
            shutdown__grace_period="15",
            parse__mode="inline",
        )
        with (
            running([*SERPGATE, "serve"], log, env) as proc,
            ThreadPoolExecutor(SEARCHES) as pool,
        ):
            wait_until_ready(url, proc)
            searches = [pool.submit(search, url, n) for n in range(SEARCHES)]
            deadline = time.monotonic() + 10
            while sandbox.in_flight < SEARCHES:
                assert time.monotonic() < deadline, "the searches never reached the engine"
                time.sleep(0.02)

            signalled = time.monotonic()
            # The process Docker would signal: serve itself (with workers, their parent).
            subprocess.run(["kill", "-TERM", str(child_pid(proc))], check=True)

            # Draining: still answering, but no longer ready, so a balancer moves on. (With
            # workers, their parent passes the signal on within half a second.)
            deadline = time.monotonic() + DRAIN_DELAY
            while (readyz := httpx.get(f"{url}/readyz", timeout=5)).status_code != 503:
                assert time.monotonic() < deadline, "/readyz never said the process was draining"
                time.sleep(0.05)
            assert readyz.json()["shutdown"] == "draining"

            answers = [future.result(timeout=30) for future in searches]
            assert [a.status_code for a in answers] == [200] * SEARCHES
            assert all(len(a.json()["organic_results"]) == 10 for a in answers)
            assert proc.wait(30) == 0
            stopped = time.monotonic() - signalled

        # The searches were in flight at the signal and finished after it: the drain waited.
        assert sandbox.served == SEARCHES
        assert stopped >= ENGINE_DELAY / 2
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=2)

    messages = [str(line["msg"]) for line in json_lines(log)]
    assert messages.count("Application shutdown complete.") == workers
    assert sum(m.startswith("SIGTERM: draining") for m in messages) == workers

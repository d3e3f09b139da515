"""With its Redis unreachable the service still answers searches, and says it is degraded."""

from __future__ import annotations

import httpx

from tests.live_service import live_service
from tests.redis_server import free_port

KEY = "sg_redis_down"


def test_searches_answer_and_readiness_says_degraded() -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with live_service(f"d:developer:{KEY}", redis_url=nowhere) as service:
        params = {"engine": "bing", "q": "no redis", "api_key": KEY}
        answers = [
            httpx.get(f"{service.url}/search.json", params=params, timeout=20) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert len(answers[0].json()["organic_results"]) == 10
        # Limits fall back to this process's own counts rather than failing open or closed.
        assert answers[-1].headers["RateLimit-Remaining"] == "97"
        ready = httpx.get(f"{service.url}/readyz", timeout=20)
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["traffic"]["redis"]["status"] == "down"
        unknown = httpx.get(
            f"{service.url}/search.json", params={**params, "api_key": "sg_unknown"}, timeout=20
        )
        assert unknown.status_code == 503  # an unknown key cannot be checked without the store
        assert "error" in unknown.json()

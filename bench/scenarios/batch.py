"""Scenario 7: a batch of 1,000 async searches, from ``POST /searches`` to the last one done.

One ``POST /searches`` carries ``searches`` parameter sets, each a distinct query (``batch query
k`` on engine k mod 4), so each costs one upstream fetch; the client then pages through
``GET /searches?batch=ID`` (``page`` states at a time, pages already all done skipped) every
``poll`` seconds until none is "Processing". ``serpgate serve`` runs with Redis and its queue
workers in-process, as by default (``queue.concurrency`` searches at once); the sandbox is calm
with a fixed latency, so the bound the queue could reach is concurrency / latency.

Figures per round: the POST's own time (admission and enqueueing of the whole batch), the time
from the POST to the poll that found every search done (so up to ``poll`` late), and searches/s
over the latter. Each round starts cold: a fresh key prefix and a fresh service.
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from bench import harness
from bench.harness import Context
from bench.scenarios import Outcome, Target
from bench.stats import spread_of, spreads

ENGINES = ("google", "bing", "duckduckgo", "brave")


@dataclass(frozen=True)
class Config:
    searches: int = 1000
    concurrency: int = 10
    latency: float = 0.05
    page: int = 100
    poll: float = 0.2
    rounds: int = 3
    max_seconds: float = 300.0

    @classmethod
    def smoke(cls) -> Config:
        return cls(searches=40, latency=0.01, rounds=1, max_seconds=60.0)


def run(ctx: Context, config: Config) -> Outcome:
    profile = {"name": "calm, fixed latency", "latency_median": config.latency}
    outcome = Outcome(
        key="batch",
        title=f"7. A batch of {config.searches:,} async searches, Redis queue",
        config={
            **asdict(config),
            "engines": ENGINES,
            "sandbox_profile": profile,
            "service": "serpgate serve, Redis, queue workers in-process",
            "bound": f"{config.concurrency / config.latency:.0f} searches/s "
            "(concurrency / latency)",
        },
    )
    batch = [
        {"engine": ENGINES[k % len(ENGINES)], "q": f"batch query {k}"}
        for k in range(config.searches)
    ]
    for r in range(config.rounds):
        prefix = ctx.prefix(f"batch{r}")
        key = harness.create_tenants(ctx.redis_url, prefix, 1)[0]
        try:
            with harness.sandbox(ctx, f"batch-sandbox-{r}", profile=profile) as world:
                env = harness.service_env(
                    ctx,
                    prefix,
                    world.engine_urls(ENGINES),
                    SERPGATE_QUEUE__CONCURRENCY=str(config.concurrency),
                    SERPGATE_QUEUE__BATCH_MAX=str(config.searches),
                )
                with harness.service(ctx, f"batch-service-{r}", env) as svc:
                    row = _one_batch(svc.url, key, batch, config)
                    row["fetches"] = world.fetches()
        finally:
            harness.delete_prefix(ctx.redis_url, prefix)
        row["round"] = r + 1
        outcome.runs.append(row)
        ctx.log(
            f"  round {r + 1}: {row['done']} done ({row['success']} Success) in "
            f"{row['last_done_s']:.2f} s ({row['rate']:.0f}/s), POST {row['accept_s']:.2f} s"
        )
    _summarise(ctx, config, outcome)
    return outcome


def _one_batch(url: str, key: str, batch: list[dict[str, str]], config: Config) -> dict[str, Any]:
    began = time.monotonic()
    request = urllib.request.Request(  # noqa: S310  # loopback
        f"{url}/searches?api_key={key}",
        data=orjson.dumps(batch),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310  # loopback
        accepted = orjson.loads(response.read())
    accept_s = time.monotonic() - began
    states = _poll(url, key, accepted["batch_id"], len(accepted["search_ids"]), config, began)
    last_done_s = time.monotonic() - began
    done = sum(1 for s in states.values() if s != "Processing")
    return {
        "accepted": len(accepted["search_ids"]),
        "refused": len(accepted["refused"]),
        "accept_s": accept_s,
        "last_done_s": last_done_s,
        "rate": done / last_done_s,
        "done": done,
        "success": sum(1 for s in states.values() if s == "Success"),
        "complete": done == config.searches,
    }


def _poll(
    url: str, key: str, batch_id: str, total: int, config: Config, began: float
) -> dict[str, str]:
    """Every search's state, once none is Processing (or ``max_seconds`` have passed)."""
    states: dict[str, str] = {}
    pending = list(range(0, total, config.page))
    while pending and time.monotonic() - began < config.max_seconds:
        time.sleep(config.poll)
        still = []
        for offset in pending:
            _, body = harness.fetch(
                f"{url}/searches?api_key={key}&batch={batch_id}&offset={offset}&limit={config.page}"
            )
            page = orjson.loads(body)["searches"]
            states.update({s["id"]: s["status"] for s in page})
            if any(s["status"] == "Processing" for s in page):
                still.append(offset)
        pending = still
    return states


def _summarise(ctx: Context, config: Config, outcome: Outcome) -> None:
    keys = ["accept_s", "last_done_s", "rate", "done", "success", "fetches"]
    summary = spreads([{k: float(row[k]) for k in keys} for row in outcome.runs])
    outcome.summary.update(summary)

    def s(key: str, digits: int = 1) -> str:
        return spread_of(summary, key).text(digits)

    outcome.table = [
        ["figure", "median over rounds (range)"],
        [f"POST /searches with {config.searches:,} (admitted, enqueued)", s("accept_s", 2) + " s"],
        ["POST to the last search done", s("last_done_s", 2) + " s"],
        ["throughput", s("rate", 0) + " searches/s"],
        [
            f"bound: concurrency {config.concurrency} / latency {config.latency * 1000:.0f} ms",
            f"{config.concurrency / config.latency:.0f} searches/s",
        ],
        ["ended Success", s("success", 0)],
        ["upstream fetches", s("fetches", 0)],
    ]
    complete = all(row["complete"] for row in outcome.runs)
    last = spread_of(summary, "last_done_s")
    outcome.targets = [
        Target(
            f"a batch of {config.searches:,} ends, every search Success",
            "every search Success",
            last.text(2, " s") + ("" if complete else " (incomplete)"),
            (complete and spread_of(summary, "success").low == config.searches)
            if not ctx.smoke
            else None,
        )
    ]
    outcome.notes.append(
        f"Time to the last completion is measured by polling every {config.poll} s, so it is up "
        "to that much late; one process's workers run the whole batch."
    )

"""The proxy pool on a fake clock: ejection, probation, pruning, the caps, rests and selection."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from pydantic import SecretStr

from serpgate.settings import ProxySettings
from serpgate.upstream.proxies import Choice, Exit, ExitState, ProxyPool, load_exits
from tests.fake_clock import FakeClock

SETTINGS = ProxySettings(
    eject_after=3,
    eject_base=10,
    eject_max=25,
    max_ejected_fraction=0.5,
    prune_after=3,
    prune_window=100,
    rest_initial=10,
    rest_min=2,
    rest_max=40,
    block_prune_after=3,
)
A, B, C, D = (Exit.proxy(f"http://127.0.0.{n}:3128") for n in range(2, 6))


def pool_of(*exits: Exit, clock: FakeClock, settings: ProxySettings = SETTINGS) -> ProxyPool:
    return ProxyPool(exits, settings, clock, random.Random(0))


def fail(pool: ProxyPool, via: Exit, times: int = 1, engine: str = "bing") -> None:
    for _ in range(times):
        pool.record_failure(pool.begin(via, engine), latency=None)


def state(pool: ProxyPool, via: Exit, engine: str = "bing") -> ExitState:
    return pool.state(via, engine)


def picks(pool: ProxyPool, n: int = 200, engine: str = "bing") -> Counter[Exit]:
    """Send ``n`` attempts through the pool's choices, in an instant; count where they went."""
    counts: Counter[Exit] = Counter()
    for _ in range(n):
        via = pool.choose(engine).via
        pool.record_neutral(pool.begin(via, engine), latency=None)
        counts[via] += 1
    return counts


# Exits and settings


def test_a_proxy_label_never_shows_the_password() -> None:
    via = Exit.proxy("http://scraper:s3cret@10.0.0.1:8080")
    assert via.label == "http://scraper:***@10.0.0.1:8080"
    assert "s3cret" not in repr(via)
    assert via.url == "http://scraper:s3cret@10.0.0.1:8080"


@pytest.mark.parametrize("url", ["socks5://10.0.0.1:1080", "10.0.0.1:8080", "http://"])
def test_only_http_proxy_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="proxy"):
        Exit.proxy(url)


def test_exits_come_from_the_list_and_the_file(tmp_path: Path) -> None:
    listing = tmp_path / "proxies.txt"
    listing.write_text("# bought 2026-11\nhttp://u:p@10.0.0.2:80  # fast\n\nhttp://10.0.0.3:80\n")
    settings = ProxySettings(urls=[SecretStr("http://10.0.0.1:80")], file=listing)
    assert [e.label for e in load_exits(settings)] == [
        "http://10.0.0.1:80",
        "http://u:***@10.0.0.2:80",
        "http://10.0.0.3:80",
    ]


def test_direct_is_an_exit_only_where_configured() -> None:
    proxy = [SecretStr("http://10.0.0.1:80")]
    assert load_exits(ProxySettings()) == [Exit.direct()]
    assert Exit.direct() not in load_exits(ProxySettings(urls=proxy))
    assert load_exits(ProxySettings(urls=proxy, direct=True))[-1] == Exit.direct()
    with pytest.raises(ValueError, match="no exits"):
        load_exits(ProxySettings(direct=False))


# Ejection, probation, pruning


def test_consecutive_failures_eject_for_that_engine_only() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    fail(pool, A, 2)
    assert state(pool, A) is ExitState.HEALTHY
    fail(pool, A)
    assert state(pool, A) is ExitState.EJECTED
    assert state(pool, A, "duckduckgo") is ExitState.HEALTHY
    assert A not in picks(pool)
    assert A in picks(pool, engine="duckduckgo")


def test_a_success_resets_the_consecutive_count() -> None:
    pool = pool_of(A, B, C, D, clock=FakeClock())
    fail(pool, A, 2)
    pool.record_success(pool.begin(A, "bing"), 0.2)
    fail(pool, A, 2)
    assert state(pool, A) is ExitState.HEALTHY


def test_an_ejected_exit_returns_on_probation_and_one_failure_ejects_it_longer() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    fail(pool, A, 3)
    clock.advance(9.9)
    assert state(pool, A) is ExitState.EJECTED
    clock.advance(0.1)
    assert state(pool, A) is ExitState.PROBATION
    assert A in picks(pool)
    fail(pool, A)  # one failure on probation is enough
    assert state(pool, A) is ExitState.EJECTED
    assert pool.snapshot()["engines"]["bing"][A.label]["ejected_for"] == 20


def test_a_success_on_probation_makes_it_healthy() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    fail(pool, A, 3)
    clock.advance(10)
    pool.record_success(pool.begin(A, "bing"), 0.1)
    assert state(pool, A) is ExitState.HEALTHY
    fail(pool, A, 2)
    assert state(pool, A) is ExitState.HEALTHY


def test_ejection_time_is_capped() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock, settings=SETTINGS.model_copy(update={"prune_after": 9}))
    fail(pool, A, 3)
    for expected in (20, 25, 25):
        clock.advance(30)
        fail(pool, A)
        ejected_for = pool.snapshot()["engines"]["bing"][A.label]["ejected_for"]
        assert ejected_for == expected


def test_repeated_ejections_within_the_window_prune_for_good() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    fail(pool, A, 3)  # ejected at t=0 for 10 s
    clock.advance(10)
    fail(pool, A)  # and at t=10 for 20 s
    clock.advance(20)
    fail(pool, A)  # the third within 100 s
    assert state(pool, A) is ExitState.PRUNED
    clock.advance(10_000)
    assert state(pool, A) is ExitState.PRUNED
    assert A not in picks(pool)
    assert state(pool, A, "duckduckgo") is ExitState.HEALTHY


def rest_of(pool: ProxyPool, via: Exit, engine: str = "bing") -> float:
    return pool.snapshot()["engines"][engine][via.label]["resting_for"]


def test_one_ban_counts_once_however_many_attempts_were_in_flight() -> None:
    """Ten attempts out through A as its ban lands: ten blocks come back, one ban is counted."""
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    pool.record_success(pool.begin(A, "bing"), 0.1)
    leases = [pool.begin(A, "bing") for _ in range(10)]
    clock.advance(0.5)
    for lease in leases:
        pool.record_block(lease)
        clock.advance(0.01)
    health = pool.health(A, "bing")
    assert health.blocks == 10
    assert health.consecutive_blocks == 1
    assert health.rest == 10  # rest_initial, not escalated ten times
    assert state(pool, A) is ExitState.RESTING
    assert pool.learnt_rest("bing") == 10


def test_a_success_sent_before_the_ban_does_not_lift_it() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, clock=clock)
    early = pool.begin(A, "bing")
    clock.advance(0.1)
    pool.record_block(pool.begin(A, "bing"))
    pool.record_success(early, 0.2)
    assert state(pool, A) is ExitState.RESTING
    assert pool.health(A, "bing").rest == 10


def test_rests_lengthen_on_a_repeated_block_and_shorten_after_an_answer() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    pool.record_success(pool.begin(A, "bing"), 0.1)
    for expected in (10, 20, 40, 40):
        pool.record_block(pool.begin(A, "bing"))
        assert rest_of(pool, A) == expected
        clock.advance(expected)
        assert state(pool, A) is ExitState.PROBING
    assert pool.learnt_rest("bing") == 40  # the engine's bans outlast 20 s
    assert state(pool, A) is ExitState.PROBING  # delivered before: a ban lifts in time
    pool.record_success(pool.begin(A, "bing"), 0.1)  # the probe answers after 40 s
    assert state(pool, A) is ExitState.HEALTHY
    assert pool.learnt_rest("bing") == 30  # 0.75 × the rest that worked
    pool.record_block(pool.begin(B, "bing"))  # another exit starts from what was learnt
    assert rest_of(pool, B) == 30
    assert pool.learnt_rest("duckduckgo") == 10  # per engine


def test_a_retry_after_on_a_block_sets_the_rest_but_not_what_is_learnt() -> None:
    pool = pool_of(A, B, clock=FakeClock())
    pool.record_block(pool.begin(A, "bing"), retry_after=3)
    assert rest_of(pool, A) == 3


def test_an_exit_blocked_forever_is_pruned() -> None:
    """A proxy answering 403 to everything: it has never delivered a page, and every probe after
    a rest is blocked again. Three in a row prune it for that engine."""
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    for _ in range(3):
        assert state(pool, A) is not ExitState.PRUNED
        pool.record_block(pool.begin(A, "bing"))
        clock.advance(rest_of(pool, A))
    assert state(pool, A) is ExitState.PRUNED
    assert A not in picks(pool)
    assert pool.learnt_rest("bing") == 10  # it taught nothing of the engine's bans
    # One that has delivered before is a banned exit: its rests grow, it is not pruned early.
    pool.record_success(pool.begin(B, "bing"), 0.1)
    for _ in range(3):
        pool.record_block(pool.begin(B, "bing"))
        clock.advance(rest_of(pool, B))
    assert state(pool, B) is ExitState.PROBING
    pool.record_block(pool.begin(B, "bing"))  # rests 10, 20, 40, 40: then three at the longest
    clock.advance(40)
    assert state(pool, B) is ExitState.PROBING
    pool.record_block(pool.begin(B, "bing"))
    assert state(pool, B) is ExitState.PRUNED


def test_exits_back_from_rest_take_one_probe_each_so_waiting_searches_spread() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    for via in (A, B, C, D):
        pool.record_success(pool.begin(via, "bing"), 0.1)
        pool.record_block(pool.begin(via, "bing"))
        clock.advance(1)
    clock.advance(6.5)  # A is back (rested 10 s from t=0); B, C and D are not yet
    first = pool.choose("bing")
    assert first == Choice(A)
    pool.begin(A, "bing")  # A's probe is out
    second = pool.choose("bing")
    # Not onto A at once: wait for its probe's answer (about its latency) or for B, back in 0.5 s.
    assert 0 < second.wait <= 0.5
    clock.advance(3)
    chosen = []
    for _ in range(3):
        choice = pool.choose("bing")
        assert choice.wait == 0
        pool.begin(choice.via, "bing")
        chosen.append(choice.via)
    assert sorted(e.label for e in chosen) == sorted(e.label for e in (B, C, D))
    # Every exit has a probe out: the next search waits about one latency for an answer.
    assert 0 < pool.choose("bing").wait <= 0.1


def test_ejections_older_than_the_window_are_forgiven() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    fail(pool, A, 3)
    clock.advance(60)
    fail(pool, A)  # second ejection, 20 s
    clock.advance(60)  # the first is now 120 s old
    fail(pool, A)
    assert state(pool, A) is ExitState.EJECTED
    assert pool.snapshot()["engines"]["bing"][A.label]["ejected_for"] == 20


def test_never_more_than_the_ejectable_share() -> None:
    pool = pool_of(A, B, C, D, clock=FakeClock())
    for via in (A, B, C):
        fail(pool, via, 3)
    states = [state(pool, via) for via in (A, B, C, D)]
    assert states.count(ExitState.EJECTED) == 2  # half of four
    assert pool.choose("bing", avoid=[D]).via == C  # still in rotation, though doubtful


def test_blocks_may_rest_every_exit_and_the_pool_says_how_long_to_wait() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, D, clock=clock)
    for via in (A, B, C, D):
        pool.record_block(pool.begin(via, "bing"))
        clock.advance(1)
    assert [state(pool, via) for via in (A, B, C, D)] == [ExitState.RESTING] * 4
    assert pool.choose("bing") == Choice(A, wait=6)  # A rests 10 s from t=0; it is t=4
    clock.advance(6)
    assert pool.choose("bing") == Choice(A)


def test_never_the_last_exit() -> None:
    lone = pool_of(A, clock=FakeClock(), settings=SETTINGS.model_copy(update={"eject_after": 1}))
    fail(lone, A, 10)
    assert state(lone, A) is ExitState.HEALTHY
    assert lone.choose("bing").via == A
    pair = pool_of(A, B, clock=FakeClock(), settings=SETTINGS.model_copy(update={"eject_after": 1}))
    fail(pair, A)
    fail(pair, B)
    assert [state(pair, A), state(pair, B)] == [ExitState.EJECTED, ExitState.HEALTHY]


def test_pruning_never_takes_the_last_live_exit() -> None:
    clock = FakeClock()
    pair = pool_of(A, B, clock=clock, settings=SETTINGS.model_copy(update={"eject_after": 1}))
    fail(pair, A)
    clock.advance(10)
    fail(pair, A)
    clock.advance(20)
    fail(pair, A)
    assert state(pair, A) is ExitState.PRUNED
    for _ in range(3):
        clock.advance(30)
        fail(pair, B)
    assert state(pair, B) is ExitState.HEALTHY
    assert pair.choose("bing").via == B


# Blocks and rests


def test_a_block_rests_that_exit_for_that_engine_only() -> None:
    pool = pool_of(A, B, C, D, clock=FakeClock())
    pool.record_block(pool.begin(A, "bing"))
    assert state(pool, A) is ExitState.RESTING
    assert state(pool, A, "duckduckgo") is ExitState.HEALTHY
    assert pool.health(A, "bing").blocks == 1
    assert A not in picks(pool)


def test_retry_after_rests_an_exit_even_past_the_ejection_cap() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, clock=clock)
    pool.record_block(pool.begin(B, "bing"))  # ejected: the one ejection two exits allow
    pool.record_neutral(pool.begin(A, "bing"), 0.1, retry_after=5)
    choice = pool.choose("bing")
    assert choice.wait == pytest.approx(5)  # nothing is ready: wait for the first to be
    clock.advance(5)
    assert pool.choose("bing").via == A
    assert pool.choose("bing").wait == 0


def test_a_rested_exit_is_skipped_while_others_are_ready() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, clock=clock)
    pool.record_failure(pool.begin(A, "bing"), None, retry_after=30)
    assert set(picks(pool)) == {B}
    assert set(picks(pool, engine="duckduckgo")) == {A, B}
    clock.advance(30)
    assert pool.choose("bing", avoid=[B]) == Choice(A)


# Selection


def test_choose_avoids_exits_this_search_already_tried() -> None:
    pool = pool_of(A, B, C, clock=FakeClock())
    for _ in range(50):
        assert pool.choose("bing", avoid=[A, B]).via == C
    # With every exit tried, any will do rather than none.
    assert pool.choose("bing", avoid=[A, B, C]).via in {A, B, C}


def test_faster_exits_get_more_of_the_traffic_but_not_all() -> None:
    pool = pool_of(A, B, C, D, clock=FakeClock())
    for via, latency in ((A, 0.05), (B, 0.2), (C, 0.8), (D, 3.0)):
        pool.record_success(pool.begin(via, "bing"), latency)
    counts = picks(pool, 2000)
    assert counts[A] > counts[B] > counts[C] > counts[D] > 0
    # Load counts recent requests: the fastest exit does not take every pair it is drawn into.
    assert counts[A] < 2000 / 2


def test_busy_exits_are_picked_less() -> None:
    pool = pool_of(A, B, C, clock=FakeClock())
    for via in (A, B, C):
        pool.record_success(pool.begin(via, "bing"), 0.1)
    for _ in range(4):
        pool.begin(A, "bing")
    pool.begin(B, "bing")
    counts = picks(pool, 1000)
    assert counts[C] > counts[B] > counts[A]


def test_a_failing_exit_keeps_its_share_until_it_is_ejected() -> None:
    pool = pool_of(A, B, C, clock=FakeClock())
    fail(pool, A, 2)
    assert picks(pool, 600)[A] > 100  # starving it would also hide it from ejection


def test_attempts_still_out_make_an_exit_look_slow_at_once() -> None:
    clock = FakeClock()
    pool = pool_of(A, B, C, clock=clock)
    for via in (A, B, C):
        pool.record_success(pool.begin(via, "bing"), 0.05)
    stuck = pool.begin(A, "bing")  # no answer yet, and none for two seconds
    clock.advance(2)
    assert picks(pool, 300)[A] < 10
    pool.record_failure(stuck, latency=2.0)
    assert pool.health(A, "bing").pending_age(clock()) == 0


def test_with_ejection_off_every_exit_stays_in_rotation() -> None:
    pool = pool_of(A, B, C, clock=FakeClock(), settings=ProxySettings(eject=False))
    fail(pool, A, 10)
    pool.record_block(pool.begin(B, "bing"), retry_after=60)
    pool.record_neutral(pool.begin(C, "bing"), 0.1, retry_after=60)
    assert [state(pool, via) for via in (A, B, C)] == [ExitState.HEALTHY] * 3
    assert set(picks(pool, 300)) == {A, B, C}


def test_snapshot_shows_each_exit_per_engine_by_label() -> None:
    secret = Exit.proxy("http://u:hunter2@127.0.0.9:1")
    pool = pool_of(secret, A, clock=FakeClock())
    pool.record_success(pool.begin(secret, "bing"), 0.25)
    snapshot = pool.snapshot()
    assert "hunter2" not in repr(snapshot)
    entry = snapshot["engines"]["bing"]["http://u:***@127.0.0.9:1"]
    assert entry["state"] == "healthy"
    assert entry["latency_ms"] == 250.0
    assert entry["successes"] == 1

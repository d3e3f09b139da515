"""``PageKeeper`` on a real folder: bounded, oldest out first, never in the way of a search."""

from __future__ import annotations

from itertools import count
from pathlib import Path

from serpgate.pagekeeper import PageKeeper


def _keeper(folder: Path | None, limit: int) -> PageKeeper:
    ticks = count(1_764_800_000)
    return PageKeeper(folder, limit, clock=lambda: float(next(ticks)))


def test_pages_are_kept_with_where_they_came_from(tmp_path: Path) -> None:
    keeper = _keeper(tmp_path / "kept", 5)
    path = keeper.keep("bing", "https://www.bing.com/search?q=a--b", "<html>x</html>", "why")
    assert path is not None
    assert path.parent == tmp_path / "kept"
    text = path.read_text("utf-8")
    assert text.startswith("<!-- serpgate kept this page\nengine: bing\n")
    assert "url: https://www.bing.com/search?q=a- -b\n" in text  # "--" would end the comment
    assert text.endswith("-->\n<html>x</html>")


def test_the_oldest_pages_go_first(tmp_path: Path) -> None:
    keeper = _keeper(tmp_path, 3)
    for n in range(5):
        keeper.keep("yahoo", f"https://x.test/{n}", f"page {n}", "why")
    kept = keeper.kept()
    assert [p.read_text("utf-8").rsplit("\n", 1)[-1] for p in kept] == [
        "page 2",
        "page 3",
        "page 4",
    ]


def test_keeping_can_be_off() -> None:
    keeper = _keeper(None, 3)
    assert keeper.keep("bing", None, "page", "why") is None
    assert keeper.kept() == []


def test_a_folder_that_cannot_be_written_costs_the_copy_only(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    keeper = _keeper(blocker / "kept", 3)
    assert keeper.keep("bing", None, "page", "why") is None

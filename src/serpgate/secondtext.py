"""``SecondText``: the text of a time to the second, formatted once per second.

A cache hit writes the time three times (its answer's ``created_at`` and ``processed_at``, its
log line's ``ts``), nearly always in the same second as the hit before it; formatting each from
scratch cost a hit a few µs of its 150.
"""

from __future__ import annotations

from collections.abc import Callable


class SecondText:
    def __init__(self, render: Callable[[int], str]) -> None:
        self._render = render
        self._last: tuple[int | None, str] = (None, "")

    def __call__(self, second: int) -> str:
        """``render(second)``, from the last call's text when it named the same second."""
        last, text = self._last  # read at once: another thread may set it meanwhile
        if last != second:
            text = self._render(second)
            self._last = (second, text)
        return text

"""The background log handler writes every line, in order, as it was when logged."""

from __future__ import annotations

import io
import logging
import threading

from serpgate.loghandler import BackgroundStreamHandler


def logger_with(handler: logging.Handler, name: str) -> logging.Logger:
    log = logging.getLogger(f"tests.loghandler.{name}")
    log.propagate = False
    log.handlers = [handler]
    log.setLevel(logging.INFO)
    return log


def test_lines_are_written_in_order_by_one_thread_and_flush_waits_for_them() -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    log = logger_with(handler, "order")
    for i in range(5000):
        log.info("line %d", i)
    handler.flush()
    assert stream.getvalue().splitlines() == [f"line {i}" for i in range(5000)]
    assert [t.name for t in threading.enumerate()].count("log-writer") >= 1
    handler.close()


def test_a_record_is_rendered_as_it_was_when_logged() -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    log = logger_with(handler, "render")
    changing = ["before"]
    log.info("value %s", changing)
    changing[0] = "after"
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    handler.close()
    text = stream.getvalue()
    assert "value ['before']" in text
    assert "ValueError: boom" in text
    assert "after" not in text


def test_close_writes_what_is_queued_and_later_records_are_written_at_once() -> None:
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    log = logger_with(handler, "close")
    for i in range(100):
        log.info("queued %d", i)
    handler.close()
    assert stream.getvalue().count("queued") == 100
    log.info("after close")
    assert stream.getvalue().endswith("after close\n")

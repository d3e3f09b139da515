"""The background log handler writes every line, in order, as it was when logged."""

from __future__ import annotations

import io
import logging
import threading

from serpgate.jsonlog import JsonFormatter
from serpgate.loghandler import BackgroundStreamHandler, Fields


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


def test_a_line_given_as_its_parts_is_the_line_its_record_would_give() -> None:
    """The access log's way past ``logging`` (``emit_fields``): taken only where this handler
    alone would write the record, as JSON, and writing what the formatter would have."""
    stream = io.StringIO()
    handler = BackgroundStreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tests.loghandler.parts")
    saved = logging.root.handlers[:]
    logging.root.handlers = [handler]
    try:
        assert BackgroundStreamHandler.sole_writer(log, logging.INFO) is handler
        # Anyone else who would see the record (a handler on the way, one beside this one, a
        # filter, a level this handler drops) must get it: then the record goes through logging.
        log.addHandler(logging.NullHandler())
        assert BackgroundStreamHandler.sole_writer(log, logging.INFO) is None
        log.handlers.clear()
        logging.root.handlers = [handler, logging.NullHandler()]
        assert BackgroundStreamHandler.sole_writer(log, logging.INFO) is None
        logging.root.handlers = [handler]
        log.addFilter(lambda record: True)
        assert BackgroundStreamHandler.sole_writer(log, logging.INFO) is None
        log.filters.clear()
        handler.setLevel(logging.WARNING)
        assert BackgroundStreamHandler.sole_writer(log, logging.INFO) is None
        handler.setLevel(logging.NOTSET)
        handler.setFormatter(logging.Formatter())
        assert BackgroundStreamHandler.sole_writer(log, logging.INFO) is None
        handler.setFormatter(JsonFormatter())

        fields: dict[str, object] = {"request_id": "r1", "status": 200, "tenant_id": None}
        record = logging.LogRecord(
            log.name, logging.INFO, "", 0, "GET %s %d", ("/search?api_key=sg_secret_123", 200), None
        )
        record.__dict__.update(fields)
        parts = Fields(record.created, "INFO", log.name, record.getMessage(), dict(fields))
        assert parts.line() == handler.format(record)
        assert "sg_secret_123" not in parts.line()
        handler.emit_fields(parts)
        handler.flush()
        assert stream.getvalue() == handler.format(record) + "\n"
        handler.close()
        handler.emit_fields(parts)  # after close: written at once
        assert stream.getvalue().count('"request_id":"r1"') == 2
    finally:
        logging.root.handlers = saved

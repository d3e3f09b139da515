"""``BackgroundStreamHandler``: log lines formatted and written off the request's time.

A ``StreamHandler`` formats each record (JSON, redaction) and writes and flushes it on the thread
that logged it, which for the access log is the event loop, once per request. This handler only
puts the record on a queue; one thread per process wakes for the first record, lets more gather
for ``GATHER_SECONDS``, then formats them all and writes them with one ``write`` and one ``flush``.
Under load that is one wake-up and one system call for dozens of lines, and the event loop never
waits for a slow stderr (a full pipe, a blocked collector). Formatting still takes the GIL, so it
still costs the process CPU; what leaves the request is the waiting, and the per-line overhead.

What the standard ``QueueHandler`` and ``QueueListener`` do, as one handler that ``dictConfig``
can build in every uvicorn worker and that starts its thread on the first record (a forked worker
does not inherit a parent's thread). A record is made safe to format later before it is queued,
as ``QueueHandler.prepare`` does: its message is rendered now (arguments may change later) and an
exception's traceback is formatted now. ``flush`` waits for every line queued so far, and
``close`` (``logging.shutdown`` calls it at exit) writes what is left and stops the thread.

A worker of ``serve --workers N`` never reaches ``logging.shutdown``: once it has drained, uvicorn
re-raises SIGTERM at itself, which ends the process on the spot, with its last lines ("Application
shutdown complete.") still queued. So on SIGTERM the lifecycle calls ``write_through``: what is
queued is written, and every later line is written at once on the thread that logs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import TextIO

from serpgate.jsonlog import JsonFormatter, json_line

# How long the writer lets lines gather after the first one: the most a line waits.
GATHER_SECONDS = 0.05
MAX_BATCH = 5000

# Put on the queue by ``flush`` and ``close``: the event is set once everything queued before it
# is written; with ``stop``, the thread ends after that.
_Marker = tuple[threading.Event, bool]


@dataclass(frozen=True, slots=True)
class Fields:
    """A line given as its parts (``emit_fields``), not as a ``LogRecord``."""

    created: float
    level: str
    logger: str
    msg: str
    fields: dict[str, object]

    def line(self) -> str:
        return json_line(self.created, self.level, self.logger, os.getpid(), self.msg, self.fields)


class BackgroundStreamHandler(logging.StreamHandler[TextIO]):
    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._queue: queue.SimpleQueue[logging.LogRecord | Fields | _Marker] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._starting = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    @staticmethod
    def sole_writer(logger: logging.Logger, level: int) -> BackgroundStreamHandler | None:
        """The handler that alone writes ``logger``'s records at ``level``, as JSON, with no
        filter on the way: then a line may go to it as its parts (``emit_fields``), without a
        ``LogRecord``. None for any other set-up (a test's capturing handler, say)."""
        if logger.filters or logger.disabled:
            return None
        root, node = logging.root, logger
        while node is not root:
            if node.handlers or not node.propagate or node.parent is None:
                return None
            node = node.parent
        if len(root.handlers) != 1:
            return None
        handler = root.handlers[0]
        if (
            type(handler) is not BackgroundStreamHandler
            or handler.filters
            or level < handler.level
            or type(handler.formatter) is not JsonFormatter
        ):
            return None
        return handler

    def emit_fields(self, line: Fields) -> None:
        """Write ``line`` as ``JsonFormatter`` would write a record of the same parts. The access
        log writes one line per request this way: making a ``LogRecord`` and passing it through
        ``logging`` cost a cache hit about 25 µs, more than a tenth of it (docs/performance.md).
        """
        if self._closed:
            with self.lock or contextlib.nullcontext():
                self._flush_lines([self._line(line)])
            return
        self._enqueue(line)

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed:
            super().emit(record)
            return
        self._prepare(record)
        self._enqueue(record)

    def _enqueue(self, item: logging.LogRecord | Fields) -> None:
        self._queue.put(item)
        if self._writer is None or self._pid != os.getpid():
            self._start()

    def _prepare(self, record: logging.LogRecord) -> None:
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            formatter = self.formatter or logging.Formatter()
            record.exc_text = formatter.formatException(record.exc_info)
            record.exc_info = None

    def _start(self) -> None:
        with self._starting:
            if self._writer is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._writer = threading.Thread(target=self._write, name="log-writer", daemon=True)
            self._writer.start()

    def _write(self) -> None:
        while True:
            item = self._queue.get()
            if not isinstance(item, tuple):
                # Let a batch gather. Woken per record, this thread would take the GIL from
                # the event loop once per request: more CPU than writing the line inline.
                time.sleep(GATHER_SECONDS)
            lines: list[str] = []
            markers: list[_Marker] = []
            while True:
                if isinstance(item, tuple):
                    markers.append(item)
                else:
                    lines.append(self._line(item))
                if markers or len(lines) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if lines:
                self._flush_lines(lines)
            for event, _ in markers:
                event.set()
            if any(stop for _, stop in markers):
                return

    def _line(self, item: logging.LogRecord | Fields) -> str:
        try:
            line = item.line() if isinstance(item, Fields) else self.format(item)
        except Exception:  # a record that cannot be formatted must not end the writer
            if isinstance(item, logging.LogRecord):
                self.handleError(item)
            else:
                self.handleError(logging.makeLogRecord({"msg": f"{item.logger}: line lost"}))
            return ""
        return line + self.terminator

    def _flush_lines(self, lines: list[str]) -> None:
        # Only this thread writes to the stream while it runs. It takes no handler lock:
        # logging.shutdown holds that one while it waits in ``flush`` for this very write.
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except Exception:  # as StreamHandler does: report, and keep logging
            self.handleError(logging.makeLogRecord({"msg": "log write failed"}))

    def _wait(self, *, stop: bool) -> None:
        writer = self._writer
        if writer is None or self._pid != os.getpid() or not writer.is_alive():
            return
        done = threading.Event()
        self._queue.put((done, stop))
        done.wait(timeout=10)
        if stop:
            writer.join(timeout=10)

    def flush(self) -> None:
        # The writer flushes the stream after every batch; this waits for the batches.
        self._wait(stop=False)

    def write_through(self) -> None:
        """Write what is queued, then each later line at once: the process is about to end."""
        self._wait(stop=True)
        self._closed = True

    def close(self) -> None:
        self._wait(stop=True)
        self._closed = True
        super().close()

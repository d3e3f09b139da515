"""``JsonFormatter``: every log line serpgate writes is one JSON object, with secrets redacted.

Log collectors (Loki, CloudWatch, Elasticsearch) read JSON lines without parsing rules, and the
fields a line carries (``request_id``, ``tenant_id``, ``status``…) become queryable as they are.
Redaction runs on the finished line, not on chosen fields, because secrets arrive where nobody
planned for them: uvicorn's trace log prints whole query strings and headers, an exception message
may quote a URL, a connection error may quote a Redis URL with its password. ``logging_config``
routes uvicorn's own loggers through the same formatter, so no line escapes it.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from serpgate.secondtext import SecondText

# A query parameter or a JSON/repr field that carries a key: api_key=…, "api_key": "…", also
# inside an already JSON-encoded line, where the quotes come escaped (\").
_SECRET_NAMES = ("api_key", "apikey", "admin_key", "access_token")
_SECRET_FIELD = re.compile(
    rf"""(?i)\b({"|".join(_SECRET_NAMES)})(\\?["']?\s*[=:]\s*b?\\?["']?)"""
    r"""([^\s"'&,;)}\]\\]+)"""
)
# Authorization: Bearer …, also as uvicorn's trace log prints headers: (b'authorization', b'…').
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)([A-Za-z0-9._~+/=-]+)")
# Keys that `serpgate keys create` issues, wherever they appear on their own.
_ISSUED_KEY = re.compile(r"\bsg_[A-Za-z0-9_-]{8,}")
# Credentials inside a URL: redis://:password@host, http://user:pass@proxy.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]*:[^\s/@]*@")

REDACTED = "REDACTED"
# uvicorn's level below debug, which prints every ASGI message; logging learns its name only when
# uvicorn configures itself, later than this configuration is applied.
TRACE = 5

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


# In lowered text, a secret parameter's name anywhere but where it was redacted already, as the
# access log writes its query (the value ends where the parameter, the message or the JSON
# string does). The access log redacts the query it writes, so most lines need no scan; the scan
# is a large part of a cache hit's log line, and this one pass a small one.
_NOT_REDACTED = re.compile(rf"""(?:{"|".join(_SECRET_NAMES)})(?!={REDACTED.lower()}[& "])""")


def redact_secrets(text: str) -> str:
    """``text`` with every API key, bearer token and URL password replaced by ``REDACTED``.

    Each pattern runs only where the text holds the literal it cannot match without: scanning
    a line with all four costs more than the rest of writing it. Text that is not ASCII gets
    every pattern, as case-insensitive matching of other scripts has surprises ("İ" lowers to
    two characters).
    """
    every = not text.isascii()
    lowered = text.lower()
    if every or _NOT_REDACTED.search(lowered):
        text = _SECRET_FIELD.sub(rf"\1\2{REDACTED}", text)
    if every or "bearer" in lowered:
        text = _BEARER.sub(rf"\1\2{REDACTED}", text)
    if every or "sg_" in text:
        text = _ISSUED_KEY.sub(f"sg_{REDACTED}", text)
    if every or ("://" in text and "@" in text):
        text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, pid, message, extra fields, exception.

    It never writes where a record was logged from, nor the thread's or process's name, so
    ``logging`` is told not to look them up: walking the caller's frames on every record was a
    tenth of a cache hit's access log line. ``dictConfig`` builds a formatter in every process
    that logs, so each gets the setting.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        logging._srcfile = None  # documented in the logging HOWTO's "Optimization"
        logging.logThreads = False
        logging.logMultiprocessing = False

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["exc"] = record.exc_text
        return json_line(
            record.created,
            record.levelname,
            record.name,
            record.process or os.getpid(),
            record.getMessage(),
            fields,
        )


# The part of a line's time up to the second, as ``datetime.isoformat`` writes it.
_iso_second = SecondText(
    lambda second: datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:-6]
)


def utc_millis(created: float) -> str:
    """``datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")``, the part up
    to the second formatted once per second (``SecondText``). The microseconds round as
    ``fromtimestamp`` rounds them (half to even), then the milliseconds are cut as ``isoformat``
    cuts them."""
    whole = math.floor(created)
    micros = round((created - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return f"{_iso_second(whole)}.{micros // 1000:03d}+00:00"


def json_line(
    created: float, level: str, logger: str, pid: int, msg: str, fields: Mapping[str, object]
) -> str:
    """One record as ``JsonFormatter`` writes it: the time, level, logger, process and message,
    then the record's own fields."""
    line: dict[str, Any] = {
        "ts": utc_millis(created),
        "level": level.lower(),
        "logger": logger,
        # Workers of one `serve --workers N` share a stream; the pid tells them apart.
        "pid": pid,
        "msg": msg,
    }
    line.update(fields)
    return redact_secrets(orjson.dumps(line, default=str).decode())


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every logger, uvicorn's too, through JSON.

    Handed to uvicorn as ``log_config`` as well, because uvicorn applies its own configuration in
    every worker it spawns and would otherwise install its plain-text handlers there.
    """
    number: int | str = TRACE if level.lower() == "trace" else level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                # Formatted and written on a thread of its own, off the request's time.
                "class": "serpgate.loghandler.BackgroundStreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": number},
        "loggers": {
            name: {"handlers": [], "level": number, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        },
    }

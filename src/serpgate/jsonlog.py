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
import os
import re
from datetime import UTC, datetime
from typing import Any

import orjson

# A query parameter or a JSON/repr field that carries a key: api_key=…, "api_key": "…", also
# inside an already JSON-encoded line, where the quotes come escaped (\").
_SECRET_FIELD = re.compile(
    r"""(?i)\b(api_key|apikey|admin_key|access_token)(\\?["']?\s*[=:]\s*b?\\?["']?)"""
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


def redact_secrets(text: str) -> str:
    """``text`` with every API key, bearer token and URL password replaced by ``REDACTED``."""
    text = _SECRET_FIELD.sub(rf"\1\2{REDACTED}", text)
    text = _BEARER.sub(rf"\1\2{REDACTED}", text)
    text = _ISSUED_KEY.sub(f"sg_{REDACTED}", text)
    return _URL_USERINFO.sub(rf"\1{REDACTED}@", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, pid, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Workers of one `serve --workers N` share a stream; the pid tells them apart.
            "pid": record.process or os.getpid(),
            "msg": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRS)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
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
                "class": "logging.StreamHandler",
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

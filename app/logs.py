"""Log lines that carry no secrets, whatever the logging configuration.

The ORM and the SQLite driver log every statement with its bound values (password hashes,
phone and ID numbers) at DEBUG: those lines are counted and dropped (``resolvers.
instrumentation``). uvicorn's access log writes each request's path with its query string,
and a client that sends an operation over GET (refused) puts its variables, a password among
them, in that query string: the line keeps the path and drops the query.

``configure`` sets the format of what is written: text (development) or one JSON object per
line (production, ``RIVERCHIEF_LOG_FORMAT=json``), for the service's lines and uvicorn's. A
line logged while a request is served carries that request's id; the request line itself
(``app.request_log``) carries its fields. Neither ever holds a header, a body, a variable or
a query string.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core.instrumentation import install as silence_statement_logs

ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")
# Loggers whose plain stream handlers ``configure`` gives the chosen format.
WRITTEN_BY = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
BASE_KEYS = frozenset({"time", "level", "logger", "message", "request_id"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, the
    ``request_id`` of the request being served (if any), the record's own ``fields`` (the
    request line's), and ``exception`` with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": getattr(record, "summary", None) or record.getMessage(),
        }
        # Imported here: importing ``app`` must not start prometheus-client, which reads
        # PROMETHEUS_MULTIPROC_DIR as it loads, before the settings can check it.
        from core.telemetry import current_request_id

        fields = getattr(record, "fields", None)
        request_id = (fields or {}).get("request_id") or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if isinstance(fields, dict):
            entry.update((k, v) for k, v in fields.items() if k not in BASE_KEYS)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))


def configure(log_format: str) -> None:
    """Idempotent. Runs when the app is created and again when it starts, after uvicorn has
    set up its own handlers: every plain stream handler of the root and uvicorn loggers gets
    the format. A process whose root logger has no handler (a uvicorn worker) gets one, so
    the service's INFO lines are written at all."""
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(TEXT_FORMAT))
        root.addHandler(stream)
        if root.level > logging.INFO:
            root.setLevel(logging.INFO)
    if log_format != "json":
        return
    for name in WRITTEN_BY:
        for handler in logging.getLogger(name).handlers:
            # Exactly StreamHandler: files and capturing handlers (tests) keep their own.
            if type(handler) is logging.StreamHandler and not isinstance(
                handler.formatter, JsonFormatter
            ):
                handler.setFormatter(JsonFormatter())


class PathWithoutQuery(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_without_query(arg) for arg in record.args)
        return True


def _without_query(value: object) -> object:
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.partition("?")[0] + "?…"
    return value


_installed = False


def install() -> None:
    """Idempotent; runs when ``app`` is imported, before any statement or request."""
    global _installed
    if _installed:
        return
    silence_statement_logs()
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).addFilter(PathWithoutQuery())
    _installed = True

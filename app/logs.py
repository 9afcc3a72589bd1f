"""Log lines that carry no secrets, whatever the logging configuration.

The ORM and the SQLite driver log every statement with its bound values (password hashes,
phone and ID numbers) at DEBUG: those lines are counted and dropped (``resolvers.
instrumentation``). uvicorn's access log writes each request's path with its query string,
and a client that sends an operation over GET (refused) puts its variables, a password among
them, in that query string: the line keeps the path and drops the query.
"""

from __future__ import annotations

import logging

from resolvers.instrumentation import install as silence_statement_logs

ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")


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

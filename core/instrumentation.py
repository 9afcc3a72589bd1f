"""Counting the SQL statements a request makes, without touching the ORM.

Tortoise announces every statement on its ``tortoise.db_client`` logger at DEBUG level. A
filter on that logger counts them for the current request and drops the record, so query
text and parameters (which can hold personal data) never reach a log handler. Under it on
SQLite, aiosqlite logs every call with its parameters at DEBUG too: those are dropped as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_current: ContextVar[StatementCount | None] = ContextVar("sql_statements", default=None)


@dataclass
class StatementCount:
    """A count; an enclosing count (a test around an operation) sees the inner ones too."""

    value: int = 0
    outer: StatementCount | None = None

    def add(self) -> None:
        counter: StatementCount | None = self
        while counter is not None:
            counter.value += 1
            counter = counter.outer


class _CountAndDrop(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        counter = _current.get()
        if counter is not None and record.levelno == logging.DEBUG:
            counter.add()
        return False


class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_installed = False


def install() -> None:
    """Idempotent: turn the ORM's statement announcements into counts, and silence the
    driver's. Runs when ``app`` is imported, before any statement, in every process."""
    global _installed
    if _installed:
        return
    logger = logging.getLogger("tortoise.db_client")
    logger.setLevel(logging.DEBUG)
    logger.addFilter(_CountAndDrop())
    logging.getLogger("aiosqlite").addFilter(_DropDebug())
    _installed = True


def start_counting() -> StatementCount:
    """Count from here on, in this context and the tasks it starts.

    No reset: an operation's start and end can run in different contexts (its extension
    generator may be closed elsewhere), and each request has a context of its own anyway.
    """
    install()
    counter = StatementCount(outer=_current.get())
    _current.set(counter)
    return counter


def stop_counting(counter: StatementCount) -> None:
    """Hand counting back to the enclosing count (set, not reset: see ``start_counting``)."""
    _current.set(counter.outer)


@contextmanager
def counting_statements() -> Iterator[StatementCount]:
    """Count the statements issued inside the block (tests and benchmarks)."""
    counter = start_counting()
    try:
        yield counter
    finally:
        stop_counting(counter)


def current_count() -> StatementCount | None:
    return _current.get()

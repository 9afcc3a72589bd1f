"""The time the write paths stamp on what they write: the real time, unless a caller that
replays the past (the demo loader) sets another for the steps it takes.

``now()`` is what an audit event's ``at``, a task's ``created_at``/``updated_at``/``closed_at``
and the return window read. In production nothing sets it, so it is ``datetime.now(UTC)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_moment: ContextVar[datetime | None] = ContextVar("riverchief_clock", default=None)


def now() -> datetime:
    """The current time of this context: the real time unless ``at`` set another."""
    moment = _moment.get()
    return datetime.now(UTC) if moment is None else moment


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Within the block, ``now()`` is ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("the clock takes an aware datetime")
    token = _moment.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _moment.reset(token)

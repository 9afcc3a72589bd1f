"""Time in the benchmark dataset: integer microseconds, relative to a fixed base.

Rows carry ``datetime`` values, but the generator plans in integers: they compare, add and
sort cheaply, and never depend on the clock of the machine that loads the data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
BASE: Final = datetime(2026, 1, 1, tzinfo=UTC)  # the snapshot: every event happened before
SECOND: Final = 1_000_000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
HISTORY_DAYS: Final = 730  # tasks are created over the two years before BASE


def us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


BASE_US: Final = us(BASE)
START_US: Final = BASE_US - HISTORY_DAYS * DAY
SETUP: Final = datetime(2023, 7, 1, tzinfo=UTC)  # when the tree, people and accounts were set up


def at(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def day_of(micros: int) -> int:
    """The history day (0 = the first day of the two years) a moment falls on."""
    return (micros - START_US) // DAY


def day_start(day: int) -> int:
    return START_US + day * DAY


def daytime(moment: int, rng: Random) -> int:
    """A moment between 07:00 and 17:00 Beijing time on the (Beijing) day of ``moment``."""
    beijing_midnight = moment - (moment + 8 * HOUR - START_US) % DAY
    return beijing_midnight + 7 * HOUR + rng.randrange(10 * HOUR)


def year_end(year: int) -> int:
    """18:00 Beijing time on 31 December: the deadline of a yearly target."""
    return us(datetime(year, 12, 31, 10, tzinfo=UTC))


def month_end(moment: int) -> int:
    """18:00 Beijing on the last day of the month ``moment`` falls in."""
    day = at(moment).date()
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return us(datetime(last.year, last.month, last.day, 10, tzinfo=UTC))


def deadline(moment: int) -> int:
    """18:00 Beijing on the day ``moment`` falls in: when the service's due dates fall."""
    return moment - (moment - START_US) % DAY + 10 * HOUR

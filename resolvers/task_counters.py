"""The dashboards' task counters, kept in the transaction of every task change.

Two tables (``models.task``): ``task_count`` (unit, status) and ``task_due_count`` (unit, due
day) for open tasks with a due date. Every write path of tasks calls ``count_change`` with
the task as it was and as it is; the difference is applied as one row-level upsert per table
(``n = n + delta``), never read-modify-write, so concurrent changes add up. The rows of one
statement come in key order, and every caller counts after its audit append, inside the
chain's lock: two writers never take the same rows in opposite orders.

``recount_*`` are the same figures counted from the task table: ``drift`` compares the two
and ``rebuild`` replaces the counters with the recount.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import OPEN_STATUSES, TaskStatus
from models.task import Task

_OPEN = ", ".join(f"'{status.value}'" for status in sorted(OPEN_STATUSES))


def due_day(due_at: datetime | None, status: TaskStatus) -> date | None:
    """The day (UTC) an open task falls due on; None for a closed task or one without a date."""
    if due_at is None or status not in OPEN_STATUSES:
        return None
    return due_at.astimezone(UTC).date()


@dataclass(frozen=True)
class CountedTask:
    """A task as the counters see it."""

    unit_id: int
    status: TaskStatus
    due: date | None

    @classmethod
    def of(cls, task: Task) -> CountedTask:
        return cls(task.org_unit_id, TaskStatus(task.status), due_day(task.due_at, task.status))


async def count_change(conn: BaseDBAsyncClient, before: Task | None, after: Task | None) -> None:
    """Move the counters from ``before`` (None: created) to ``after`` (None: deleted)."""
    await apply_deltas(
        conn, [(CountedTask.of(t), sign) for t, sign in ((before, -1), (after, 1)) if t is not None]
    )


async def apply_deltas(conn: BaseDBAsyncClient, changes: list[tuple[CountedTask, int]]) -> None:
    """Add each ``(task, +1 or -1)`` to the counters, netted, one upsert per table."""
    by_status: Counter[tuple[int, str]] = Counter()
    by_day: Counter[tuple[int, date]] = Counter()
    for counted, sign in changes:
        by_status[(counted.unit_id, counted.status.value)] += sign
        if counted.due is not None:
            by_day[(counted.unit_id, counted.due)] += sign
    postgres = conn.capabilities.dialect == "postgres"
    await _upsert(conn, "task_count", ("org_unit_id", "status"), by_status, postgres)
    await _upsert(conn, "task_due_count", ("org_unit_id", "due_day"), by_day, postgres)


async def _upsert(
    conn: BaseDBAsyncClient,
    table: str,
    key: tuple[str, str],
    deltas: Counter[Any],
    postgres: bool,
) -> None:
    rows = sorted((k, n) for k, n in deltas.items() if n)
    if not rows:
        return
    values: list[Any] = []
    marks = []
    for (unit_id, second), n in rows:
        start = len(values)
        values += [unit_id, second if postgres else str(second), n]
        marks.append("(" + ", ".join(f"${start + i}" if postgres else "?" for i in (1, 2, 3)) + ")")
    await conn.execute_query(
        f"INSERT INTO {table} ({key[0]}, {key[1]}, n) VALUES {', '.join(marks)}"  # noqa: S608
        f" ON CONFLICT ({key[0]}, {key[1]}) DO UPDATE SET n = {table}.n + excluded.n",
        values,
    )


def recount_status_sql() -> str:
    return "SELECT org_unit_id, status, COUNT(*) AS n FROM task GROUP BY org_unit_id, status"


def recount_due_sql(postgres: bool) -> str:
    day = "(due_at AT TIME ZONE 'UTC')::date" if postgres else "substr(due_at, 1, 10)"
    return (
        f"SELECT org_unit_id, {day} AS due_day, COUNT(*) AS n FROM task"  # noqa: S608
        f" WHERE due_at IS NOT NULL AND status IN ({_OPEN}) GROUP BY org_unit_id, {day}"
    )


def _diff_sql(stored: str, recount: str, second: str) -> str:
    """Each key whose stored count differs from the recount, in one statement (one snapshot)."""
    return (
        f"SELECT COALESCE(r.org_unit_id, c.org_unit_id) AS unit,"  # noqa: S608
        f" COALESCE(r.{second}, c.{second}) AS key, COALESCE(c.n, 0) AS stored,"
        f" COALESCE(r.n, 0) AS counted"
        f" FROM ({recount}) r FULL OUTER JOIN (SELECT org_unit_id, {second}, n FROM {stored}"
        f" WHERE n <> 0) c ON c.org_unit_id = r.org_unit_id AND c.{second} = r.{second}"
        f" WHERE COALESCE(c.n, 0) <> COALESCE(r.n, 0) ORDER BY 1, 2"
    )


@dataclass(frozen=True)
class Drift:
    """One counter that disagrees with the task table."""

    table: str
    unit_id: int
    key: str  # the status, or the due day
    stored: int
    counted: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "unitId": self.unit_id,
            "key": self.key,
            "stored": self.stored,
            "counted": self.counted,
        }


def drift_sql(postgres: bool) -> dict[str, str]:
    """Per table, the statement listing its drift (``unit, key, stored, counted``); the soak
    runs them with the bare driver."""
    return {
        "task_count": _diff_sql("task_count", recount_status_sql(), "status"),
        "task_due_count": _diff_sql("task_due_count", recount_due_sql(postgres), "due_day"),
    }


async def drift(conn: BaseDBAsyncClient) -> list[Drift]:
    """Every task counter that differs from a recount of the task table."""
    postgres = conn.capabilities.dialect == "postgres"
    found = []
    for table, sql in drift_sql(postgres).items():
        for row in await conn.execute_query_dict(sql):
            found.append(
                Drift(
                    table,
                    int(row["unit"]),
                    str(row["key"]),
                    int(row["stored"]),
                    int(row["counted"]),
                )
            )
    return found


async def rebuild(conn: BaseDBAsyncClient) -> None:
    """Replace the counters with a recount; call inside a transaction.

    On PostgreSQL the task table is locked against writers first (``SHARE``): a change
    committed between the recount's snapshot and the end would otherwise be lost or counted
    twice. SQLite has a single writer already.
    """
    postgres = conn.capabilities.dialect == "postgres"
    if postgres:
        await conn.execute_query("LOCK TABLE task IN SHARE MODE")
    await conn.execute_script("DELETE FROM task_count; DELETE FROM task_due_count")
    await conn.execute_query(
        f"INSERT INTO task_count (org_unit_id, status, n) {recount_status_sql()}"
    )
    await conn.execute_query(
        f"INSERT INTO task_due_count (org_unit_id, due_day, n) {recount_due_sql(postgres)}"
    )

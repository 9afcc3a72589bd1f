"""``OrgUnit.taskStats`` from the counters, as ``resolvers.task_stats`` counts it.

Over the units of the subtree (``path`` in ``[unit path, upper bound)``) on which the viewer
holds ``task:read`` — the scope applies to each unit, as it does to each task: the statuses
from ``task_count``; overdue as the open tasks due on the days before today
(``task_due_count``) plus those due earlier today, counted from the task table against the
request's moment. Only counter rows that are not zero count; a status shows when some unit
has it, in workflow order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from compiled.objects import UNITS, Fragments, Render, Row, Types, subtree_end
from compiled.selection import Field, NotCompilable, collect, merged
from models.enums import TaskStatus
from models.task import Task, TaskCount, TaskDueCount, overdue_sql
from policies.rights import TASK_READ

COUNTS = TaskCount._meta.db_table
DUE_COUNTS = TaskDueCount._meta.db_table
TASKS = Task._meta.db_table
STATS_FIELDS = frozenset({"total", "overdue", "byStatus", "__typename"})
STATUS_FIELDS = frozenset({"status", "count", "__typename"})


@dataclass(frozen=True)
class TaskStatsField:
    def plan(self, owner: str, entry: Field, fragments: Fragments, types: Types) -> PlannedStats:
        if entry.arguments:
            raise NotCompilable("arguments on taskStats")
        fields = []
        by_status: list[tuple[str, str]] = []
        for item in collect(merged(entry), frozenset({"TaskStats"}), fragments):
            if item.name not in STATS_FIELDS or item.arguments:
                raise NotCompilable(f"TaskStats.{item.name}")
            if item.name == "byStatus":
                if by_status:
                    raise NotCompilable("byStatus under two keys")
                for count in collect(merged(item), frozenset({"StatusCount"}), fragments):
                    if count.name not in STATUS_FIELDS or count.arguments:
                        raise NotCompilable(f"StatusCount.{count.name}")
                    by_status.append((count.key, count.name))
            elif item.selections:
                raise NotCompilable("a selection on a scalar")
            fields.append((item.key, item.name))
        return PlannedStats(tuple(fields), tuple(by_status))


@dataclass(frozen=True)
class RolledStats:
    """``taskStats`` on the rows of ``children`` lists below a root ``orgUnit``: looked up by
    the row's id in the statement's roll-up (``compiled.rollup``) instead of counting the
    row's subtree again."""

    stats: PlannedStats

    def render(self, row: Row, r: Render) -> str:
        found = f"SELECT {r.rollups[self.stats]}.j FROM {r.rollups[self.stats]}"
        found += f" WHERE {r.rollups[self.stats]}.k = {row.alias}.id"
        return r.dialect.nested(f"SELECT coalesce(({found}), {self.stats.zero(r)})")


@dataclass(frozen=True)
class PlannedStats:
    fields: tuple[tuple[str, str], ...]  # (key, name) in response order
    by_status: tuple[tuple[str, str], ...]

    def zero(self, r: Render) -> str:
        """The JSON of a unit where the viewer reads no counted task."""
        d = r.dialect
        shown = {"total": "0", "overdue": "0", "byStatus": d.empty_array()}
        return d.obj([(k, shown.get(n, "'TaskStats'")) for k, n in self.fields])

    def render(self, row: Row, r: Render) -> str:
        d = r.dialect
        status = r.alias("s")
        shown = {
            "status": f"{status}.status",
            "count": f"{status}.n",
            "__typename": "'StatusCount'",
        }
        pairs = []
        for key, name in self.fields:
            if name == "total":
                value = d.integer(f"coalesce(sum({status}.n), 0)")
            elif name == "overdue":
                value = _overdue(row, r)
            elif name == "byStatus":
                item = d.obj([(k, shown[n]) for k, n in self.by_status])
                value = d.array_agg(item, f"{status}.place")
            else:
                value = "'TaskStats'"
            pairs.append((key, value))
        if not any(name in ("total", "byStatus") for _, name in self.fields):
            return d.nested(f"SELECT {d.obj(pairs)}")
        # Rendered last, and only when read: every parameter bound must be used.
        return d.nested(f"SELECT {d.obj(pairs)} FROM ({_statuses(row, r)}) {status}")


def _statuses(row: Row, r: Render) -> str:
    """The subtree's counts by status (``status``, ``n``, workflow ``place``), in order."""
    counter, unit = r.alias("c"), r.alias("su")
    return (
        f"SELECT {counter}.status AS status, {r.dialect.integer(f'sum({counter}.n)')} AS n,"
        f" {place(f'{counter}.status')} AS place FROM {COUNTS} {counter}"
        f" {_in_subtree(counter, unit, row, r)} AND {counter}.n <> 0"
        f" GROUP BY {counter}.status ORDER BY place"
    )


def _in_subtree(counter: str, unit: str, row: Row, r: Render) -> str:
    """Joins the rows aliased ``counter`` to their unit, kept when it is in the subtree of
    the unit in ``row`` and the viewer reads tasks there (a ``JOIN … WHERE …`` clause)."""
    return (
        f"JOIN {UNITS} {unit} ON {unit}.id = {counter}.org_unit_id"
        f" WHERE {unit}.path >= {row.unit}.path AND {unit}.path < {subtree_end(row.unit + '.path')}"
        f" AND {r.scope(TASK_READ, unit)}"
    )


def _overdue(row: Row, r: Render) -> str:
    """Open tasks due before today (the day counters), and those due today already past
    (the task table's due-date index)."""
    d = r.dialect
    start = datetime.combine(r.moment.date(), time(), UTC)
    today = r.params(r.moment.date() if d.postgres else str(r.moment.date()))
    since = r.params(d.moment(start))
    days, task = r.alias("d"), r.alias("t")
    late_days = (
        f"SELECT coalesce(sum({days}.n), 0) FROM {DUE_COUNTS} {days}"
        f" {_in_subtree(days, r.alias('su'), row, r)}"
        f" AND {days}.due_day < {today} AND {days}.n <> 0"
    )
    late_today = (
        f"SELECT count(*) FROM {TASKS} {task} {_in_subtree(task, r.alias('su'), row, r)}"
        f" AND {task}.due_at >= {since} AND {overdue_sql(task, r.now)}"
    )
    return d.integer(f"({late_days}) + ({late_today})")


def place(status: str) -> str:
    """A status's place in the workflow (``TaskStatus`` order)."""
    cases = " ".join(f"WHEN '{s.value}' THEN {n}" for n, s in enumerate(TaskStatus))
    return f"CASE {status} {cases} END"

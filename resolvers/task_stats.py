"""Task counts over subtrees for dashboards: one grouped statement answers a whole tree.

The counts come from the per-unit counters kept with every task change
(``resolvers.task_counters``), never from the task table: the statuses from
``task_count``, and overdue as the open tasks due on the days before today
(``task_due_count``) plus those due earlier today, which are few and counted from the task
table's due-date index against the moment asked about. The viewer's scope applies to each
unit, as it did to each task.

The first unit asked about has its subtree counted, grouped by the path prefix ``LOOKAHEAD``
levels below it (the units a dashboard shows next). The rows are prefixes × statuses and
they stay in the request: the stats of the children and grandchildren that follow need no
further statement. Units asked about together that no earlier answer covers are counted in
one statement over their common ancestor's subtree.

PostgreSQL labels each unit with its prefix (``split_part`` on its path) and adds the
counts up per prefix; SQLite returns each unit's counts, added up here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from tortoise import connections

from core.context import RequestContext
from models.enums import TaskStatus
from models.paths import path_ids, upper_bound
from models.task import overdue_sql
from policies.rights import TASK_READ
from policies.scope import Params, scope_for, scope_sql
from resolvers.dataloader import DataLoader

LOOKAHEAD = 2
StatusCounts = tuple[dict[TaskStatus, int], int]  # by status, overdue
UnitKey = tuple[int, str]  # id, path


@dataclass
class Counted:
    """The counts of one statement: every prefix under ``root`` down to ``ids`` ids."""

    root: str
    ids: int
    totals: dict[str, dict[TaskStatus, int]] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)

    def prefixes(self, path: str) -> list[str]:
        """The prefixes of ``path`` from the root down to ``ids`` ids."""
        found = []
        end, kept = len(self.root) - 1, 0
        first = self.root.count("/") - 1
        while end != -1 and kept <= self.ids - first:
            found.append(path[: end + 1])
            end = path.find("/", end + 1)
            kept += 1
        return found

    def add(self, path: str, status: TaskStatus, n: int) -> None:
        """Count ``n`` tasks of ``status`` held at ``path`` for every prefix of it."""
        for prefix in self.prefixes(path):
            counts = self.totals.setdefault(prefix, {})
            counts[status] = counts.get(status, 0) + n

    def add_late(self, path: str, n: int) -> None:
        """Count ``n`` overdue tasks held at ``path`` for every prefix of it."""
        for prefix in self.prefixes(path):
            self.late[prefix] = self.late.get(prefix, 0) + n

    def answer(self, path: str) -> StatusCounts:
        return dict(self.totals.get(path, {})), self.late.get(path, 0)


def covers(root: str, ids: int, path: str) -> bool:
    return path.startswith(root) and path.count("/") - 1 <= ids


def common_root(paths: Sequence[str]) -> str:
    shared = path_ids(paths[0])
    for path in paths[1:]:
        ids = path_ids(path)
        n = 0
        while n < min(len(shared), len(ids)) and shared[n] == ids[n]:
            n += 1
        shared = shared[:n]
    return "/" + "".join(f"{i}/" for i in shared)


def _prefix_sql(ids: int) -> str:
    """PostgreSQL: a unit's path cut to its first ``ids`` ids (``ids`` is ours, never a
    client's text); a unit with no more ids keeps its own path."""
    parts = " || '/' || ".join(f"split_part(u.path, '/', {k})" for k in range(2, int(ids) + 2))
    return f"CASE WHEN u.depth < {int(ids)} THEN u.path ELSE '/' || {parts} || '/' END"


async def count_subtree(context: RequestContext, root: str, ids: int) -> Counted:
    """One statement: the visible tasks under ``root``, grouped down to ``ids`` ids."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    params = Params(postgres)
    visible = scope_sql(scope_for(context, TASK_READ), params, "u.path", "u.level")
    moment = datetime.now(UTC)
    start = datetime.combine(moment.date(), time(), UTC)
    # SQLite keeps Tortoise's text forms of dates and times.
    now, since = (
        (params(moment), params(start)) if postgres else (params(str(moment)), params(str(start)))
    )
    today = params(moment.date() if postgres else str(moment.date()))
    prefix = _prefix_sql(ids) if postgres else "u.path"
    sql = (
        f"WITH units AS (SELECT u.id AS id, {prefix} AS prefix FROM org_unit u"  # noqa: S608
        f" WHERE u.path >= {params(root)} AND u.path < {params(upper_bound(root))}"
        f" AND {visible})"
        " SELECT x.prefix AS prefix, x.status AS status, x.late AS late, SUM(x.n) AS n FROM ("
        " SELECT s.prefix AS prefix, c.status AS status, 0 AS late, c.n AS n"
        " FROM task_count c JOIN units s ON s.id = c.org_unit_id WHERE c.n <> 0"
        " UNION ALL SELECT s.prefix, NULL, 1, d.n"
        " FROM task_due_count d JOIN units s ON s.id = d.org_unit_id"
        f" WHERE d.due_day < {today} AND d.n <> 0"
        " UNION ALL SELECT s.prefix, NULL, 1, 1 FROM task t JOIN units s ON s.id = t.org_unit_id"
        f" WHERE t.due_at >= {since} AND {overdue_sql('t', now)}"
        ") x GROUP BY x.prefix, x.status, x.late"
    )
    counted = Counted(root, ids)
    for row in await conn.execute_query_dict(sql, params.values):
        n = int(row["n"])
        if not n:
            continue
        if int(row["late"]) == 1:
            counted.add_late(str(row["prefix"]), n)
        else:
            counted.add(str(row["prefix"]), TaskStatus(row["status"]), n)
    return counted


def task_stats(context: RequestContext) -> DataLoader[UnitKey, StatusCounts]:
    # Counts asked for, finished or still running: a level resolved while the level above
    # is still being counted waits for that count instead of starting its own.
    counting: list[tuple[str, int, asyncio.Task[Counted]]] = []

    def covering(path: str) -> asyncio.Task[Counted] | None:
        return next(
            (task for root, ids, task in counting if covers(root, ids, path)),
            None,
        )

    async def load(keys: Sequence[UnitKey]) -> list[StatusCounts]:
        uncovered = [path for _, path in keys if covering(path) is None]
        if uncovered:
            depth = max(len(path_ids(p)) for p in uncovered)
            lookahead = LOOKAHEAD if len(set(uncovered)) == 1 else 0
            root, ids = common_root(uncovered), depth + lookahead
            counting.append((root, ids, asyncio.ensure_future(count_subtree(context, root, ids))))
        results = []
        for _, path in keys:
            task = covering(path)
            assert task is not None
            results.append((await task).answer(path))
        return results

    return DataLoader(load_fn=load)

"""Task counts over subtrees for dashboards: one grouped statement answers a whole tree.

The first unit asked about has its subtree's tasks counted by status and lateness, grouped
by the path prefix ``LOOKAHEAD`` levels below it (the units a dashboard shows next). The
rows are prefixes × statuses, never tasks, and they stay in the request: the stats of the
children and grandchildren that follow need no further statement. Units asked about
together that no earlier answer covers are counted in one statement over their common
ancestor's subtree.

Tasks are counted per unit, then PostgreSQL adds the units' counts up by prefix (a regular
expression on each unit's path). SQLite has no such function; there each unit's counts
come back and are added up here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from strawberry.dataloader import DataLoader
from tortoise import connections

from core.context import RequestContext
from models.enums import TaskStatus
from models.paths import path_ids, upper_bound
from models.task import overdue_sql
from policies.rights import TASK_READ
from policies.scope import Params, scope_for, scope_sql

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

    def add(self, path: str, status: TaskStatus, late: bool, n: int) -> None:
        """Count ``n`` tasks held at ``path`` for every prefix of it from the root down."""
        end, kept = len(self.root) - 1, 0
        first = self.root.count("/") - 1
        while end != -1 and kept <= self.ids - first:
            prefix = path[: end + 1]
            end = path.find("/", end + 1)
            kept += 1
            counts = self.totals.setdefault(prefix, {})
            counts[status] = counts.get(status, 0) + n
            if late:
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


async def count_subtree(context: RequestContext, root: str, ids: int) -> Counted:
    """One statement: the visible tasks under ``root``, grouped down to ``ids`` ids."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    params = Params(postgres)
    visible = scope_sql(scope_for(context, TASK_READ), params, "u.path", "u.level")
    moment = datetime.now(UTC)
    now = params(moment if postgres else str(moment))  # SQLite keeps Tortoise's text form
    late = f"CASE WHEN {overdue_sql('t', now)} THEN 1 ELSE 0 END"
    # PostgreSQL: the prefix of at most `ids` ids; `ids` is an int, never text from a client.
    prefix = f"substring(u.path from '^/(?:[0-9]+/){{0,{int(ids)}}}')" if postgres else "u.path"
    # Count per unit first (integer keys), then label the few thousand groups with their
    # prefix: a regular expression per task would cost more than the whole count.
    sql = (
        f"SELECT {prefix} AS prefix, g.status AS status, g.late AS late, SUM(g.n) AS n"  # noqa: S608
        f" FROM (SELECT t.org_unit_id AS unit, t.status AS status, {late} AS late,"
        " COUNT(*) AS n FROM task t WHERE t.org_unit_id IN (SELECT u.id FROM org_unit u"
        f" WHERE u.path >= {params(root)} AND u.path < {params(upper_bound(root))}"
        f" AND {visible}) GROUP BY 1, 2, 3) g"
        " JOIN org_unit u ON u.id = g.unit GROUP BY 1, 2, 3"
    )
    counted = Counted(root, ids)
    for row in await conn.execute_query_dict(sql, params.values):
        counted.add(
            str(row["prefix"]), TaskStatus(row["status"]), int(row["late"]) == 1, int(row["n"])
        )
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

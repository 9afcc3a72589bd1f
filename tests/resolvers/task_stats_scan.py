"""The oracle for ``taskStats``: the scan of the task table it made before the counters.

Every visible task under the unit, counted by status and lateness in one statement, with the
viewer's scope applied to each task's unit: what ``resolvers.task_stats`` answered before it
read the counters, and what it must still answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import connections

from core.context import RequestContext
from models.enums import TaskStatus
from models.paths import upper_bound
from models.task import overdue_sql
from policies.rights import TASK_READ
from policies.scope import Params, scope_for, scope_sql


async def scanned_stats(context: RequestContext, path: str) -> dict[str, object]:
    """``taskStats { total overdue byStatus { status count } }`` of the unit at ``path``."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    params = Params(postgres)
    visible = scope_sql(scope_for(context, TASK_READ), params, "u.path", "u.level")
    moment = datetime.now(UTC)
    now = params(moment if postgres else str(moment))
    late = f"CASE WHEN {overdue_sql('t', now)} THEN 1 ELSE 0 END"
    sql = (
        f"SELECT t.status AS status, {late} AS late, COUNT(*) AS n FROM task t"  # noqa: S608
        " JOIN org_unit u ON u.id = t.org_unit_id"
        f" WHERE u.path >= {params(path)} AND u.path < {params(upper_bound(path))}"
        f" AND {visible} GROUP BY 1, 2"
    )
    by_status: dict[TaskStatus, int] = {}
    overdue = 0
    for row in await conn.execute_query_dict(sql, params.values):
        status, n = TaskStatus(row["status"]), int(row["n"])
        by_status[status] = by_status.get(status, 0) + n
        if int(row["late"]) == 1:
            overdue += n
    return {
        "total": sum(by_status.values()),
        "overdue": overdue,
        "byStatus": [
            {"status": s.value, "count": by_status[s]} for s in TaskStatus if s in by_status
        ],
    }

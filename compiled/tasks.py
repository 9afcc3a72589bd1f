"""``Query.tasks`` as one statement: the page's rows with their JSON, and the count.

The filter, the order, ``first`` and ``after`` are read exactly as the resolvers read them
(``schema.task_filter.task_query``, ``resolvers.pagination``); a value they refuse raises
``NotCompilable`` before any SQL, so the resolvers answer with their own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.connection import ListPlan
from compiled.dialect import Dialect
from compiled.objects import TASKS, UNITS, Render, Row
from compiled.selection import NotCompilable
from compiled.statement import ListQuery, run_list
from core.context import RequestContext
from core.errors import DomainError
from models.task import overdue_sql
from policies.rights import ORG_READ, TASK_READ
from policies.scope import Params
from resolvers.pagination import decode_cursor, page_size
from resolvers.tasks import ORDERS, TaskOrder, TaskQuery
from schema.task_filter import TaskFilter, task_query

# The orders whose sort key is the id alone (the others' cursors carry instants).
ID_ORDERS = {TaskOrder.NEWEST: "DESC", TaskOrder.OLDEST: "ASC"}


@dataclass(frozen=True)
class Arguments:
    spec: TaskQuery
    direction: str
    size: int
    after: int | None


def read_arguments(values: dict[str, Any]) -> Arguments:
    """The arguments as ``Query.tasks`` reads them; anything it would refuse is not ours."""
    filter_ = values.get("filter")
    order = values.get("order_by", TaskOrder.NEWEST)
    if order not in ID_ORDERS:
        raise NotCompilable("an order by instant")
    try:
        spec = task_query(filter_) if isinstance(filter_, TaskFilter) else TaskQuery()
        size = page_size(values.get("first"))
        after = values.get("after")
        key = decode_cursor(after, 1, ORDERS[order])[0] if after else None
    except DomainError as exc:
        raise NotCompilable("an argument the resolvers refuse") from exc
    if filter_ is not None and not isinstance(filter_, TaskFilter):
        raise NotCompilable("an unexpected filter")
    if key is not None and (not isinstance(key, int) or isinstance(key, bool)):
        raise NotCompilable("a cursor that is not an id")  # paginate would compare it as given
    return Arguments(spec, ID_ORDERS[order], size, key)


def _conditions(spec: TaskQuery, r: Render) -> list[str]:
    """``resolvers.tasks.filtered`` in SQL, on ``t`` (the task) and ``u`` (its unit)."""
    p = r.params
    where = [r.scope(TASK_READ, "u")]
    if spec.org_unit_id is not None:
        # The unit named must be one the viewer reads (``get_unit``); otherwise nothing.
        seen = r.scope(ORG_READ, "f")
        if spec.include_descendants:
            # upper_bound(path): the path with its last '/' replaced by '0'
            upper = "substr(f.path, 1, length(f.path) - 1) || '0'"
            within = f"u.path >= f.path AND u.path < {upper}"
        else:
            within = "f.id = t.org_unit_id"
        where.append(
            f"EXISTS (SELECT 1 FROM {UNITS} f WHERE f.id = {p(spec.org_unit_id)}"
            f" AND {seen} AND {within})"
        )
    if spec.parent_id is not None:
        where.append(f"t.parent_id = {p(spec.parent_id)}")
    if spec.statuses:
        listed = ", ".join(p(s.value) for s in spec.statuses)
        where.append(f"t.status IN ({listed})")
    if spec.categories:
        listed = ", ".join(p(c.value) for c in spec.categories)
        where.append(f"t.category IN ({listed})")
    if spec.assignee_id is not None:
        where.append(f"t.assignee_id = {p(spec.assignee_id)}")
    if spec.due_after is not None:
        where.append(f"t.due_at >= {p(r.dialect.moment(spec.due_after))}")
    if spec.due_before is not None:
        where.append(f"t.due_at < {p(r.dialect.moment(spec.due_before))}")
    if spec.overdue is not None:
        condition = overdue_sql("t", r.now)
        where.append(condition if spec.overdue else f"NOT {condition}")
    return where


async def run_tasks(
    plan: ListPlan,
    values: dict[str, Any],
    context: RequestContext,
    conn: BaseDBAsyncClient,
    dialect: Dialect,
) -> str:
    args = read_arguments(values)
    r = Render(dialect, Params(dialect.postgres), context, datetime.now(UTC))
    where = " AND ".join(_conditions(args.spec, r))
    query = ListQuery(
        source=f"{TASKS} t JOIN {UNITS} u ON u.id = t.org_unit_id",
        row=Row("t", "u"),
        table=TASKS,
        key="id",
        descending=args.direction == "DESC",
        where=where,
        after=args.after,
        size=args.size,
    )
    return await run_list(plan, query, r, conn)

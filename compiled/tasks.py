"""Task lists: ``Query.tasks`` as one statement, ``OrgUnit.tasks`` as a subquery of its
unit's row.

The filter, the order, ``first`` and ``after`` are read exactly as the resolvers read them
(``schema.task_filter.task_query``, ``resolvers.pagination``); a value they refuse raises
``NotCompilable`` before any SQL, so the resolvers answer with their own error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.arguments import PageArguments, page_arguments, read_filter
from compiled.connection import ListPlan
from compiled.objects import TASKS, UNITS, Render, Row, subtree_end
from compiled.pages import PageSpec
from compiled.selection import NotCompilable
from compiled.statement import ListQuery, run_list
from models.task import overdue_sql
from policies.rights import ORG_READ, TASK_READ
from resolvers.tasks import ORDERS, TaskOrder, TaskQuery
from schema.task_filter import TaskFilter, task_query

# The orders whose sort key is the id alone (the others' cursors carry instants).
ID_ORDERS = {TaskOrder.NEWEST: "DESC", TaskOrder.OLDEST: "ASC"}
NEWEST = ORDERS[TaskOrder.NEWEST]


def _task_query(given: TaskFilter | None) -> TaskQuery:
    return task_query(given) if given is not None else TaskQuery()


def task_conditions(spec: TaskQuery, row: Row, r: Render, unit: str | None = None) -> list[str]:
    """``resolvers.tasks.filtered`` in SQL, on ``row`` (a task and its unit). The unit
    ``spec.org_unit_id`` names is looked up (and must be one the viewer reads), unless the
    caller has it already, as the row aliased ``unit``."""
    p = r.params
    t, u = row.alias, row.unit
    where = [r.scope(TASK_READ, u)]
    if unit is not None or spec.org_unit_id is not None:
        named = unit or r.alias("f")
        if spec.include_descendants:
            within = f"{u}.path >= {named}.path AND {u}.path < {subtree_end(f'{named}.path')}"
        else:
            within = f"{named}.id = {t}.org_unit_id"
        if unit is None:
            seen = r.scope(ORG_READ, named)
            within = (
                f"EXISTS (SELECT 1 FROM {UNITS} {named} WHERE {named}.id = {p(spec.org_unit_id)}"
                f" AND {seen} AND {within})"
            )
        where.append(within)
    if spec.parent_id is not None:
        where.append(f"{t}.parent_id = {p(spec.parent_id)}")
    if spec.statuses:
        listed = ", ".join(p(s.value) for s in spec.statuses)
        where.append(f"{t}.status IN ({listed})")
    if spec.categories:
        listed = ", ".join(p(c.value) for c in spec.categories)
        where.append(f"{t}.category IN ({listed})")
    if spec.assignee_id is not None:
        where.append(f"{t}.assignee_id = {p(spec.assignee_id)}")
    if spec.due_after is not None:
        where.append(f"{t}.due_at >= {p(r.dialect.moment(spec.due_after))}")
    if spec.due_before is not None:
        where.append(f"{t}.due_at < {p(r.dialect.moment(spec.due_before))}")
    if spec.overdue is not None:
        condition = overdue_sql(t, r.now)
        where.append(condition if spec.overdue else f"NOT {condition}")
    return where


@dataclass(frozen=True)
class Arguments:
    spec: TaskQuery
    direction: str
    page: PageArguments


def read_arguments(values: dict[str, Any]) -> Arguments:
    """The arguments as ``Query.tasks`` reads them; anything it would refuse is not ours."""
    order = values.get("order_by", TaskOrder.NEWEST)
    if order not in ID_ORDERS:
        raise NotCompilable("an order by instant")
    spec = read_filter(values, TaskFilter, _task_query)
    return Arguments(spec, ID_ORDERS[order], page_arguments(values, ORDERS[order]))


async def run_tasks(
    plan: ListPlan, values: dict[str, Any], r: Render, conn: BaseDBAsyncClient
) -> str:
    args = read_arguments(values)
    row = Row("t", "u")
    query = ListQuery(
        source=f"{TASKS} t JOIN {UNITS} u ON u.id = t.org_unit_id",
        row=row,
        table=TASKS,
        key="id",
        descending=args.direction == "DESC",
        where=" AND ".join(task_conditions(args.spec, row, r)),
        page=args.page,
    )
    return await run_list(plan, query, r, conn)


def _unit_task_query(given: TaskFilter | None) -> TaskQuery:
    """As ``OrgUnit.tasks`` reads its filter: an absent one is the filter's defaults (the
    unit's subtree), not the bare query of the root list."""
    return task_query(given or TaskFilter())


def unit_tasks(owner: Row, values: dict[str, Any], r: Render) -> PageSpec:
    """``OrgUnit.tasks``: ``list_tasks`` with the filter given and the unit itself (visible,
    as every unit the plan shows) in place of the filter's ``orgUnitId``, newest first (the
    other orders are left to the resolvers)."""
    if values.get("order_by", TaskOrder.NEWEST) is not TaskOrder.NEWEST:
        raise NotCompilable("a unit's tasks in another order than newest first")
    spec = replace(read_filter(values, TaskFilter, _unit_task_query), org_unit_id=None)
    return PageSpec(
        "Task",
        lambda row, r: task_conditions(spec, row, r, unit=owner.unit),
        NEWEST,
        page_arguments(values, NEWEST),
    )

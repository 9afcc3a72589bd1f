"""Reading tasks: one filter, always narrowed by the viewer's scope."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core.context import RequestContext
from models.enums import TaskCategory, TaskStatus
from models.paths import upper_bound
from models.task import Task, overdue_q
from policies.reporting import reporter_reads
from policies.rights import TASK_READ
from policies.scope import scope, scope_for
from resolvers.loaders import loaders
from resolvers.org import get_unit
from resolvers.pagination import OrderKey, Page, decode_cursor, page_size, paginate
from resolvers.subtree_pages import newest_task_ids, on_postgres, worth_it


@dataclass(frozen=True)
class TaskQuery:
    org_unit_id: int | None = None
    include_descendants: bool = False
    statuses: tuple[TaskStatus, ...] = ()
    categories: tuple[TaskCategory, ...] = ()
    assignee_id: int | None = None
    overdue: bool | None = None
    parent_id: int | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None


class TaskOrder(StrEnum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    DUE_SOONEST = "DUE_SOONEST"
    RECENTLY_CHANGED = "RECENTLY_CHANGED"


ORDERS = {
    TaskOrder.NEWEST: OrderKey(descending=True),
    TaskOrder.OLDEST: OrderKey(),
    TaskOrder.DUE_SOONEST: OrderKey(field="due_at", kind=datetime, nullable=True),
    TaskOrder.RECENTLY_CHANGED: OrderKey(field="updated_at", kind=datetime, descending=True),
}


async def filtered(context: RequestContext, spec: TaskQuery) -> QuerySet[Task] | None:
    """The scoped task query for ``spec``; None when the unit it names is not visible."""
    query = scope(Task.all(), context, TASK_READ)
    if spec.org_unit_id is not None:
        unit = await get_unit(context, spec.org_unit_id)
        if unit is None:
            return None
        if spec.include_descendants:
            query = query.filter(
                org_unit__path__gte=unit.path, org_unit__path__lt=upper_bound(unit.path)
            )
        else:
            query = query.filter(org_unit_id=unit.id)
    if spec.parent_id is not None:
        query = query.filter(parent_id=spec.parent_id)
    if spec.statuses:
        query = query.filter(status__in=[s.value for s in spec.statuses])
    if spec.categories:
        query = query.filter(category__in=[c.value for c in spec.categories])
    if spec.assignee_id is not None:
        query = query.filter(assignee_id=spec.assignee_id)
    if spec.due_after is not None:
        query = query.filter(due_at__gte=spec.due_after)
    if spec.due_before is not None:
        query = query.filter(due_at__lt=spec.due_before)
    if spec.overdue is not None:
        condition = overdue_q(datetime.now(UTC))
        query = query.filter(condition if spec.overdue else ~condition)
    return query


async def list_tasks(
    context: RequestContext,
    spec: TaskQuery,
    *,
    first: int | None,
    after: str | None,
    order: TaskOrder = TaskOrder.NEWEST,
) -> Page[Task]:
    query = await filtered(context, spec)
    if query is None:
        query = Task.filter(id__lt=0)
    within = None
    if order is TaskOrder.NEWEST and query_by_unit_only(spec) and on_postgres():
        within = await newest_page(context, spec, first, after)
    return await paginate(query, first=first, after=after, order=ORDERS[order], within=within)


# No person has this id (ids start at 1): the assignee of "nobody's tasks".
NOBODY = 0


async def list_my_tasks(
    context: RequestContext,
    spec: TaskQuery,
    *,
    first: int | None,
    after: str | None,
    order: TaskOrder = TaskOrder.NEWEST,
) -> Page[Task]:
    """The tasks assigned to the viewer's own person (``User.person``), read through the same
    filter and scope as every task list; none for an account without a person."""
    person = context.viewer.person_id if context.viewer is not None else None
    mine = person is not None and spec.assignee_id in (None, person)
    narrowed = replace(spec, assignee_id=person if mine else NOBODY)
    return await list_tasks(context, narrowed, first=first, after=after, order=order)


def query_by_unit_only(spec: TaskQuery) -> bool:
    """No condition on the tasks' own columns: the newest page is the subtree's newest."""
    return spec == TaskQuery(
        org_unit_id=spec.org_unit_id, include_descendants=spec.include_descendants
    )


async def newest_page(
    context: RequestContext, spec: TaskQuery, first: int | None, after: str | None
) -> Q | None:
    """The ids the newest page can hold, found unit by unit (``resolvers.subtree_pages``)."""
    size = page_size(first)
    if not size:
        return None
    unit_path = unit_id = None
    visible = scope_for(context, TASK_READ)
    subtrees = [r.prefix for r in visible.ranges]
    if spec.org_unit_id is not None:
        unit = await get_unit(context, spec.org_unit_id)  # loaded already: no statement
        if unit is None:
            return None
        unit_path, unit_id = (unit.path, None) if spec.include_descendants else (None, unit.id)
        subtrees = [unit.path] if spec.include_descendants else []
    if not worth_it(subtrees):
        return None
    order = ORDERS[TaskOrder.NEWEST]
    before = decode_cursor(after, 1, order)[0] if after else None
    ids = await newest_task_ids(visible, unit_path, unit_id, size + 1, before)
    return Q(id__in=ids)


async def get_task(context: RequestContext, task_id: int | None) -> Task | None:
    if task_id is None:
        return None
    task = await loaders(context).task.load(task_id)
    if task is None:
        return None
    unit = await loaders(context).unit.load(task.org_unit_id)
    if unit is None:
        return None
    if scope_for(context, TASK_READ).allows(unit.path, unit.level.value):
        return task
    return task if reporter_reads(context, task) else None  # one task, never a list

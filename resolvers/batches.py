"""Batched reads for nested fields: one query per relation per level, whatever the page size.

Each loader lives in the request's cache (see ``resolvers.loaders``) and answers every object
of one level of a GraphQL query with a single SQL statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count

from core.context import RequestContext
from models.audit import AuditEvent
from models.enums import TaskStatus
from models.org import OrgUnit
from models.record import AccountabilityRecord
from models.task import Task
from policies.rights import ORG_READ, RECORD_READ, TASK_READ
from policies.scope import scope
from resolvers.dataloader import DataLoader
from resolvers.pagination import OrderKey, Page, page_of

PageKey = tuple[int, int | None]  # parent id, page size


def grouped_pages(
    fetch: Callable[[list[int]], Awaitable[Sequence[Any]]], parent_field: str, order: OrderKey
) -> DataLoader[PageKey, Page[Any]]:
    """First pages of children for many parents: fetch all of them once, then slice."""

    async def load(keys: Sequence[PageKey]) -> list[Page[Any]]:
        rows = await fetch(sorted({parent for parent, _ in keys}))
        groups: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            groups[getattr(row, parent_field)].append(row)
        return [page_of(groups.get(parent, []), first, order) for parent, first in keys]

    return DataLoader(load_fn=load)


UNIT_ORDER = OrderKey(field="path", kind=str)
TASK_ORDER = OrderKey(descending=True)


def child_units(context: RequestContext) -> DataLoader[PageKey, Page[Any]]:
    async def fetch(parents: list[int]) -> Sequence[OrgUnit]:
        query = scope(OrgUnit.all(), context, ORG_READ, path_field="path", level_field="level")
        return await query.filter(parent_id__in=parents).order_by("path")

    return grouped_pages(fetch, "parent_id", UNIT_ORDER)


def subtasks(context: RequestContext) -> DataLoader[PageKey, Page[Any]]:
    async def fetch(parents: list[int]) -> Sequence[Task]:
        query = scope(Task.all(), context, TASK_READ)
        return await query.filter(parent_id__in=parents).order_by("-id")

    return grouped_pages(fetch, "parent_id", TASK_ORDER)


def task_records(context: RequestContext) -> DataLoader[PageKey, Page[Any]]:
    async def fetch(tasks: list[int]) -> Sequence[AccountabilityRecord]:
        query = scope(AccountabilityRecord.all(), context, RECORD_READ)
        return await query.filter(task_id__in=tasks).order_by("-id")

    return grouped_pages(fetch, "task_id", TASK_ORDER)


def task_histories() -> DataLoader[int, list[AuditEvent]]:
    """Every event of each task, oldest first, with its actor (the tasks were already found
    visible; what the events name is redacted for the viewer when they are shown)."""

    async def load(task_ids: Sequence[int]) -> list[list[AuditEvent]]:
        of_tasks = AuditEvent.in_chain().filter(
            entity_type="task", entity_id__in=[str(i) for i in set(task_ids)]
        )
        events = await of_tasks.order_by("seq")
        groups: dict[str, list[AuditEvent]] = defaultdict(list)
        for event in events:
            groups[event.entity_id].append(event)
        return [groups.get(str(i), []) for i in task_ids]

    return DataLoader(load_fn=load)


def subtask_statuses(context: RequestContext) -> DataLoader[int, list[TaskStatus]]:
    """The statuses of each task's subtasks the viewer may read, for progress."""

    async def load(parent_ids: Sequence[int]) -> list[list[TaskStatus]]:
        query = scope(Task.filter(parent_id__in=list(set(parent_ids))), context, TASK_READ)
        rows = await query.values_list("parent_id", "status")
        groups: dict[int, list[TaskStatus]] = defaultdict(list)
        for parent, status in rows:
            groups[int(parent)].append(TaskStatus(status))
        return [groups.get(i, []) for i in parent_ids]

    return DataLoader(load_fn=load)


def quota_counts(context: RequestContext) -> DataLoader[int, dict[str, int]]:
    """Records per type filed against each task, as corrected, among those the viewer may read.

    A record some later record corrects no longer counts; the correction counts where it was
    filed, so a correction can move a record onto or off a task without counting it twice.
    (A correction keeps its original's unit, so both are equally readable.)
    """

    async def load(task_ids: Sequence[int]) -> list[dict[str, int]]:
        superseded = AccountabilityRecord.filter(corrects_id__isnull=False).values("corrects_id")
        filed = AccountabilityRecord.filter(task_id__in=list(set(task_ids)))
        rows = (
            await scope(filed, context, RECORD_READ)
            .exclude(id__in=Subquery(superseded))
            .group_by("task_id", "type")
            .annotate(n=Count("id"))
            .values("task_id", "type", "n")
        )
        groups: dict[int, dict[str, int]] = defaultdict(dict)
        for row in rows:
            groups[int(row["task_id"])][str(row["type"])] = int(row["n"])
        return [groups.get(i, {}) for i in task_ids]

    return DataLoader(load_fn=load)

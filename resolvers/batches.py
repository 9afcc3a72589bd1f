"""Batched reads for nested fields: one query per relation per level, whatever the page size.

Each loader lives in the request's cache (see ``resolvers.loaders``) and answers every object
of one level of a GraphQL query with a single SQL statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from core.context import RequestContext
from models.audit import AuditEvent
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

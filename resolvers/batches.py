"""Batched reads for nested fields: one query per relation per level, whatever the page size.

Each loader lives in the request's cache (see ``resolvers.loaders``) and answers every object
of one level of a GraphQL query with a single SQL statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.expressions import Case, Q, Subquery, When
from tortoise.functions import Count

from models.audit import AuditEvent
from models.enums import TaskStatus
from models.org import OrgUnit
from models.paths import upper_bound
from models.record import AccountabilityRecord
from models.task import Task
from policies.scope import scope
from resolvers.context import RequestContext
from resolvers.pagination import OrderKey, Page, page_of
from resolvers.tasks import overdue_q

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
        query = scope(OrgUnit.all(), context, "org", path_field="path", level_field="level")
        return await query.filter(parent_id__in=parents).order_by("path")

    return grouped_pages(fetch, "parent_id", UNIT_ORDER)


def subtasks(context: RequestContext) -> DataLoader[PageKey, Page[Any]]:
    async def fetch(parents: list[int]) -> Sequence[Task]:
        query = scope(Task.all(), context, "task")
        return await query.filter(parent_id__in=parents).order_by("-id")

    return grouped_pages(fetch, "parent_id", TASK_ORDER)


def task_records(context: RequestContext) -> DataLoader[PageKey, Page[Any]]:
    async def fetch(tasks: list[int]) -> Sequence[AccountabilityRecord]:
        query = scope(AccountabilityRecord.all(), context, "record")
        return await query.filter(task_id__in=tasks).order_by("-id")

    return grouped_pages(fetch, "task_id", TASK_ORDER)


def task_histories() -> DataLoader[int, list[AuditEvent]]:
    """Every event of each task, oldest first (the tasks were already found visible)."""

    async def load(task_ids: Sequence[int]) -> list[list[AuditEvent]]:
        events = await AuditEvent.filter(
            entity_type="task", entity_id__in=[str(i) for i in set(task_ids)]
        ).order_by("seq")
        groups: dict[str, list[AuditEvent]] = defaultdict(list)
        for event in events:
            groups[event.entity_id].append(event)
        return [groups.get(str(i), []) for i in task_ids]

    return DataLoader(load_fn=load)


def subtask_statuses() -> DataLoader[int, list[TaskStatus]]:
    """The statuses of each task's subtasks, for progress."""

    async def load(parent_ids: Sequence[int]) -> list[list[TaskStatus]]:
        rows = await Task.filter(parent_id__in=list(set(parent_ids))).values_list(
            "parent_id", "status"
        )
        groups: dict[int, list[TaskStatus]] = defaultdict(list)
        for parent, status in rows:
            groups[int(parent)].append(TaskStatus(status))
        return [groups.get(i, []) for i in parent_ids]

    return DataLoader(load_fn=load)


def quota_counts() -> DataLoader[int, dict[str, int]]:
    """Records per type filed against each task, as corrected.

    A record some later record corrects no longer counts; the correction counts where it was
    filed, so a correction can move a record onto or off a task without counting it twice.
    """

    async def load(task_ids: Sequence[int]) -> list[dict[str, int]]:
        superseded = AccountabilityRecord.filter(corrects_id__isnull=False).values("corrects_id")
        rows = (
            await AccountabilityRecord.filter(task_id__in=list(set(task_ids)))
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


StatusCounts = tuple[dict[TaskStatus, int], int]  # by status, overdue
UnitKey = tuple[int, str]  # id, path


def _disjoint_groups(units: Sequence[UnitKey]) -> list[list[UnitKey]]:
    """Split units so that no group holds a unit and one of its ancestors."""
    groups: list[list[UnitKey]] = []
    for unit in sorted(set(units), key=lambda u: u[1]):
        for group in groups:
            if not any(unit[1].startswith(other[1]) for other in group):
                group.append(unit)
                break
        else:
            groups.append([unit])
    return groups


def task_stats(context: RequestContext) -> DataLoader[UnitKey, StatusCounts]:
    """Task counts per status (and overdue) over each unit's subtree, one query per batch.

    Each task is bucketed by the requested unit whose subtree holds it, in SQL (a CASE over
    the units' path ranges), so the rows returned are units × statuses, not tasks.
    """

    async def load(keys: Sequence[UnitKey]) -> list[StatusCounts]:
        results: dict[int, StatusCounts] = {}
        now = datetime.now(UTC)
        for group in _disjoint_groups(keys):
            ranges = [
                Q(org_unit__path__gte=path, org_unit__path__lt=upper_bound(path))
                for _, path in group
            ]
            rows = (
                await scope(Task.all(), context, "task")
                .filter(Q(*ranges, join_type="OR"))
                .annotate(
                    bucket=Case(
                        *(When(r, then=str(u)) for r, (u, _) in zip(ranges, group, strict=True)),
                        default="0",
                    ),
                    late=Case(When(overdue_q(now), then="1"), default="0"),
                )
                .group_by("bucket", "status", "late")
                .annotate(n=Count("id"))
                .values("bucket", "status", "late", "n")
            )
            by_unit: dict[int, dict[TaskStatus, int]] = {u: {} for u, _ in group}
            late: dict[int, int] = defaultdict(int)
            for row in rows:
                unit_id, n = int(row["bucket"]), int(row["n"])
                if unit_id not in by_unit:
                    continue
                status = TaskStatus(row["status"])
                by_unit[unit_id][status] = by_unit[unit_id].get(status, 0) + n
                if str(row["late"]) == "1":
                    late[unit_id] += n
            for unit_id, counts in by_unit.items():
                results[unit_id] = (counts, late[unit_id])
        return [results[unit_id] for unit_id, _ in keys]

    return DataLoader(load_fn=load)

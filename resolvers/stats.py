"""Counts over a subtree, narrowed by the same scope as every list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.functions import Count

from models.enums import TaskStatus
from models.org import OrgUnit
from models.paths import upper_bound
from models.task import Task
from policies.scope import scope
from resolvers.context import RequestContext
from resolvers.tasks import overdue_q


@dataclass(frozen=True)
class TaskCounts:
    total: int
    overdue: int
    by_status: dict[TaskStatus, int]


async def task_stats(context: RequestContext, unit: OrgUnit) -> TaskCounts:
    subtree = scope(Task.all(), context, "task").filter(
        org_unit__path__gte=unit.path, org_unit__path__lt=upper_bound(unit.path)
    )
    rows = await subtree.group_by("status").annotate(n=Count("id")).values("status", "n")
    overdue = await subtree.filter(overdue_q(datetime.now(UTC))).count()
    by_status = {TaskStatus(r["status"]): int(r["n"]) for r in rows}
    ordered = {s: by_status[s] for s in TaskStatus if s in by_status}
    return TaskCounts(total=sum(ordered.values()), overdue=overdue, by_status=ordered)

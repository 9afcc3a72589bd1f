"""How far a task has got: its share of verified subtasks, and its quota fulfilled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.enums import RecordType, TaskStatus
from models.record import AccountabilityRecord
from models.task import Task


async def subtask_progress(task: Task) -> float | None:
    """Verified subtasks over those not cancelled; None for a task never split."""
    statuses: list[Any] = await (
        Task.filter(parent_id=task.id)
        .exclude(status=TaskStatus.CANCELLED)
        .values_list("status", flat=True)
    )
    if not statuses:
        return None
    return sum(1 for s in statuses if s == TaskStatus.VERIFIED) / len(statuses)


@dataclass(frozen=True)
class QuotaProgress:
    target: int
    record_type: RecordType
    done: int


async def quota_progress(task: Task) -> QuotaProgress | None:
    """Records of the quota's type filed against the task; a correction does not count twice."""
    if task.quota_target is None or task.quota_record_type is None:
        return None
    done = await AccountabilityRecord.filter(
        task_id=task.id, type=task.quota_record_type, corrects_id=None
    ).count()
    return QuotaProgress(task.quota_target, task.quota_record_type, done)

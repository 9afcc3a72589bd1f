"""Splitting a task level by level (逐级分解) into subtasks for units below it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import CLOSED_STATUSES, AuditAction, AuditEntity
from models.task import Task
from policies.guard import Site, require_action
from policies.rights import TASK_DECOMPOSE
from resolvers.audit import append_event
from resolvers.task_commands import (
    NewTask,
    check_version,
    claim,
    insert_task,
    place_task,
    visible_task,
)

MAX_PARTS = 200


@dataclass(frozen=True)
class Part:
    """One subtask: the unit it goes to, and what differs from the parent."""

    org_unit_id: int
    title: str | None = None
    assignee_id: int | None = None
    due_at: datetime | None = None


async def decompose_task(
    context: RequestContext, task_id: int, parts: list[Part], expected_version: int | None
) -> list[Task]:
    """Create every subtask or none, each issued by the unit that received the parent."""
    task, unit, _ = await visible_task(context, task_id)
    require_action(context, TASK_DECOMPOSE, Site(unit), field="taskId")
    check_version(task, expected_version)
    if task.status in CLOSED_STATUSES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "That task is closed.", "taskId")
    if not 0 < len(parts) <= MAX_PARTS:
        raise DomainError(ErrorCode.VALIDATION, f"Give 1 to {MAX_PARTS} parts.", "parts")
    if len({p.org_unit_id for p in parts}) != len(parts):
        raise DomainError(ErrorCode.VALIDATION, "Each unit gets one part.", "parts")
    specs = []
    for part in parts:
        due = part.due_at or task.due_at
        if due is not None and task.due_at is not None and due > task.due_at:
            raise DomainError(
                ErrorCode.VALIDATION, "A subtask is due no later than its parent.", "parts"
            )
        spec = NewTask(
            title=part.title or task.title,
            category=task.category,
            org_unit_id=part.org_unit_id,
            description=task.description,
            assignee_id=part.assignee_id,
            due_at=due,
            parent_id=task.id,
        )
        specs.append((spec, await place_task(context, spec)))
    async with in_transaction() as conn:
        await claim(conn, task, "taskId")
        created = [
            await insert_task(conn, context, spec, placed, claim_parent=False)
            for spec, placed in specs
        ]
        await append_event(
            conn,
            context,
            action=AuditAction.TASK_DECOMPOSE,
            entity_type=AuditEntity.TASK,
            entity_id=task.id,
            org_path=unit.path,
            before={"version": task.version},
            after={"subtask_ids": [t.id for t in created], "version": task.version + 1},
        )
    return created

"""A task's holding side asks the level above to take it over (``escalateTask`` HAND_OVER).

The pressing of an overdue task (督办, ``resolvers.escalation``) goes down; a hand-over goes
up. The task stays where it is, with its chain: the hand-over is a new REPORTED task held by
the unit above the task's unit, linked to it (``hand_over_of``) and reported by whoever asked,
so that unit dispatches and closes it with feedback like any reported issue, and the asking
side reads that answer (``policies.reporting``) before it finishes its own task. An ESCALATION
record against the task keeps the request in the task's records. One open hand-over per task.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise.transactions import in_transaction

from core import clock
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.time_limits import TimeLimits, configured
from models.enums import CLOSED_STATUSES, AuditAction, AuditEntity, TaskStatus
from models.record import AccountabilityRecord
from models.task import Task
from policies.authority import acting_authority
from policies.guard import Site, require_action
from policies.rights import TASK_HAND_OVER
from resolvers.audit import append_event
from resolvers.escalation import file_escalation
from resolvers.reporting import NewReport, insert_report, receiving_unit
from resolvers.task_commands import MAX_NOTE, claim, visible_task


class EscalationMode(StrEnum):
    """``escalateTask``: the issuing side presses (督办), or the holding side hands over."""

    PRESS = "PRESS"
    HAND_OVER = "HAND_OVER"


async def hand_over(
    context: RequestContext, task_id: int, note: str, limits: TimeLimits | None = None
) -> tuple[AccountabilityRecord, Task]:
    """The ESCALATION record and the new task held above the task's unit."""
    task, unit, _ = await visible_task(context, task_id)
    require_action(context, TASK_HAND_OVER, Site(unit), field="taskId")
    if not note.strip() or len(note) > MAX_NOTE:
        raise DomainError(
            ErrorCode.VALIDATION, f"A hand-over needs a note of 1 to {MAX_NOTE} characters.", "note"
        )
    if task.status in CLOSED_STATUSES or task.status is TaskStatus.DRAFT:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "Only a task in hand can be handed over.", "taskId"
        )
    receiver = await receiving_unit(unit, "taskId")
    pending = (
        await Task.filter(hand_over_of_id=task.id)
        .exclude(status__in=[s.value for s in CLOSED_STATUSES])
        .exists()
    )
    if pending:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "A hand-over of this task is still open.", "taskId"
        )
    authority = acting_authority(context, TASK_HAND_OVER, unit)
    spec = NewReport(
        title=task.title,
        org_unit_id=unit.id,
        description=note.strip(),
        category=task.category,
        water_body_id=task.water_body_id,
        location=task.location,
        hand_over_of_id=task.id,
    )
    async with in_transaction() as conn:
        await claim(conn, task, "taskId")  # a concurrent hand-over of the same task fails
        taken = await insert_report(conn, context, spec, unit, receiver, limits or configured())
        record = await file_escalation(
            conn,
            context,
            task,
            unit,
            authority,
            at=clock.now(),
            note=note,
            details={
                "mode": "HAND_OVER",
                "status": task.status.value,
                "to_unit_id": receiver.id,
                "hand_over_task_id": taken.id,
            },
        )
        await append_event(
            conn,
            context,
            action=AuditAction.TASK_ESCALATE,
            entity_type=AuditEntity.TASK,
            entity_id=task.id,
            org_path=unit.path,
            after={
                "mode": "hand_over",
                "record_id": record.id,
                "hand_over_task_id": taken.id,
                "note": note.strip(),
            },
        )
    return record, taken

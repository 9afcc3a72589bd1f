"""Pressing an overdue task (督办): an ESCALATION record against the responsible unit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity, RecordType
from models.org import OrgUnit
from models.paths import path_ids
from models.record import AccountabilityRecord
from models.task import Task
from policies.authority import acting_authority
from policies.guard import Site, require_action
from policies.rights import TASK_MANAGE
from resolvers.audit import append_event
from resolvers.task_commands import MAX_NOTE, visible_task


async def file_escalation(
    conn: BaseDBAsyncClient,
    context: RequestContext,
    task: Task,
    unit: OrgUnit,
    authority: str | None,
    *,
    at: datetime,
    note: str,
    details: dict[str, Any],
) -> AccountabilityRecord:
    """The ESCALATION record against ``task`` at ``unit``, filed by the viewer under
    ``authority``, and its ``record.create`` event, in the caller's transaction: pressing a
    task and handing it over keep the request in the task's records alike."""
    viewer = context.viewer
    record = await AccountabilityRecord.create(
        created_at=at,
        type=RecordType.ESCALATION,
        org_unit_id=unit.id,
        author_id=viewer.id if viewer else None,
        authority_unit_id=path_ids(authority)[-1] if authority else None,
        person_id=viewer.person_id if viewer else None,
        task_id=task.id,
        occurred_at=at,
        summary=note.strip()[:500],
        details=details,
        using_db=conn,
    )
    await append_event(
        conn,
        context,
        action=AuditAction.RECORD_CREATE,
        entity_type=AuditEntity.RECORD,
        entity_id=record.id,
        org_path=unit.path,
        after={"type": RecordType.ESCALATION.value, "task_id": task.id, "authority": authority},
    )
    return record


async def escalate_task(context: RequestContext, task_id: int, note: str) -> AccountabilityRecord:
    """Only an overdue task is escalated, by the side that issued it."""
    task, unit, issuer = await visible_task(context, task_id)
    require_action(context, TASK_MANAGE, Site(unit, issuer), field="taskId")
    if not note.strip() or len(note) > MAX_NOTE:
        raise DomainError(
            ErrorCode.VALIDATION,
            f"An escalation needs a note of 1 to {MAX_NOTE} characters.",
            "note",
        )
    authority = acting_authority(context, TASK_MANAGE, issuer)
    now = datetime.now(UTC)
    due = task.due_at
    if due is None or not task.is_overdue(now):
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "Only an overdue task can be escalated.", "taskId"
        )
    async with in_transaction() as conn:
        record = await file_escalation(
            conn,
            context,
            task,
            unit,
            authority,
            at=now,
            note=note,
            details={
                "due_at": due.isoformat(),
                "days_overdue": (now - due).days,
                "status": task.status.value,
                "issuer_unit_id": issuer.id,
            },
        )
        await append_event(
            conn,
            context,
            action=AuditAction.TASK_ESCALATE,
            entity_type=AuditEntity.TASK,
            entity_id=task.id,
            org_path=unit.path,
            after={"record_id": record.id, "note": note.strip()},
        )
    return record

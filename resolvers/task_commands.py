"""Creating, reassigning and moving tasks through their workflow.

Every command runs in one transaction with its audit event and the change to the dashboards'
task counters (``resolvers.task_counters``). Optimistic locking: the update
only applies where ``version`` is still what the command read, so two concurrent changes
never both apply and a client's stale ``expectedVersion`` is a ``CONFLICT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core import clock
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.audit import AuditEvent
from models.enums import (
    CLOSED_STATUSES,
    AuditAction,
    AuditEntity,
    RecordType,
    TaskCategory,
    TaskStatus,
)
from models.org import OrgUnit
from models.paths import upper_bound
from models.people import Person
from models.task import Task
from policies.explain import explain
from policies.guard import Site, require, require_action
from policies.rights import TASK_ASSIGN, TASK_ASSIGN_TO, TASK_CREATE
from resolvers import feedback as feedback_rules
from resolvers.audit import append_event
from resolvers.notifications import task_assigned, task_changed
from resolvers.org import get_unit
from resolvers.people import visible_person
from resolvers.quota import check_period, default_period, require_quota_met
from resolvers.task_chain import require_subtasks_closed, start_parents
from resolvers.task_counters import count_change
from resolvers.tasks import get_task
from resolvers.workflow import RETURN_WINDOW, TRANSITIONS, TaskAction

MAX_TITLE = 200
MAX_NOTE = 2000


def snapshot(task: Task) -> dict[str, Any]:
    return {
        "status": task.status.value,
        "org_unit_id": task.org_unit_id,
        "issuer_unit_id": task.issuer_unit_id,
        "assignee_id": task.assignee_id,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "version": task.version,
        **({"feedback": task.feedback} if task.feedback else {}),
    }


def quota_of(task: Task) -> dict[str, Any]:
    """A quota task's quota as its creation records it; nothing for a task without one."""
    if task.quota_target is None or task.quota_record_type is None:
        return {}
    period = [d.isoformat() if d else None for d in (task.quota_from, task.quota_to)]
    quota = {"target": task.quota_target, "record_type": task.quota_record_type.value}
    return {"quota": {**quota, "period": {"from": period[0], "to": period[1]}}}


async def log_created(
    conn: BaseDBAsyncClient,
    context: RequestContext | None,
    task: Task,
    unit: OrgUnit,
    **origin: Any,
) -> None:
    """The ``task.create`` event of a new task held at ``unit``, and its unit's counters.

    Every way a task comes to be (issued, reported, complained of) records the same picture of
    it; ``origin`` adds what that way knows (a quota, the report's or complaint's sources).
    """
    await append_event(
        conn,
        context,
        action=AuditAction.TASK_CREATE,
        entity_type=AuditEntity.TASK,
        entity_id=task.id,
        org_path=unit.path,
        after={"title": task.title, "parent_id": task.parent_id, **snapshot(task), **origin},
    )
    await count_change(conn, None, task)


@dataclass(frozen=True)
class NewTask:
    title: str
    category: TaskCategory
    org_unit_id: int
    description: str = ""
    assignee_id: int | None = None
    due_at: datetime | None = None
    parent_id: int | None = None
    quota_target: int | None = None
    quota_record_type: RecordType | None = None
    quota_from: date | None = None  # with ``quota_to``: the period; default the creation's year
    quota_to: date | None = None


async def _unit(context: RequestContext, unit_id: int, field: str) -> OrgUnit:
    unit = await get_unit(context, unit_id)
    if unit is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", field)
    return unit


async def _assignee(context: RequestContext, person_id: int | None, unit: OrgUnit) -> Person | None:
    if person_id is None:
        return None
    person = await visible_person(context, await Person.get_or_none(id=person_id))
    if person is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such person.", "assigneeId")
    home = await OrgUnit.get(id=person.org_unit_id)
    if not home.path.startswith(unit.path):
        raise DomainError(
            ErrorCode.VALIDATION, "The assignee must belong to the task's unit.", "assigneeId"
        )
    return person


def _validate(spec: NewTask) -> None:
    if not spec.title.strip() or len(spec.title) > MAX_TITLE:
        raise DomainError(
            ErrorCode.VALIDATION, f"A title has 1 to {MAX_TITLE} characters.", "title"
        )
    if (spec.quota_target is None) != (spec.quota_record_type is None):
        raise DomainError(
            ErrorCode.VALIDATION, "A quota needs both a target and a record type.", "quotaTarget"
        )
    if spec.quota_target is not None and not 0 < spec.quota_target <= 10_000:
        raise DomainError(ErrorCode.VALIDATION, "A quota target is 1 to 10000.", "quotaTarget")
    check_period(spec.quota_from, spec.quota_to, spec.quota_target is not None)


async def _issuer_for(
    context: RequestContext, spec: NewTask, unit: OrgUnit
) -> tuple[OrgUnit, Task | None]:
    """A subtask is issued by the unit that received its parent; otherwise by the creator's."""
    if spec.parent_id is not None:
        parent = await get_task(context, spec.parent_id)
        if parent is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such task.", "parentId")
        if parent.status in CLOSED_STATUSES:
            raise DomainError(ErrorCode.INVALID_TRANSITION, "That task is closed.", "parentId")
        issuer = await OrgUnit.get(id=parent.org_unit_id)
        if not unit.path.startswith(issuer.path) or unit.id == issuer.id:
            raise DomainError(
                ErrorCode.VALIDATION,
                "Subtasks go to units below the parent task's unit.",
                "orgUnitId",
            )
        return issuer, parent
    return await _issuing_unit(context, unit), None


async def _issuing_unit(context: RequestContext, unit: OrgUnit) -> OrgUnit:
    """The unit where the creator's deciding grant sits: the creator's own side.

    A township head issues from the township, a department head from the department even to
    its paired village, so the issuing side is always one the creator can see and verify for.
    """
    if context.viewer is not None:
        found = explain(context.policy, context.viewer.id, TASK_CREATE, unit)
        if found.grant is not None:
            granted = await OrgUnit.get_or_none(path=found.grant.prefix)
            if granted is not None:
                return granted
    return await OrgUnit.get(id=unit.parent_id) if unit.parent_id else unit


@dataclass(frozen=True)
class Placement:
    """Where a new task goes, checked: its unit, issuing unit, parent and assignee."""

    unit: OrgUnit
    issuer: OrgUnit
    parent: Task | None
    assignee: Person | None


async def place_task(context: RequestContext, spec: NewTask) -> Placement:
    """Validate a new task and decide its issuer; nothing is written yet."""
    _validate(spec)
    unit = await _unit(context, spec.org_unit_id, "orgUnitId")
    require(context, TASK_CREATE, Site(unit), field="orgUnitId")
    issuer, parent = await _issuer_for(context, spec, unit)
    assignee = await _assignee(context, spec.assignee_id, unit)
    return Placement(unit, issuer, parent, assignee)


async def claim(conn: BaseDBAsyncClient, task: Task, field: str) -> None:
    """Bump the version of a task a change depends on, unless it moved since it was read.

    Adding subtasks changes what their parent may do next (it cannot be verified before
    them), so a parent that changed meanwhile is a ``CONFLICT``, and a concurrent change of
    the parent that read the old version fails in turn.
    """
    updated = (
        await Task.filter(id=task.id, version=task.version)
        .using_db(conn)
        .update(version=F("version") + 1, updated_at=clock.now())
    )
    if not updated:
        raise DomainError(ErrorCode.CONFLICT, "The task changed meanwhile: reload it.", field)


async def insert_task(
    conn: BaseDBAsyncClient,
    context: RequestContext,
    spec: NewTask,
    placed: Placement,
    *,
    claim_parent: bool = True,
) -> Task:
    """Write a placed task and its ``task.create`` event inside the caller's transaction.

    A subtask claims its parent (see ``claim``) unless the caller already did.
    """
    if placed.parent is not None and claim_parent:
        await claim(conn, placed.parent, "parentId")
    created_at = clock.now()
    period: tuple[date | None, date | None] = (None, None)
    if spec.quota_target is not None:
        period = (spec.quota_from, spec.quota_to)
        if spec.quota_from is None:
            period = default_period(created_at)
    task = await Task.create(
        created_at=created_at,
        title=spec.title.strip(),
        description=spec.description,
        category=spec.category,
        status=TaskStatus.ASSIGNED,
        org_unit_id=placed.unit.id,
        issuer_unit_id=placed.issuer.id,
        issued_by_id=context.viewer.id if context.viewer else None,
        assignee_id=placed.assignee.id if placed.assignee else None,
        parent_id=placed.parent.id if placed.parent else None,
        due_at=spec.due_at,
        quota_target=spec.quota_target,
        quota_record_type=spec.quota_record_type,
        quota_from=period[0],
        quota_to=period[1],
        using_db=conn,
    )
    await log_created(conn, context, task, placed.unit, **quota_of(task))
    await task_assigned(conn, context, task)
    return task


async def create_task(context: RequestContext, spec: NewTask) -> Task:
    placed = await place_task(context, spec)
    async with in_transaction() as conn:
        return await insert_task(conn, context, spec, placed)


async def visible_task(context: RequestContext, task_id: int) -> tuple[Task, OrgUnit, OrgUnit]:
    """The task with its unit and issuing unit, or ``NOT_FOUND`` outside the viewer's scope."""
    task = await get_task(context, task_id)
    if task is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such task.", "taskId")
    unit = await OrgUnit.get(id=task.org_unit_id)
    issuer = await OrgUnit.get(id=task.issuer_unit_id)
    return task, unit, issuer


def check_version(task: Task, expected: int | None) -> None:
    if expected is not None and expected != task.version:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The task changed (version {task.version}, not {expected}): reload it.",
            "expectedVersion",
        )


async def apply_change(
    context: RequestContext,
    task: Task,
    changes: dict[str, Any],
    *,
    action: AuditAction,
    path: str,
    note: str | None = None,
    claiming: Task | None = None,
) -> Task:
    """Apply ``changes`` if the task is still at the version read, with its audit event;
    ``claiming`` is a task the change depends on (see ``claim``)."""
    before = snapshot(task)
    async with in_transaction() as conn:
        if claiming is not None:
            await claim(conn, claiming, "orgUnitId")
        updated = (
            await Task.filter(id=task.id, version=task.version)
            .using_db(conn)
            .update(**changes, version=F("version") + 1, updated_at=clock.now())
        )
        if not updated:
            raise DomainError(
                ErrorCode.CONFLICT, "The task changed meanwhile: reload it.", "taskId"
            )
        fresh: Task = await Task.get(id=task.id, using_db=conn)
        after = snapshot(fresh)
        if note:
            after["note"] = note
        await append_event(
            conn,
            context,
            action=action,
            entity_type=AuditEntity.TASK,
            entity_id=task.id,
            org_path=path,
            before=before,
            after=after,
        )
        await count_change(conn, task, fresh)
        if action is AuditAction.TASK_START:
            await start_parents(conn, context, fresh, snapshot)
        await task_changed(conn, context, action, task, fresh, note)
    return fresh


async def received_at(task: Task) -> datetime:
    """When the task last reached its holder: created, or (re)assigned.

    Urges, replies and other changes leave it alone, so they never reopen the return window.
    """
    event = (
        await AuditEvent.in_chain()
        .filter(
            entity_type=AuditEntity.TASK,
            entity_id=str(task.id),
            action__in=["task.create", "task.assign"],
        )
        .order_by("-seq")
        .first()
        .values("at")
    )
    found: datetime = event["at"] if event else task.created_at
    return found


async def transition_task(
    context: RequestContext,
    task_id: int,
    action: TaskAction,
    note: str | None,
    expected_version: int | None,
    feedback: str | None = None,
) -> Task:
    if note is not None and len(note) > MAX_NOTE:
        raise DomainError(
            ErrorCode.VALIDATION, f"A note has at most {MAX_NOTE} characters.", "note"
        )
    task, unit, issuer = await visible_task(context, task_id)
    rule = TRANSITIONS[action]
    require_action(context, rule.right, Site(unit, issuer), field="action")
    check_version(task, expected_version)
    if task.status not in feedback_rules.sources(task, action, rule):
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"Cannot {action.value} a task that is {task.status.value}.",
            "action",
        )
    viewer_id = context.viewer.id if context.viewer else None
    changes: dict[str, Any] = feedback_rules.feedback_changes(task, action, feedback)
    if action is TaskAction.VERIFY:
        if task.submitted_by_id is not None and task.submitted_by_id == viewer_id:
            raise DomainError(
                ErrorCode.FORBIDDEN, "Nobody verifies their own submission.", "action"
            )
        await require_subtasks_closed(task, "verify")
        await require_quota_met(task)
    if action is TaskAction.SUBMIT:
        await require_subtasks_closed(task, "submit")
    if action is TaskAction.RETURN and clock.now() - await received_at(task) > RETURN_WINDOW:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "A task can be returned within 24 hours only.", "action"
        )
    if (action in (TaskAction.URGE, TaskAction.REPLY)) and not (note or "").strip():
        raise DomainError(ErrorCode.VALIDATION, "An urge or a reply needs a note.", "note")
    if rule.target is not None:
        changes["status"] = rule.target
    if action is TaskAction.SUBMIT:
        changes["submitted_by_id"] = viewer_id
    if rule.target in CLOSED_STATUSES:
        changes["closed_at"] = clock.now()
    return await apply_change(
        context,
        task,
        changes,
        action=AuditAction(f"task.{action.value.lower()}"),
        path=unit.path,
        note=note,
    )


async def _check_move(task: Task, target: OrgUnit) -> Task | None:
    """A task and its open subtasks stay together when it moves: refuse a move that would
    leave an open subtask outside the new unit's subtree, or take a subtask out of its
    parent's. Returns the parent, which the move claims (see ``claim``), so a concurrent move
    of the parent and of one of its subtasks cannot both apply.
    """
    outside = Q(org_unit__path__lt=target.path) | Q(org_unit__path__gte=upper_bound(target.path))
    strays = (
        await Task.filter(outside, parent_id=task.id)
        .exclude(status__in=[s.value for s in CLOSED_STATUSES])
        .exists()
    )
    if strays:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            "Open subtasks would be left outside that unit: close them or move them into it first.",
            "orgUnitId",
        )
    if task.parent_id is None:
        return None
    parent = await Task.get(id=task.parent_id)
    home = await OrgUnit.get(id=parent.org_unit_id)
    if not target.path.startswith(home.path):
        raise DomainError(
            ErrorCode.VALIDATION, "A subtask stays at or below its parent task's unit.", "orgUnitId"
        )
    return parent


async def assign_task(
    context: RequestContext,
    task_id: int,
    org_unit_id: int | None,
    assignee_id: int | None,
    expected_version: int | None,
) -> Task:
    """Hand a task to a person, or move it to another unit below its issuer.

    A move keeps a task's open subtasks inside its new subtree (``_check_move``).
    """
    task, unit, issuer = await visible_task(context, task_id)
    require_action(context, TASK_ASSIGN, Site(unit, issuer), field="taskId")
    check_version(task, expected_version)
    if task.status in CLOSED_STATUSES:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "That task is closed.", "taskId")
    target = unit
    if org_unit_id is not None:
        target = await _unit(context, org_unit_id, "orgUnitId")
        if not target.path.startswith(issuer.path):
            raise DomainError(
                ErrorCode.VALIDATION,
                "A task goes to the issuing unit or a unit below it.",
                "orgUnitId",
            )
        require(context, TASK_ASSIGN_TO, Site(target), field="orgUnitId")
    parent = await _check_move(task, target) if target.id != unit.id else None
    person = await _assignee(context, assignee_id, target)
    changes: dict[str, Any] = {
        "org_unit_id": target.id,
        "assignee_id": person.id if person else None,
    }
    if task.status in (TaskStatus.DRAFT, TaskStatus.REJECTED) or target.id != unit.id:
        changes["status"] = TaskStatus.ASSIGNED
    return await apply_change(
        context, task, changes, action=AuditAction.TASK_ASSIGN, path=target.path, claiming=parent
    )

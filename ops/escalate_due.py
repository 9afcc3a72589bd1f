"""``riverchief escalate-due``: reported tasks past a stage's time limit are escalated, once.

A REPORTED task (or a complaint) that its unit has not dispatched within the dispatch limit,
or not closed by its due date (the handle limit, ``core.time_limits``), gets an ESCALATION
record against its unit, addressed to the unit above it, with its ``task.escalate`` audit event
(no actor: the service did it), and a ``TASK_URGED`` notice (督办) to the task's holder and to
the unit above. Each task is escalated at most once per stage: a row of
``task_time_limit_escalation`` (unique per task and stage) is written in the same transaction,
and the notice is keyed by the task and stage too.

Safe to run from several processes at once (cron on each host, or ``serve
--escalate-every``): on PostgreSQL each task is claimed with ``SELECT … FOR UPDATE SKIP
LOCKED``, so one process escalates it and the others pass it by; on SQLite there is one writer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import clock
from core.settings import Settings
from core.time_limits import Stage, TimeLimitError, TimeLimits, configured
from models.enums import CLOSED_STATUSES, AuditAction, AuditEntity, RecordType, TaskStatus
from models.org import OrgUnit
from models.record import AccountabilityRecord
from models.task import Task, TimeLimitEscalation
from ops.runtime import EXIT_OK, CommandError, opened, run, say
from policies.reporting import ANSWERED_ORIGINS
from resolvers.audit import append_event
from resolvers.notifications import local, task_escalated

log = logging.getLogger("riverchief.escalate_due")

UNDISPATCHED = frozenset({TaskStatus.DRAFT, TaskStatus.ASSIGNED})


@dataclass(frozen=True)
class Due:
    """One task past one stage's limit, and since when."""

    task_id: int
    stage: Stage
    deadline: datetime
    hours: float


def stage_deadline(
    task: Task, stage: Stage, limits: TimeLimits, dispatched: bool
) -> datetime | None:
    """When ``task`` overstays ``stage``, or None if that stage is behind it."""
    if task.status in CLOSED_STATUSES:
        return None
    if stage is Stage.DISPATCH:
        if dispatched or task.status not in UNDISPATCHED or task.assignee_id is not None:
            return None
        return task.created_at + limits.limit(task.category, Stage.DISPATCH, task.origin)
    return task.due_at or task.created_at + limits.limit(task.category, Stage.HANDLE, task.origin)


async def _dispatched(task_ids: list[int]) -> set[int]:
    rows = await Task.filter(parent_id__in=task_ids).distinct().values("parent_id")
    return {int(r["parent_id"]) for r in rows}


async def due_items(now: datetime, limits: TimeLimits) -> list[Due]:
    """Every (task, stage) past its limit and not escalated yet."""
    open_tasks = await Task.filter(
        origin__in=[o.value for o in ANSWERED_ORIGINS], created_at__lt=now
    ).exclude(status__in=[s.value for s in CLOSED_STATUSES])
    if not open_tasks:
        return []
    ids = [t.id for t in open_tasks]
    dispatched = await _dispatched(ids)
    done = set(await TimeLimitEscalation.filter(task_id__in=ids).values_list("task_id", "stage"))
    found = []
    for task in open_tasks:
        for stage in Stage:
            if (task.id, stage.value) in done:
                continue
            deadline = stage_deadline(task, stage, limits, task.id in dispatched)
            if deadline is not None and deadline < now:
                hours = limits.limit(task.category, stage, task.origin).total_seconds() / 3600
                found.append(Due(task.id, stage, deadline, hours))
    return found


SUMMARY = {
    Stage.DISPATCH: "Not dispatched within {hours:g} h of being reported: escalated.",
    Stage.HANDLE: "Not closed by its due date ({hours:g} h after being reported): escalated.",
}
# The notice's body, in the programmes' words.
NOTICE = {
    Stage.DISPATCH: "任务“{title}”接报后{hours:g}小时内未分派，已提请上级督办，请尽快办理。",
    Stage.HANDLE: "任务“{title}”未在{deadline}前办结，已提请上级督办，请尽快办理。",
}


def escalation_key(task_id: int, stage: Stage) -> str:
    """The notice of one (task, stage) escalation is written once per account."""
    return f"escalate:{task_id}:{stage.value}"


async def escalate(item: Due, now: datetime, limits: TimeLimits) -> bool:
    """Escalate one item in its own transaction; False when another process has it or had it."""
    try:
        async with in_transaction() as conn:
            if conn.capabilities.dialect == "postgres":
                claimed = await conn.execute_query_dict(
                    "SELECT id FROM task WHERE id = $1 FOR UPDATE SKIP LOCKED", [item.task_id]
                )
                if not claimed:
                    return False  # another process is escalating it right now
            taken = (
                await TimeLimitEscalation.filter(task_id=item.task_id, stage=item.stage.value)
                .using_db(conn)
                .exists()
            )
            task = await Task.get(id=item.task_id, using_db=conn)
            dispatched = await Task.filter(parent_id=task.id).using_db(conn).exists()
            deadline = stage_deadline(task, item.stage, limits, dispatched)
            if taken or deadline is None or deadline >= now:
                return False
            unit = await OrgUnit.get(id=task.org_unit_id, using_db=conn)
            above = unit.parent_id
            to_unit = await OrgUnit.get(id=above, using_db=conn) if above is not None else None
            record = await AccountabilityRecord.create(
                created_at=now,
                type=RecordType.ESCALATION,
                org_unit_id=unit.id,
                author_id=None,
                authority_unit_id=above,
                task_id=task.id,
                occurred_at=now,
                summary=SUMMARY[item.stage].format(hours=item.hours),
                details={
                    "mode": "TIME_LIMIT",
                    "stage": item.stage.value,
                    "limit_hours": item.hours,
                    "deadline": deadline.isoformat(),
                    "status": task.status.value,
                    "to_unit_id": above,
                },
                using_db=conn,
            )
            await TimeLimitEscalation.create(
                task_id=task.id, stage=item.stage.value, record_id=record.id, at=now, using_db=conn
            )
            await append_event(
                conn,
                None,
                action=AuditAction.RECORD_CREATE,
                entity_type=AuditEntity.RECORD,
                entity_id=record.id,
                org_path=unit.path,
                after={"type": RecordType.ESCALATION.value, "task_id": task.id},
            )
            await append_event(
                conn,
                None,
                action=AuditAction.TASK_ESCALATE,
                entity_type=AuditEntity.TASK,
                entity_id=task.id,
                org_path=unit.path,
                after={"mode": "time_limit", "stage": item.stage.value, "record_id": record.id},
            )
            body = NOTICE[item.stage].format(
                title=task.title, hours=item.hours, deadline=local(deadline)
            )
            await task_escalated(conn, task, to_unit, body, escalation_key(task.id, item.stage))
    except IntegrityError:  # the unique row: another writer got there first
        return False
    return True


async def escalate_due(now: datetime | None = None, limits: TimeLimits | None = None) -> int:
    """Escalate every item past its limit; the number this run escalated."""
    moment = now or clock.now()
    rules = limits or configured()
    escalated = 0
    for item in await due_items(moment, rules):
        if await escalate(item, moment, rules):
            escalated += 1
    if escalated:
        log.info("escalated %d reported task stage(s) past their time limit", escalated)
    return escalated


async def escalate_every(seconds: float) -> None:
    """``serve --escalate-every``: run the job every ``seconds`` until cancelled."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await escalate_due()
        except Exception:  # the next round tries again; the server keeps serving
            log.exception("escalate-due failed")


def cmd_escalate_due(settings: Settings, args: argparse.Namespace) -> int:
    try:
        limits = configured()
    except TimeLimitError as error:
        raise CommandError(str(error)) from None

    async def work() -> int:
        async with opened(settings):
            count = await escalate_due(limits=limits)
        if args.json:
            say(json.dumps({"escalated": count}))
        else:
            say(f"escalated {count} reported task stage(s) past their time limit")
        return EXIT_OK

    return run(work)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "escalate-due",
        help="escalate reported tasks past a stage's time limit (once per stage)",
        description=(__doc__ or "").split("\n\n", 1)[1],
        epilog="Exit status: 0 done (whether or not anything was due), 2 the command could "
        "not run.",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(func=cmd_escalate_due)

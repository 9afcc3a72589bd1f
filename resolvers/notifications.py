"""What a task change tells whom, in the words the programmes use (新任务, 督办, 退回).

Each function runs inside the transaction of the change (``resolvers.task_commands`` calls
them), so the notices exist exactly when the change committed. The account that made the
change is never told of it.

- a task handed to a unit or a person (created, decomposed, reassigned): ``TASK_ASSIGNED`` to
  its holder — the assignee's accounts, or the accounts that work tasks at its unit;
- ``URGE`` (督办): ``TASK_URGED`` to the holder, with the urge's note; a reported task past a
  stage's time limit (``riverchief escalate-due``): ``TASK_URGED`` to the holder and to the unit
  above it, which the task was escalated to;
- ``RETURN`` (the holder hands it back): ``TASK_RETURNED`` to the issuing side — the account
  that issued it, or the accounts at the issuing unit; ``REJECT`` (the issuing side sends a
  submission back): ``TASK_RETURNED`` to the holder.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from core.context import RequestContext
from core.notify_settings import LOCAL_TIME
from models.enums import AuditAction
from models.notification import Notification, NotificationKind
from models.org import OrgUnit
from models.task import Task
from resolvers.outbox import Recipients, accounts_of, notify


def local(moment: datetime) -> str:
    """A moment as the programmes write it: ``2026年12月10日 18:00`` (Beijing time); at the
    calendar's edge (year 9999), where Beijing time is past the last day, in UTC."""
    try:
        return moment.astimezone(LOCAL_TIME).strftime("%Y年%m月%d日 %H:%M")
    except OverflowError:
        return moment.astimezone(UTC).strftime("%Y年%m月%d日 %H:%M UTC")


def _actor(context: RequestContext | None) -> set[int | None]:
    """The account that made the change: never told of it."""
    return {context.viewer.id} if context is not None and context.viewer is not None else set()


async def holders(conn: BaseDBAsyncClient, task: Task) -> Recipients:
    """Who holds a task: its assignee's accounts, or (none) those working tasks at its unit."""
    if task.assignee_id is not None:
        people = Recipients(people=(task.assignee_id,))
        if await accounts_of(conn, people):
            return people
    return Recipients(units=(await OrgUnit.get(id=task.org_unit_id, using_db=conn),))


async def issuing_side(conn: BaseDBAsyncClient, task: Task) -> Recipients:
    """Who issued a task: the account that did, or (none) those at the issuing unit."""
    if task.issued_by_id is not None:
        return Recipients(users=(task.issued_by_id,))
    return Recipients(units=(await OrgUnit.get(id=task.issuer_unit_id, using_db=conn),))


async def tell(
    conn: BaseDBAsyncClient,
    kind: NotificationKind,
    task: Task,
    to: Recipients,
    *,
    heading: str,
    body: str,
    at_unit: int | None = None,
    skip: Collection[int | None] = (),
    key: str | None = None,
) -> list[int]:
    """A notice about ``task`` titled ``<heading>：<task title>``, filed at the task's unit (or
    ``at_unit``): the one shape of every task notice; returns the accounts written to."""
    return await notify(
        conn,
        kind,
        to,
        title=f"{heading}：{task.title}",
        body=body,
        task_id=task.id,
        org_unit_id=task.org_unit_id if at_unit is None else at_unit,
        skip=skip,
        key=key,
    )


async def task_assigned(
    conn: BaseDBAsyncClient, context: RequestContext | None, task: Task, *, again: bool = False
) -> None:
    """``TASK_ASSIGNED`` (新任务) to the task's holder; ``again`` (handed to a person at the
    same unit) leaves out the accounts already told of the task."""
    skip = _actor(context)
    if again:
        skip |= {
            int(row[0])
            for row in await Notification.filter(
                task_id=task.id, kind=NotificationKind.TASK_ASSIGNED
            )
            .using_db(conn)
            .values_list("recipient_id")
        }
    issuer = await OrgUnit.get(id=task.issuer_unit_id, using_db=conn)
    due = f"，请于{local(task.due_at)}前完成" if task.due_at is not None else ""
    await tell(
        conn,
        NotificationKind.TASK_ASSIGNED,
        task,
        await holders(conn, task),
        heading="新任务",
        body=f"{issuer.name}交办任务“{task.title}”{due}。",
        skip=skip,
    )


async def task_escalated(
    conn: BaseDBAsyncClient, task: Task, to_unit: OrgUnit | None, body: str, key: str
) -> list[int]:
    """``TASK_URGED`` (督办) for a task the service escalated past a time limit: to its holder
    and to the unit it was escalated to, once per ``key`` (the task and stage)."""
    held = await holders(conn, task)
    above = (to_unit,) if to_unit is not None else ()
    return await tell(
        conn,
        NotificationKind.TASK_URGED,
        task,
        Recipients(users=held.users, people=held.people, units=held.units + above),
        heading="督办",
        body=body,
        key=key,
    )


async def task_changed(
    conn: BaseDBAsyncClient,
    context: RequestContext | None,
    action: AuditAction,
    before: Task,
    after: Task,
    note: str | None,
) -> None:
    """The notice a change of ``before`` into ``after`` by ``action`` gives, if any."""
    said = f"：{note.strip()}" if note and note.strip() else "。"
    if action is AuditAction.TASK_ASSIGN:
        if before.org_unit_id != after.org_unit_id:
            await task_assigned(conn, context, after)
        elif before.assignee_id != after.assignee_id:
            await task_assigned(conn, context, after, again=True)
    elif action is AuditAction.TASK_URGE:
        await tell(
            conn,
            NotificationKind.TASK_URGED,
            after,
            await holders(conn, after),
            heading="督办",
            body=f"上级督办任务“{after.title}”{said}",
            skip=_actor(context),
        )
    elif action is AuditAction.TASK_RETURN:
        unit = await OrgUnit.get(id=after.org_unit_id, using_db=conn)
        await tell(
            conn,
            NotificationKind.TASK_RETURNED,
            after,
            await issuing_side(conn, after),
            heading="任务退回",
            body=f"{unit.name}退回任务“{after.title}”{said}",
            at_unit=after.issuer_unit_id,
            skip=_actor(context),
        )
    elif action is AuditAction.TASK_REJECT:
        await tell(
            conn,
            NotificationKind.TASK_RETURNED,
            after,
            await holders(conn, after),
            heading="任务被驳回",
            body=f"提交的任务“{after.title}”未通过验收，请整改后重新提交{said}",
            skip=_actor(context),
        )

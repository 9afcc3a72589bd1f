"""The periodic reminders ``riverchief notify-due`` writes: overdue tasks and clean-up days.

Both are idempotent: a task is reminded once per due date (a later, extended due date that
passes reminds again), and a clean-up day once per account and day, however often the job
runs and however many processes run it at once (``notify``'s ``key``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.transactions import in_transaction

from core import clock
from core.notify_settings import LOCAL_TIME, WEEKDAYS
from models.notification import Notification, NotificationKind
from models.org import OrgUnit
from models.task import Task, overdue_q
from policies.recipients import cleanup_holders
from resolvers.notifications import holders, local, tell
from resolvers.outbox import Recipients, notify

BATCH = 500


@dataclass(frozen=True)
class Reminded:
    """What one run wrote: accounts reminded, by kind (a repeated run writes nothing)."""

    overdue: int = 0
    cleanup: int = 0


def overdue_key(task: Task) -> str:
    due = task.due_at.isoformat() if task.due_at is not None else "-"
    return f"overdue:{task.id}:{due}"


async def remind_overdue(now: datetime | None = None) -> int:
    """``TASK_OVERDUE`` to the holder of every task overdue at ``now`` (default: the clock)
    not yet reminded since its due date passed; returns the notifications written."""
    moment = now or clock.now()
    written = 0
    last = 0
    while True:
        tasks = await Task.filter(overdue_q(moment), id__gt=last).order_by("id").limit(BATCH)
        if not tasks:
            return written
        last = tasks[-1].id
        latest: dict[int, datetime] = {}
        for task_id, created in await Notification.filter(
            task_id__in=[t.id for t in tasks], kind=NotificationKind.TASK_OVERDUE
        ).values_list("task_id", "created_at"):
            latest[task_id] = max(created, latest.get(task_id, created))
        for task in tasks:
            due = task.due_at
            assert due is not None  # overdue_q: only tasks with a due date
            if task.id in latest and latest[task.id] >= due:
                continue  # reminded since this due date passed
            async with in_transaction() as conn:
                with clock.at(moment):
                    sent = await tell(
                        conn,
                        NotificationKind.TASK_OVERDUE,
                        task,
                        await holders(conn, task),
                        heading="逾期提醒",
                        body=f"任务“{task.title}”已于{local(due)}到期，尚未办结，请抓紧办理并报告进度。",
                        key=overdue_key(task),
                    )
            written += len(sent)


def is_cleanup_day(day: date, days: tuple[str, ...]) -> bool:
    return WEEKDAYS[day.weekday()] in days


async def remind_cleanup(
    days: tuple[str, ...], levels: tuple[str, ...], now: datetime | None = None
) -> int:
    """On a clean-up day of the schedule (``days``, by the programmes' local date), a
    ``CLEANUP_DAY`` reminder to every account that files clean-ups at a unit of ``levels``:
    one per account and day. Returns the reminders written (none on another day)."""
    moment = now or clock.now()
    today = moment.astimezone(LOCAL_TIME).date()
    if not is_cleanup_day(today, days):
        return 0
    written = 0
    async with in_transaction() as conn:
        key = f"cleanup:{today.isoformat()}"
        done = {
            int(row[0])
            for row in await Notification.filter(dedup_key__startswith=f"{key}:")
            .using_db(conn)
            .values_list("recipient_id")
        }
        held = [(a, u) for a, u in await cleanup_holders(conn, levels) if a not in done]
        names = dict(
            await OrgUnit.filter(id__in=sorted({u for _, u in held}))
            .using_db(conn)
            .values_list("id", "name")
        )
        with clock.at(moment):
            for account, unit in held:
                sent = await notify(
                    conn,
                    NotificationKind.CLEANUP_DAY,
                    Recipients(users=(account,)),
                    title=f"清理日提醒：{today.month}月{today.day}日",
                    body=f"今天是{names.get(unit, '')}的河道清理日（“1110”机制：一个责任单位、"
                    "一名河道保洁员、十户群众，每周集中清理）。请组织责任区党员群众开展清理，"
                    "并及时填报清理记录（参与人数、清理垃圾量）。",
                    org_unit_id=unit,
                    key=key,
                )
                written += len(sent)
    return written


async def remind_due(
    days: tuple[str, ...], levels: tuple[str, ...], now: datetime | None = None
) -> Reminded:
    """One run of the periodic job: overdue tasks, then the clean-up day."""
    return Reminded(
        overdue=await remind_overdue(now), cleanup=await remind_cleanup(days, levels, now)
    )

"""Notifications are written with the task change that causes them, to its holder or its
issuing side, never to the account that made the change; a change that fails writes none.
The periodic reminders (overdue, clean-up day) are idempotent, and the back-off grows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from core.errors import DomainError, ErrorCode
from core.notify_settings import backoff
from models.notification import Notification, NotificationKind
from models.task import Task
from resolvers import notifications
from resolvers.outbox import Recipients, claim, mark_failed, notify
from resolvers.reminders import remind_cleanup, remind_overdue
from schema.node import from_global_id, to_global_id
from tests.fixtures import Tree
from tests.graph import CREATE_TASK, payload, transition

# A Friday, 08:00 in Beijing.
FRIDAY = datetime(2026, 12, 11, 0, 0, tzinfo=UTC)


async def notices() -> list[tuple[str, str, str]]:
    """Every notification as (recipient, kind, title), oldest first."""
    rows = await Notification.all().order_by("id").values("recipient__username", "kind", "title")
    return [(r["recipient__username"], str(r["kind"]), r["title"]) for r in rows]


async def create(tree: Tree, username: str, unit: str, **extra: Any) -> Any:
    found = await payload(
        tree,
        username,
        CREATE_TASK,
        title="清理石龙村河段漂浮物",
        category="CLEANUP",
        orgUnitId=tree.unit_gid(unit),
        **extra,
    )
    assert found["errors"] == [], found
    return found["task"]


async def test_a_task_for_a_unit_tells_the_accounts_that_work_tasks_there(tree: Tree) -> None:
    await create(tree, "zhaxi_head", "shilong")

    assert await notices() == [("village_sec", "TASK_ASSIGNED", "新任务：清理石龙村河段漂浮物")]
    row = await Notification.get()
    assert row.body.startswith("zhaxi交办任务“清理石龙村河段漂浮物”")
    assert (row.read_at, row.delivered_at, row.attempts) == (None, None, 0)
    assert row.next_attempt_at == row.created_at  # due for delivery at once


async def test_a_task_for_a_person_tells_that_persons_account(tree: Tree) -> None:
    person = to_global_id("Person", tree.people["grid_a"].id)

    await create(tree, "zhaxi_head", "grid_a", assigneeId=person)

    assert [(who, kind) for who, kind, _ in await notices()] == [("grid_leader", "TASK_ASSIGNED")]


async def test_a_unit_without_an_account_tells_the_nearest_unit_above(tree: Tree) -> None:
    await create(tree, "county_admin", "dahetan")  # nobody holds a role at 大河滩

    assert [(who, kind) for who, kind, _ in await notices()] == [("zhaxi_head", "TASK_ASSIGNED")]


async def test_the_account_that_made_the_change_is_not_told(tree: Tree) -> None:
    await create(tree, "village_sec", "shilong")

    assert await notices() == []


async def test_decomposing_tells_each_subtask_holder(tree: Tree) -> None:
    parent = await create(tree, "zhaxi_head", "shilong")
    found = await payload(
        tree,
        "village_sec",
        """mutation($input: DecomposeTaskInput!) {
          decomposeTask(input: $input) { subtasks { id } errors { field code } }
        }""",
        taskId=parent["id"],
        parts=[{"orgUnitId": tree.unit_gid("grid_a")}, {"orgUnitId": tree.unit_gid("enterprise")}],
    )

    assert found["errors"] == []
    assert [(who, kind) for who, kind, _ in await notices()] == [
        ("village_sec", "TASK_ASSIGNED"),
        ("grid_leader", "TASK_ASSIGNED"),
        ("enterprise_chief", "TASK_ASSIGNED"),
    ]


async def test_urge_return_and_reject_tell_the_other_side(tree: Tree) -> None:
    urged = await create(tree, "zhaxi_head", "shilong")
    returned = await create(tree, "zhaxi_head", "shilong")
    rejected = await create(tree, "zhaxi_head", "shilong")

    assert (await transition(tree, "zhaxi_head", urged["id"], "URGE", "请本周内完成"))[
        "errors"
    ] == []
    assert (await transition(tree, "village_sec", returned["id"], "RETURN", "无力实施"))[
        "errors"
    ] == []
    for action in ("START", "SUBMIT"):
        assert (await transition(tree, "village_sec", rejected["id"], action))["errors"] == []
    assert (await transition(tree, "zhaxi_head", rejected["id"], "REJECT", "缺照片"))[
        "errors"
    ] == []

    title = "清理石龙村河段漂浮物"
    assert (await notices())[3:] == [
        ("village_sec", "TASK_URGED", f"督办：{title}"),
        ("zhaxi_head", "TASK_RETURNED", f"任务退回：{title}"),
        ("village_sec", "TASK_RETURNED", f"任务被驳回：{title}"),
    ]
    bodies = await Notification.filter(id__gt=3).order_by("id").values_list("body")
    assert [body for (body,) in bodies] == [
        f"上级督办任务“{title}”：请本周内完成",
        f"shilong退回任务“{title}”：无力实施",
        f"提交的任务“{title}”未通过验收，请整改后重新提交：缺照片",
    ]


async def test_a_change_that_fails_writes_no_notification(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice is written in the change's transaction: when anything later in it fails,
    neither the change nor its notice remains."""
    task = await create(tree, "zhaxi_head", "shilong")
    written = await Notification.all().count()
    real = notifications.task_changed

    async def then_fail(*args: Any) -> None:
        await real(*args)
        assert await Notification.all().count() == written + 1  # written, not yet committed
        raise DomainError(ErrorCode.CONFLICT, "The task changed meanwhile: reload it.", "taskId")

    monkeypatch.setattr("resolvers.task_commands.task_changed", then_fail)

    found = await transition(tree, "zhaxi_head", task["id"], "URGE", "请尽快")

    assert [(e["field"], e["code"]) for e in found["errors"]] == [("taskId", "CONFLICT")]
    assert await Notification.all().count() == written
    stored = await Task.get(id=from_global_id(task["id"])[1])
    assert stored.version == task["version"]  # the urge itself rolled back with it


async def test_the_overdue_job_reminds_once_per_due_date(tree: Tree) -> None:
    later = datetime.now(UTC) + timedelta(days=8)  # every tree task is due in 7 days
    expected = await remind_overdue(later)

    assert await remind_overdue(later) == 0
    assert await remind_overdue(later + timedelta(hours=1)) == 0
    rows = await notices()
    assert len(rows) == expected
    grid = [r for r in rows if r[2] == "逾期提醒：task of grid_a"]
    assert grid == [("grid_leader", "TASK_OVERDUE", "逾期提醒：task of grid_a")]
    nobody_at = [r for r in rows if r[2] == "逾期提醒：task of dahetan"]
    assert nobody_at == [("zhaxi_head", "TASK_OVERDUE", "逾期提醒：task of dahetan")]

    # Extended, and overdue again: reminded again, once.
    await Task.filter(id=tree.tasks["grid_a"].id).update(due_at=later + timedelta(days=2))
    assert await remind_overdue(later + timedelta(days=3)) == 1
    assert await remind_overdue(later + timedelta(days=3)) == 0
    assert await Notification.filter(task_id=tree.tasks["grid_a"].id).count() == 2


async def test_a_closed_task_is_never_overdue(tree: Tree) -> None:
    await Task.all().update(status="VERIFIED")

    assert await remind_overdue(datetime.now(UTC) + timedelta(days=30)) == 0


async def test_the_cleanup_day_reminds_each_account_once_a_day(tree: Tree) -> None:
    assert await remind_cleanup(("FRI",), ("VILLAGE", "GRID"), FRIDAY) == 2
    assert await remind_cleanup(("FRI",), ("VILLAGE", "GRID"), FRIDAY + timedelta(hours=3)) == 0
    assert await remind_cleanup(("FRI",), ("VILLAGE", "GRID"), FRIDAY - timedelta(days=1)) == 0

    assert sorted(await notices()) == [
        ("grid_leader", "CLEANUP_DAY", "清理日提醒：12月11日"),
        ("village_sec", "CLEANUP_DAY", "清理日提醒：12月11日"),
    ]
    assert await remind_cleanup(("FRI",), ("VILLAGE", "GRID"), FRIDAY + timedelta(days=7)) == 2
    assert await remind_cleanup(("FRI",), ("ENTERPRISE",), FRIDAY) == 1  # another level
    assert await remind_cleanup((), ("VILLAGE",), FRIDAY + timedelta(days=14)) == 0


async def test_notify_with_a_key_writes_once_per_account(tree: Tree) -> None:
    to = Recipients(users=(tree.users["grid_leader"].id, tree.users["village_sec"].id))
    for _ in range(2):
        async with in_transaction() as conn:
            await notify(conn, NotificationKind.COMPLAINT_RECEIVED, to, title="群众投诉", key="k1")

    assert sorted(await notices()) == [
        ("grid_leader", "COMPLAINT_RECEIVED", "群众投诉"),
        ("village_sec", "COMPLAINT_RECEIVED", "群众投诉"),
    ]


def test_the_backoff_doubles_from_its_base_up_to_its_cap() -> None:
    base, cap = timedelta(seconds=30), timedelta(minutes=5)

    waits = [backoff(n, base, cap).total_seconds() for n in range(1, 8)]

    assert waits == [30, 60, 120, 240, 300, 300, 300]
    assert backoff(0, base, cap) == timedelta(0)
    assert backoff(10_000, base, cap) == cap


async def test_a_failed_attempt_waits_its_backoff_and_the_last_one_gives_up(tree: Tree) -> None:
    async with in_transaction() as conn:
        await notify(
            conn,
            NotificationKind.CLEANUP_DAY,
            Recipients(users=(tree.users["grid_leader"].id,)),
            title="清理日提醒",
        )
    base, cap = timedelta(seconds=10), timedelta(seconds=25)
    waits = []
    for _ in range(4):
        await Notification.all().update(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        (claimed,) = await claim(timedelta(minutes=1), 10)
        assert await claim(timedelta(minutes=1), 10) == []  # leased to the first claim
        before = datetime.now(UTC)
        retry = await mark_failed(claimed, "HTTP 500", base=base, cap=cap, max_attempts=4)
        waits.append(None if retry is None else round((retry - before).total_seconds()))

    assert waits == [10, 20, 25, None]
    row = await Notification.get()
    assert (row.attempts, row.next_attempt_at, row.delivered_at, row.last_error) == (
        4,
        None,
        None,
        "HTTP 500",
    )


ASSIGN = """
mutation($input: AssignTaskInput!) { assignTask(input: $input) { errors { field code } } }
"""


async def test_reassigning_tells_only_who_was_not_told_yet(tree: Tree) -> None:
    task = await create(tree, "zhaxi_head", "shilong")
    own_person = to_global_id("Person", tree.people["shilong"].id)  # the secretary's person

    same_unit = await payload(tree, "zhaxi_head", ASSIGN, taskId=task["id"], assigneeId=own_person)
    moved = await payload(
        tree, "zhaxi_head", ASSIGN, taskId=task["id"], orgUnitId=tree.unit_gid("grid_a")
    )

    assert same_unit["errors"] == moved["errors"] == []
    assert [(who, kind) for who, kind, _ in await notices()] == [
        ("village_sec", "TASK_ASSIGNED"),  # created; handed to its own person: not again
        ("grid_leader", "TASK_ASSIGNED"),  # moved to the grid
    ]

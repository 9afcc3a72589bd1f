"""``riverchief escalate-due``: a reported task past a stage's time limit is escalated once per
stage, however many runs there are and however many run at once."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.time_limits import Stage, TimeLimits
from models.audit import AuditEvent
from models.enums import OrgLevel, RecordType, TaskCategory, TaskOrigin, TaskStatus
from models.notification import Notification
from models.org import OrgUnit
from models.record import AccountabilityRecord
from models.task import Task, TimeLimitEscalation
from ops.escalate_due import escalate_due, escalate_every
from resolvers.notifications import local
from resolvers.reporting import NewReport, report_issue
from tests.conftest import ON_POSTGRES
from tests.fixtures import Tree
from tests.operator_cli import database, in_process, riverchief

LIMITS = TimeLimits(
    default={Stage.DISPATCH: 24, Stage.HANDLE: 168},
    by_category={TaskCategory.POLLUTION_TREATMENT: {Stage.HANDLE: 72}},
)


async def reported(tree: Tree, title: str, category: TaskCategory = TaskCategory.OTHER) -> Task:
    spec = NewReport(title=title, org_unit_id=tree.units["grid_a"].id, category=category)
    return await report_issue(tree.context_for("grid_leader"), spec, LIMITS)


async def escalations() -> list[tuple[str, str]]:
    rows = await TimeLimitEscalation.all().order_by("id").values("task_id", "stage")
    titles = dict(await Task.all().values_list("id", "title"))
    return [(titles[r["task_id"]], r["stage"]) for r in rows]


async def test_each_stage_of_a_reported_task_is_escalated_once_past_its_limit(
    tree: Tree,
) -> None:
    waiting = await reported(tree, "waiting")
    dispatched = await reported(tree, "dispatched")
    polluted = await reported(tree, "polluted", TaskCategory.POLLUTION_TREATMENT)
    await Task.create(
        title="handed down",
        category=TaskCategory.OTHER,
        org_unit=tree.units["grid_a"],
        issuer_unit=tree.units["shilong"],
        parent_id=dispatched.id,
    )
    start = waiting.created_at
    assert polluted.due_at == polluted.created_at + timedelta(hours=72)

    assert await escalate_due(start + timedelta(hours=23), LIMITS) == 0
    assert await escalate_due(start + timedelta(hours=25), LIMITS) == 2
    assert await escalate_due(start + timedelta(hours=25), LIMITS) == 0
    assert await escalations() == [("waiting", "dispatch"), ("polluted", "dispatch")]
    assert await escalate_due(start + timedelta(hours=73), LIMITS) == 1
    assert await escalate_due(start + timedelta(days=8), LIMITS) == 2
    assert await escalate_due(start + timedelta(days=9), LIMITS) == 0

    assert await escalations() == [
        ("waiting", "dispatch"),
        ("polluted", "dispatch"),
        ("polluted", "handle"),
        ("waiting", "handle"),
        ("dispatched", "handle"),
    ]
    record = await AccountabilityRecord.filter(task_id=waiting.id).order_by("id").first()
    assert record is not None and record.type is RecordType.ESCALATION
    assert record.org_unit_id == tree.units["shilong"].id
    assert record.authority_unit_id == tree.units["zhaxi"].id  # addressed to the level above
    assert record.author_id is None
    assert record.details["stage"] == "dispatch" and record.details["limit_hours"] == 24
    events = await AuditEvent.filter(action="task.escalate").order_by("seq")
    assert len(events) == 5
    assert {e.actor_id for e in events} == {None}


def escalation_notices(task: Task) -> tuple[str, str]:
    """The bodies of a reported task's dispatch and handle escalation notices under LIMITS."""
    assert task.due_at is not None  # a reported task is due within the handle limit
    return (
        f"任务“{task.title}”接报后24小时内未分派，已提请上级督办，请尽快办理。",
        f"任务“{task.title}”未在{local(task.due_at)}前办结，已提请上级督办，请尽快办理。",
    )


async def notices() -> list[tuple[str, str, str, str]]:
    """Every notification as (recipient, kind, title, body), by recipient, oldest first."""
    rows = (
        await Notification.all()
        .order_by("recipient__username", "id")
        .values("recipient__username", "kind", "title", "body")
    )
    return [(r["recipient__username"], str(r["kind"]), r["title"], r["body"]) for r in rows]


async def test_each_escalation_tells_the_holder_and_the_unit_above_once(tree: Tree) -> None:
    waiting = await reported(tree, "waiting")  # held at shilong, which answers to zhaxi
    start = waiting.created_at
    dispatch, handle = escalation_notices(waiting)

    assert await escalate_due(start + timedelta(hours=25), LIMITS) == 1
    assert await escalate_due(start + timedelta(hours=26), LIMITS) == 0
    assert await notices() == [
        ("village_sec", "TASK_URGED", "督办：waiting", dispatch),
        ("zhaxi_head", "TASK_URGED", "督办：waiting", dispatch),
    ]

    # handed to a person of the grid: that person now holds it, not the village's accounts
    await Task.filter(id=waiting.id).update(assignee_id=tree.people["grid_a"].id)
    assert await escalate_due(start + timedelta(days=8), LIMITS) == 1
    assert await escalate_due(start + timedelta(days=8), LIMITS) == 0

    assert await notices() == [
        ("grid_leader", "TASK_URGED", "督办：waiting", handle),
        ("village_sec", "TASK_URGED", "督办：waiting", dispatch),
        ("zhaxi_head", "TASK_URGED", "督办：waiting", dispatch),
        ("zhaxi_head", "TASK_URGED", "督办：waiting", handle),
    ]
    assert set(await Notification.all().values_list("task_id", flat=True)) == {waiting.id}


async def test_a_closed_or_handed_down_task_is_not_escalated(tree: Tree) -> None:
    closed = await reported(tree, "closed")
    await Task.filter(id=closed.id).update(status=TaskStatus.VERIFIED, feedback="done")
    issued = tree.tasks["grid_a"]
    await Task.filter(id=issued.id).update(due_at=datetime.now(UTC) - timedelta(days=3))

    assert await escalate_due(datetime.now(UTC) + timedelta(days=30), LIMITS) == 0
    assert await TimeLimitEscalation.all().count() == 0


async def test_two_runs_at_once_escalate_each_overdue_stage_exactly_once(tree: Tree) -> None:
    for n in range(6):
        await reported(tree, f"issue {n}")
    later = datetime.now(UTC) + timedelta(days=8)

    first, second = await asyncio.gather(escalate_due(later, LIMITS), escalate_due(later, LIMITS))

    assert first + second == 12  # six tasks, two stages each
    assert await TimeLimitEscalation.all().count() == 12
    assert await AccountabilityRecord.filter(type=RecordType.ESCALATION).count() == 12
    assert await AuditEvent.filter(action="task.escalate").count() == 12


async def test_two_runs_at_once_tell_each_recipient_of_each_escalation_once(tree: Tree) -> None:
    tasks = [await reported(tree, f"issue {n}") for n in range(3)]
    later = datetime.now(UTC) + timedelta(days=8)

    await asyncio.gather(escalate_due(later, LIMITS), escalate_due(later, LIMITS))
    await escalate_due(later, LIMITS)

    told = await Notification.all().values_list("recipient__username", "task_id", "body")
    expected = {
        (username, task.id, body)
        for task in tasks
        for username in ("village_sec", "zhaxi_head")
        for body in escalation_notices(task)
    }
    assert sorted(told) == sorted(expected)  # 12 notices: none missing, none twice


async def overdue_in(database_url: str, count: int) -> None:
    """``count`` reported tasks of a village, reported ten days ago and due three days ago."""
    async with database(database_url):
        county = await OrgUnit.place(code="wx", name="威信县", level=OrgLevel.COUNTY)
        township = await OrgUnit.place(
            code="zx", name="扎西镇", level=OrgLevel.TOWNSHIP, parent=county
        )
        now = datetime.now(UTC)
        for n in range(count):
            await Task.create(
                title=f"issue {n}",
                category=TaskCategory.OTHER,
                org_unit=township,
                issuer_unit=township,
                origin=TaskOrigin.REPORTED,
                created_at=now - timedelta(days=10),
                due_at=now - timedelta(days=3),
            )


@pytest.mark.skipif(not ON_POSTGRES, reason="several writing processes need PostgreSQL")
async def test_two_processes_at_once_escalate_each_overdue_stage_exactly_once(
    empty_database_url: str,
) -> None:
    await overdue_in(empty_database_url, 8)

    runs = await asyncio.gather(
        riverchief(empty_database_url, "escalate-due", "--json"),
        riverchief(empty_database_url, "escalate-due", "--json"),
    )

    assert [r.status for r in runs] == [0, 0], [r.err for r in runs]
    assert sum(json.loads(r.out)["escalated"] for r in runs) == 16
    async with database(empty_database_url):
        assert await TimeLimitEscalation.all().count() == 16
        assert await AccountabilityRecord.filter(type=RecordType.ESCALATION).count() == 16


async def test_the_command_says_how_many_it_escalated(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await overdue_in(empty_database_url, 2)

    first = await in_process(monkeypatch, empty_database_url, "escalate-due")
    again = await in_process(monkeypatch, empty_database_url, "escalate-due", "--json")

    assert (first.status, first.out) == (
        0,
        "escalated 4 reported task stage(s) past their time limit\n",
    )
    assert (again.status, json.loads(again.out)) == (0, {"escalated": 0})


async def test_the_background_loop_of_serve_escalates_until_cancelled(tree: Tree) -> None:
    """``serve --escalate-every``: the same job, every so often, in the server's loop."""
    now = datetime.now(UTC)
    await Task.create(
        title="waiting",
        category=TaskCategory.OTHER,
        org_unit=tree.units["shilong"],
        issuer_unit=tree.units["shilong"],
        origin=TaskOrigin.REPORTED,
        created_at=now - timedelta(days=10),
        due_at=now - timedelta(days=3),
    )

    job = asyncio.create_task(escalate_every(0.05))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if await TimeLimitEscalation.all().count() == 2:
            break
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    assert await escalations() == [("waiting", "dispatch"), ("waiting", "handle")]

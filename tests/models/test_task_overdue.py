"""The overdue rule, read the same way in Python, in a Tortoise filter and in hand-written SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise import connections
from tortoise.context import TortoiseContext

from models.enums import OrgLevel, TaskCategory, TaskStatus
from models.org import OrgUnit
from models.task import Task, overdue_q, overdue_sql
from policies.scope import Params

NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
DUES = {"no due date": None, "due before": NOW - timedelta(hours=1), "due after": NOW}
OVERDUE = {
    "DRAFT due before",
    "ASSIGNED due before",
    "IN_PROGRESS due before",
    "SUBMITTED due before",
    "REJECTED due before",
}


async def one_task_per_status_and_due_date() -> set[str]:
    unit = await OrgUnit.place(code="C", name="County", level=OrgLevel.COUNTY)
    titles = set()
    for status in TaskStatus:
        for label, due in DUES.items():
            title = f"{status.value} {label}"
            await Task.create(
                title=title,
                category=TaskCategory.OTHER,
                status=status,
                org_unit=unit,
                issuer_unit=unit,
                due_at=due,
            )
            titles.add(title)
    return titles


async def overdue_in_sql(now: datetime) -> set[str]:
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    params = Params(postgres)
    moment = params(now if postgres else str(now))  # SQLite keeps Tortoise's text form
    sql = f"SELECT t.title AS title FROM task t WHERE {overdue_sql('t', moment)}"  # noqa: S608
    return {str(row["title"]) for row in await conn.execute_query_dict(sql, params.values)}


async def test_the_three_readings_of_overdue_agree(db: TortoiseContext) -> None:
    titles = await one_task_per_status_and_due_date()

    in_python = {task.title for task in await Task.all() if task.is_overdue(NOW)}
    filtered = set(await Task.filter(overdue_q(NOW)).values_list("title", flat=True))
    in_sql = await overdue_in_sql(NOW)

    assert in_python == OVERDUE
    assert filtered == OVERDUE
    assert in_sql == OVERDUE
    assert len(titles) == 21


async def test_not_overdue_is_every_other_task_even_without_a_due_date(
    db: TortoiseContext,
) -> None:
    titles = await one_task_per_status_and_due_date()

    not_overdue = set(await Task.filter(~overdue_q(NOW)).values_list("title", flat=True))

    assert not_overdue == titles - OVERDUE
    assert "ASSIGNED no due date" in not_overdue

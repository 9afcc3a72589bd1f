"""The clock the write paths take their time from: the real time unless a caller sets one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core import clock
from models.audit import AuditEvent
from models.enums import TaskCategory, TaskStatus
from models.task import Task
from resolvers.task_commands import NewTask, create_task, transition_task
from resolvers.workflow import TaskAction
from tests.fixtures import Tree

PAST = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def test_without_a_set_time_the_clock_reads_the_real_time() -> None:
    before = datetime.now(UTC)

    moment = clock.now()

    assert before <= moment <= datetime.now(UTC)
    assert moment.tzinfo is UTC


def test_a_set_time_holds_inside_the_block_only() -> None:
    beijing = timezone(timedelta(hours=8))

    with clock.at(PAST.astimezone(beijing)):
        inside = clock.now()

    assert inside == PAST and inside.tzinfo is UTC
    assert clock.now() > PAST + timedelta(days=365)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"), clock.at(datetime(2024, 3, 1, 9, 30)):
        pass


async def test_the_write_paths_stamp_the_set_time(tree: Tree) -> None:
    context = tree.context_for("zhaxi_head")
    spec = NewTask(
        title="clock check", category=TaskCategory.PATROL, org_unit_id=tree.units["shilong"].id
    )

    with clock.at(PAST):
        task = await create_task(context, spec)
    with clock.at(PAST + timedelta(hours=2)):
        await transition_task(context, task.id, TaskAction.CANCEL, None, task.version)

    stored = await Task.get(id=task.id)
    assert stored.status is TaskStatus.CANCELLED
    assert stored.created_at == PAST
    assert stored.closed_at == stored.updated_at == PAST + timedelta(hours=2)
    events = await AuditEvent.filter(entity_type="task", entity_id=str(task.id)).order_by("seq")
    assert [(e.action, e.at) for e in events] == [
        ("task.create", PAST),
        ("task.cancel", PAST + timedelta(hours=2)),
    ]

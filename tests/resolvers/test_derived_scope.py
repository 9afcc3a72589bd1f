"""Derived fields count only what the viewer may read.

The scenario: zhaxi's task (issued by the county) is split between two villages, shilong and
dahetan. When the county moves it down to shilong, shilong's secretary holds the task but
reads nothing of dahetan: its subtask and records must not show through ``progress`` or
``quota.done``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models.enums import TaskStatus
from models.task import Task
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.graph import CREATE_TASK, data, payload

DECOMPOSE = """
mutation Decompose($input: DecomposeTaskInput!) {
  decomposeTask(input: $input) { subtasks { id } errors { field code } }
}
"""

ASSIGN = """
mutation Assign($input: AssignTaskInput!) {
  assignTask(input: $input) { task { id orgUnit { name } } errors { field code } }
}
"""

CREATE_RECORD = """
mutation Record($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""

PROGRESS = """
query Progress($id: ID!) {
  task(id: $id) {
    progress
    subtasks { totalCount edges { node { orgUnit { name } } } }
  }
}
"""

QUOTA = """
query Quota($id: ID!) {
  task(id: $id) { quota { target done } records { totalCount } }
}
"""


async def split_between_villages(tree: Tree) -> dict[str, int]:
    """zhaxi_head splits zhaxi's task between shilong and dahetan: their subtasks' ids."""
    split = await payload(
        tree,
        "zhaxi_head",
        DECOMPOSE,
        taskId=tree.task_gid("zhaxi"),
        parts=[{"orgUnitId": tree.unit_gid("shilong")}, {"orgUnitId": tree.unit_gid("dahetan")}],
    )
    assert split["errors"] == []
    parts = {t.org_unit_id: t.id for t in await Task.filter(parent_id=tree.tasks["zhaxi"].id)}
    return {"shilong": parts[tree.units["shilong"].id], "dahetan": parts[tree.units["dahetan"].id]}


async def move(tree: Tree, username: str, task_id: int, unit: str) -> Any:
    return await payload(
        tree,
        username,
        ASSIGN,
        taskId=to_global_id("Task", task_id),
        orgUnitId=tree.unit_gid(unit),
    )


async def move_zhaxi_task_to_shilong(tree: Tree) -> dict[str, int]:
    """The split task, its dahetan part verified, handed down to shilong by the county."""
    parts = await split_between_villages(tree)
    await Task.filter(id=parts["dahetan"]).update(status=TaskStatus.VERIFIED)
    moved = await move(tree, "county_admin", tree.tasks["zhaxi"].id, "shilong")
    assert moved["errors"] == [], moved
    assert moved["task"]["orgUnit"] == {"name": "shilong"}
    return parts


# -- progress and quota --------------------------------------------------------------------


async def test_progress_counts_only_the_subtasks_the_viewer_reads(tree: Tree) -> None:
    await move_zhaxi_task_to_shilong(tree)

    by_village = await data(tree, "village_sec", PROGRESS, id=tree.task_gid("zhaxi"))
    by_county = await data(tree, "county_admin", PROGRESS, id=tree.task_gid("zhaxi"))

    # shilong's secretary reads shilong's open subtask only: none of what it reads is done.
    assert by_village["task"] == {
        "progress": 0.0,
        "subtasks": {"totalCount": 1, "edges": [{"node": {"orgUnit": {"name": "shilong"}}}]},
    }
    # The county reads both: dahetan's is verified.
    assert by_county["task"]["progress"] == 0.5
    assert by_county["task"]["subtasks"]["totalCount"] == 2


async def test_progress_is_null_when_no_subtask_is_readable(tree: Tree) -> None:
    parts = await move_zhaxi_task_to_shilong(tree)
    await Task.filter(id=parts["shilong"]).update(status=TaskStatus.CANCELLED)

    by_village = await data(tree, "village_sec", PROGRESS, id=tree.task_gid("zhaxi"))
    by_county = await data(tree, "county_admin", PROGRESS, id=tree.task_gid("zhaxi"))

    assert by_village["task"] == {
        "progress": None,
        "subtasks": {"totalCount": 1, "edges": [{"node": {"orgUnit": {"name": "shilong"}}}]},
    }
    assert by_county["task"]["progress"] == 1.0


def cleanup_at(tree: Tree, unit: str, task_id: str, day: int) -> dict[str, Any]:
    return {
        "type": "CLEANUP",
        "orgUnitId": tree.unit_gid(unit),
        "taskId": task_id,
        "occurredAt": datetime(2030, 5, day, 9, tzinfo=UTC).isoformat(),
        "summary": f"clean-up on day {day}",
        "cleanup": {"participants": 10, "garbageKg": 80},
    }


async def test_quota_counts_only_the_records_the_viewer_reads(tree: Tree) -> None:
    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Three clean-ups",
        category="CLEANUP",
        orgUnitId=tree.unit_gid("shilong"),
        quotaTarget=3,
        quotaRecordType="CLEANUP",
    )
    quota_task = created["task"]["id"]
    # One clean-up filed in the village, one by the township at the township itself.
    for username, unit, day in (("village_sec", "shilong", 1), ("zhaxi_head", "zhaxi", 2)):
        filed = await payload(
            tree, username, CREATE_RECORD, **cleanup_at(tree, unit, quota_task, day)
        )
        assert filed["errors"] == [], filed

    by_village = await data(tree, "village_sec", QUOTA, id=quota_task)
    by_township = await data(tree, "zhaxi_head", QUOTA, id=quota_task)

    assert by_village["task"] == {"quota": {"target": 3, "done": 1}, "records": {"totalCount": 1}}
    assert by_township["task"] == {
        "quota": {"target": 3, "done": 2},
        "records": {"totalCount": 2},
    }

"""Splitting tasks level by level, progress, deadlines and escalation, and quota tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.enums import TaskStatus, WaterKind
from models.org import WaterBody
from models.record import AccountabilityRecord
from models.task import Task
from schema.node import to_global_id
from tests.fixtures import Tree, recount_counters
from tests.graph import (
    CREATE_TASK,
    TASK_FIELDS,
    actions_since,
    codes,
    data,
    error_codes,
    last_seq,
    payload,
    run,
    task,
    transition,
)
from tests.tracks import track_along

DECOMPOSE = f"""
mutation Decompose($input: DecomposeTaskInput!) {{
  decomposeTask(input: $input) {{ subtasks {{ {TASK_FIELDS} }} errors {{ field code message }} }}
}}
"""

ESCALATE = """
mutation Escalate($input: EscalateTaskInput!) {
  escalateTask(input: $input) {
    record {
      id type summary details orgUnit { name } task { id }
      author { username } authority { name }
    }
    errors { field code }
  }
}
"""

OVERDUE = """
query Overdue($filter: TaskFilter) {
  tasks(filter: $filter, first: 100) { totalCount edges { node { title overdue } } }
}
"""

CREATE_RECORD = """
mutation Record($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""

SUBTASKS = """
query Subtasks($id: ID!) {
  task(id: $id) { progress subtasks { totalCount edges { node { orgUnit { name } } } } }
}
"""

DUE = datetime(2031, 6, 30, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def due_in(tree: Tree, name: str, delta: timedelta, status: TaskStatus | None = None) -> None:
    changes: dict[str, Any] = {"due_at": datetime.now(UTC) + delta}
    if status is not None:
        changes["status"] = status
    await Task.filter(id=tree.tasks[name].id).update(**changes)
    await recount_counters()


async def decompose(tree: Tree, username: str, task_name: str, *parts: dict[str, Any]) -> Any:
    given = []
    for part in parts:
        given.append({**part, "orgUnitId": tree.unit_gid(part["orgUnitId"])})
    return await payload(tree, username, DECOMPOSE, taskId=tree.task_gid(task_name), parts=given)


async def test_decompose_creates_a_subtask_per_descendant_unit(tree: Tree) -> None:
    await Task.filter(id=tree.tasks["zhaxi"].id).update(due_at=DUE)
    before = await last_seq()

    split = await decompose(
        tree,
        "zhaxi_head",
        "zhaxi",
        {"orgUnitId": "shilong", "title": "Shilong's share"},
        {"orgUnitId": "grid_b", "dueAt": iso(DUE - timedelta(days=30))},
    )

    assert split["errors"] == []
    first, second = split["subtasks"]
    assert (first["title"], first["orgUnit"], first["issuer"]) == (
        "Shilong's share",
        {"name": "shilong"},
        {"name": "zhaxi"},
    )
    assert (second["title"], second["orgUnit"], second["issuer"]) == (
        "task of zhaxi",
        {"name": "grid_b"},
        {"name": "zhaxi"},
    )
    assert {s["status"] for s in split["subtasks"]} == {"ASSIGNED"}
    assert {s["parent"]["id"] for s in split["subtasks"]} == {tree.task_gid("zhaxi")}
    assert datetime.fromisoformat(first["dueAt"]) == DUE
    assert datetime.fromisoformat(second["dueAt"]) == DUE - timedelta(days=30)
    assert await actions_since(before) == ["task.create", "task.create", "task.decompose"]
    parent = await data(tree, "county_admin", SUBTASKS, id=tree.task_gid("zhaxi"))
    assert parent["task"]["progress"] == 0.0
    assert parent["task"]["subtasks"]["totalCount"] == 2
    assert {e["node"]["orgUnit"]["name"] for e in parent["task"]["subtasks"]["edges"]} == {
        "shilong",
        "grid_b",
    }


@pytest.mark.parametrize(
    ("username", "parts", "expected"),
    [
        # luobu_village is outside zhaxi_head's scope altogether
        ("zhaxi_head", ["shilong", "luobu_village"], ("orgUnitId", "NOT_FOUND")),
        # county_admin sees luobu_village, but it is not below zhaxi
        ("county_admin", ["shilong", "luobu_village"], ("orgUnitId", "VALIDATION")),
        # the task's own unit is not below it
        ("zhaxi_head", ["shilong", "zhaxi"], ("orgUnitId", "VALIDATION")),
        # one part per unit
        ("zhaxi_head", ["shilong", "shilong"], ("parts", "VALIDATION")),
        # a part due after its parent
        ("zhaxi_head", ["shilong", "late:dahetan"], ("parts", "VALIDATION")),
        ("zhaxi_head", [], ("parts", "VALIDATION")),
    ],
)
async def test_decompose_is_all_or_nothing(
    tree: Tree, username: str, parts: list[str], expected: tuple[str, str]
) -> None:
    await Task.filter(id=tree.tasks["zhaxi"].id).update(due_at=DUE)
    given = []
    for part in parts:
        if part.startswith("late:"):
            given.append({"orgUnitId": part[5:], "dueAt": iso(DUE + timedelta(days=1))})
        else:
            given.append({"orgUnitId": part})
    tasks_before, seq_before = await Task.all().count(), await last_seq()

    refused = await decompose(tree, username, "zhaxi", *given)

    assert refused["subtasks"] == []
    assert error_codes(refused) == [expected]
    assert await Task.all().count() == tasks_before
    assert await last_seq() == seq_before


async def test_a_closed_task_is_not_decomposed(tree: Tree) -> None:
    await Task.filter(id=tree.tasks["shilong"].id).update(status=TaskStatus.VERIFIED)

    refused = await decompose(tree, "village_sec", "shilong", {"orgUnitId": "grid_a"})

    assert error_codes(refused) == [("taskId", "INVALID_TRANSITION")]


async def test_only_the_task_holder_side_decomposes(tree: Tree) -> None:
    by_grid = await run(
        tree,
        "grid_leader",
        DECOMPOSE,
        input={"taskId": tree.task_gid("grid_a"), "parts": []},
    )
    # The task of shilong is village_sec's to split; zhaxi's task is out of its reach.
    own = await decompose(tree, "village_sec", "shilong", {"orgUnitId": "grid_a"})
    above = await decompose(tree, "village_sec", "zhaxi", {"orgUnitId": "grid_a"})

    assert codes(by_grid) == ["FORBIDDEN"]
    assert own["errors"] == []
    assert error_codes(above) == [("taskId", "NOT_FOUND")]


async def test_a_stale_decomposition_is_a_conflict(tree: Tree) -> None:
    given = {
        "taskId": tree.task_gid("shilong"),
        "parts": [{"orgUnitId": tree.unit_gid("grid_a")}],
        "expectedVersion": 1,
    }
    first = await payload(tree, "village_sec", DECOMPOSE, **given)
    second = await payload(tree, "village_sec", DECOMPOSE, **given)

    assert first["errors"] == []
    assert error_codes(second) == [("expectedVersion", "CONFLICT")]
    assert await Task.filter(parent_id=tree.tasks["shilong"].id).count() == 1


async def test_progress_is_the_verified_share_and_the_parent_waits_for_its_subtasks(
    tree: Tree,
) -> None:
    split = await decompose(
        tree,
        "zhaxi_head",
        "zhaxi",
        {"orgUnitId": "shilong"},
        {"orgUnitId": "dahetan"},
    )
    shilong_part, dahetan_part = (s["id"] for s in split["subtasks"])
    parent = tree.task_gid("zhaxi")
    await transition(tree, "zhaxi_head", parent, "START")

    early = await transition(tree, "zhaxi_head", parent, "SUBMIT")
    assert error_codes(early) == [("action", "INVALID_TRANSITION")]
    assert early["errors"][0]["message"] == (
        "Cannot submit it: 2 of its subtasks are still open (not verified or cancelled)."
    )
    assert (await Task.get(id=tree.tasks["zhaxi"].id)).status is TaskStatus.IN_PROGRESS

    await transition(tree, "village_sec", shilong_part, "START")
    await transition(tree, "village_sec", shilong_part, "SUBMIT")
    await transition(tree, "zhaxi_head", shilong_part, "VERIFY")
    assert (await task(tree, "county_admin", parent))["progress"] == 0.5

    still_early = await transition(tree, "zhaxi_head", parent, "SUBMIT")
    assert error_codes(still_early) == [("action", "INVALID_TRANSITION")]
    assert still_early["errors"][0]["message"] == (
        "Cannot submit it: 1 of its subtasks is still open (not verified or cancelled)."
    )

    await transition(tree, "zhaxi_head", dahetan_part, "CANCEL", note="Merged into Shilong's.")
    assert (await task(tree, "county_admin", parent))["progress"] == 1.0

    submitted = await transition(tree, "zhaxi_head", parent, "SUBMIT")
    assert submitted["errors"] == []
    verified = await transition(tree, "county_admin", parent, "VERIFY")
    assert verified["errors"] == []
    assert verified["task"]["status"] == "VERIFIED"


async def test_a_subtask_of_a_closed_parent_is_refused(tree: Tree) -> None:
    await Task.filter(id=tree.tasks["shilong"].id).update(status=TaskStatus.CANCELLED)

    refused = await payload(
        tree,
        "village_sec",
        CREATE_TASK,
        title="Too late",
        category="OTHER",
        orgUnitId=tree.unit_gid("grid_a"),
        parentId=tree.task_gid("shilong"),
    )

    assert error_codes(refused) == [("parentId", "INVALID_TRANSITION")]


async def test_overdue_is_derived_and_filterable(tree: Tree) -> None:
    await due_in(tree, "grid_a", -timedelta(days=2))
    await due_in(tree, "shilong", -timedelta(days=2), TaskStatus.VERIFIED)
    await due_in(tree, "dahetan", -timedelta(hours=1), TaskStatus.IN_PROGRESS)
    await due_in(tree, "luobu", -timedelta(days=9))

    overdue = await data(tree, "zhaxi_head", OVERDUE, filter={"overdue": True})
    on_time = await data(tree, "zhaxi_head", OVERDUE, filter={"overdue": False})
    everything = await data(tree, "zhaxi_head", OVERDUE)

    assert {e["node"]["title"] for e in overdue["tasks"]["edges"]} == {
        "task of grid_a",
        "task of dahetan",
    }
    assert overdue["tasks"]["totalCount"] == 2
    assert {e["node"]["title"] for e in on_time["tasks"]["edges"]} == {
        "task of zhaxi",
        "task of shilong",
        "task of grid_b",
        "task of enterprise",
    }
    flags = {e["node"]["title"]: e["node"]["overdue"] for e in everything["tasks"]["edges"]}
    assert flags == {
        "task of zhaxi": False,
        "task of shilong": False,
        "task of dahetan": True,
        "task of grid_a": True,
        "task of grid_b": False,
        "task of enterprise": False,
    }


async def test_a_task_without_a_due_date_is_listed_as_not_overdue(tree: Tree) -> None:
    await Task.filter(id=tree.tasks["grid_a"].id).update(due_at=None)
    await recount_counters()

    overdue = await data(tree, "zhaxi_head", OVERDUE, filter={"overdue": True})
    on_time = await data(tree, "zhaxi_head", OVERDUE, filter={"overdue": False})

    assert overdue["tasks"] == {"totalCount": 0, "edges": []}
    assert on_time["tasks"]["totalCount"] == 6
    assert {(e["node"]["title"], e["node"]["overdue"]) for e in on_time["tasks"]["edges"]} == {
        ("task of zhaxi", False),
        ("task of shilong", False),
        ("task of dahetan", False),
        ("task of grid_a", False),
        ("task of grid_b", False),
        ("task of enterprise", False),
    }


async def test_overdue_counts_roll_up_the_tree_within_scope(tree: Tree) -> None:
    await due_in(tree, "grid_a", -timedelta(days=2))
    await due_in(tree, "grid_c", -timedelta(days=2))
    await due_in(tree, "dahetan", -timedelta(days=2))
    query = "query($id: ID!) { orgUnit(id: $id) { taskStats { total overdue } } }"

    county = await data(tree, "inspector", query, id=tree.unit_gid("weixin"))
    township = await data(tree, "inspector", query, id=tree.unit_gid("zhaxi"))
    seen_from_zhaxi = await data(tree, "zhaxi_head", query, id=tree.unit_gid("weixin"))

    assert county["orgUnit"]["taskStats"] == {"total": 11, "overdue": 3}
    assert township["orgUnit"]["taskStats"] == {"total": 6, "overdue": 2}
    assert seen_from_zhaxi["orgUnit"]["taskStats"] == {"total": 6, "overdue": 2}


async def test_an_overdue_task_is_escalated_with_a_record_against_its_unit(tree: Tree) -> None:
    await due_in(tree, "grid_a", -timedelta(days=3, hours=1))
    gid = tree.task_gid("grid_a")
    before = await last_seq()

    escalated = await payload(
        tree, "village_sec", ESCALATE, taskId=gid, note="Three days late: report by Monday."
    )

    assert escalated["errors"] == []
    record = escalated["record"]
    assert record["type"] == "ESCALATION"
    assert record["orgUnit"] == {"name": "grid_a"}
    assert record["task"] == {"id": gid}
    assert record["summary"] == "Three days late: report by Monday."
    assert record["details"]["daysOverdue"] == 3
    assert record["author"] == {"username": "village_sec"}
    assert record["authority"] == {"name": "shilong"}  # the grant that allows task:update there
    assert await actions_since(before) == ["record.create", "task.escalate"]
    history = await data(
        tree, "inspector", "query($id: ID!) { task(id: $id) { history { action } } }", id=gid
    )
    assert [e["action"] for e in history["task"]["history"]] == ["task.escalate"]
    listed = await data(
        tree,
        "inspector",
        "{ records(filter: {type: ESCALATION}) { totalCount edges { node { id } } } }",
    )
    assert listed["records"]["edges"] == [{"node": {"id": record["id"]}}]


@pytest.mark.parametrize(
    ("username", "task_name", "state", "note", "expected"),
    [
        ("village_sec", "grid_a", "due", "Hurry.", ("taskId", "INVALID_TRANSITION")),
        ("village_sec", "grid_a", "verified", "Hurry.", ("taskId", "INVALID_TRANSITION")),
        ("village_sec", "grid_a", "overdue", "  ", ("note", "VALIDATION")),
        # the holder side does not press its own task
        ("village_sec", "shilong", "overdue", "Hurry.", ("taskId", "FORBIDDEN")),
        ("luobu_head", "grid_a", "overdue", "Hurry.", ("taskId", "NOT_FOUND")),
    ],
)
async def test_escalation_refusals_write_nothing(
    tree: Tree,
    username: str,
    task_name: str,
    state: str,
    note: str,
    expected: tuple[str, str],
) -> None:
    if state == "overdue":
        await due_in(tree, task_name, -timedelta(days=1))
    elif state == "verified":
        await due_in(tree, task_name, -timedelta(days=1), TaskStatus.VERIFIED)
    records, seq = await AccountabilityRecord.all().count(), await last_seq()

    refused = await payload(tree, username, ESCALATE, taskId=tree.task_gid(task_name), note=note)

    assert refused["record"] is None
    assert error_codes(refused) == [expected]
    assert await AccountabilityRecord.all().count() == records
    assert await last_seq() == seq


async def test_a_grid_leader_cannot_escalate(tree: Tree) -> None:
    await due_in(tree, "grid_a", -timedelta(days=1))

    refused = await run(
        tree, "grid_leader", ESCALATE, input={"taskId": tree.task_gid("grid_a"), "note": "x"}
    )

    assert codes(refused) == ["FORBIDDEN"]


async def shilong_water(tree: Tree) -> int:
    """A river segment running through shilong (the water its patrols count on)."""
    body = await WaterBody.create(code="zxh-sl", name="扎西河石龙段", kind=WaterKind.SEGMENT)
    await body.units.add(tree.units["shilong"])
    await tree.engine.reload()
    return body.id


async def patrol(
    tree: Tree,
    task_id: str | None,
    day: int,
    *,
    record_type: str = "PATROL",
    corrects: str | None = None,
    water: int | None = None,
) -> str:
    start = datetime(2026, 3, day, 9, tzinfo=UTC)
    given: dict[str, Any] = {
        "type": record_type,
        "orgUnitId": tree.unit_gid("shilong"),
        "occurredAt": iso(start),
    }
    if record_type == "PATROL":
        given["endedAt"] = iso(start + timedelta(hours=2))
        given["patrol"] = {"track": track_along(start, 2, 5.5)}
    else:
        given["cleanup"] = {"participants": 10, "garbageKg": 120.0}
    if water is not None:
        given["waterBodyId"] = to_global_id("WaterBody", water)
    if task_id is not None:
        given["taskId"] = task_id
    if corrects is not None:
        given["correctsId"] = corrects
    filed = await payload(tree, "village_sec", CREATE_RECORD, **given)
    assert filed["errors"] == [], filed
    record_id: str = filed["record"]["id"]
    return record_id


async def quota_of(tree: Tree, task_id: str) -> Any:
    return (await task(tree, "village_sec", task_id))["quota"]


async def six_patrols_in_2026(tree: Tree) -> str:
    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Six patrols a year",
        category="PATROL",
        orgUnitId=tree.unit_gid("shilong"),
        quotaTarget=6,
        quotaRecordType="PATROL",
        quotaPeriod={"from": "2026-01-01", "to": "2026-12-31"},
    )
    assert created["errors"] == []
    assert created["task"]["quota"] == {"target": 6, "recordType": "PATROL", "done": 0}
    task_id: str = created["task"]["id"]
    return task_id


async def test_a_quota_task_counts_the_records_that_fulfil_it(tree: Tree) -> None:
    water = await shilong_water(tree)
    quota_task = await six_patrols_in_2026(tree)

    first = await patrol(tree, quota_task, 1, water=water)
    await patrol(tree, quota_task, 2, water=water)
    await patrol(tree, None, 3, water=water)  # not filed against the task
    await patrol(tree, quota_task, 4, record_type="CLEANUP", water=water)  # not the type
    await patrol(tree, quota_task, 5)  # a patrol naming no water
    assert await quota_of(tree, quota_task) == {"target": 6, "recordType": "PATROL", "done": 2}

    await patrol(tree, quota_task, 1, corrects=first, water=water)  # replaces, never adds
    assert (await quota_of(tree, quota_task))["done"] == 2

    for day in range(10, 14):
        await patrol(tree, quota_task, day, water=water)
    assert (await quota_of(tree, quota_task))["done"] == 6


async def test_a_correction_decides_whether_a_record_counts(tree: Tree) -> None:
    water = await shilong_water(tree)
    quota_task = await six_patrols_in_2026(tree)
    filed_against = await patrol(tree, quota_task, 1, water=water)
    filed_without = await patrol(tree, None, 2, water=water)

    assert (await quota_of(tree, quota_task))["done"] == 1

    # The first patrol was not for this task after all; the second was.
    await patrol(tree, None, 1, corrects=filed_against, water=water)
    assert (await quota_of(tree, quota_task))["done"] == 0

    await patrol(tree, quota_task, 2, corrects=filed_without, water=water)
    assert (await quota_of(tree, quota_task))["done"] == 1


async def test_a_task_without_a_quota_has_none(tree: Tree) -> None:
    found = await task(tree, "village_sec", tree.task_gid("shilong"))

    assert found["quota"] is None
    assert found["progress"] is None

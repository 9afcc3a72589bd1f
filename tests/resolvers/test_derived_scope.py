"""Derived fields and history name only what the viewer may read.

The scenario: zhaxi's task (issued by the county) is split between two villages, shilong and
dahetan. When the county moves it down to shilong, shilong's secretary holds the task but
reads nothing of dahetan: its subtask, records and units must not show through ``subtasks``,
``records`` or ``history``. ``progress`` and ``quota.done`` are numbers, the same for every
reader of the task: they count what the reader may not read without naming any of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.instrumentation import counting_statements
from models.audit import AuditEvent
from models.enums import TaskStatus, WaterKind
from models.org import WaterBody
from models.task import Task
from resolvers.audit_view import OUTSIDE_SCOPE
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.graph import CREATE_TASK, data, error_codes, last_seq, payload

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

HISTORY = """
query History($id: ID!) {
  task(id: $id) { history { id action orgPath before after } }
}
"""

EVENTS = """
query Events($filter: AuditFilter) {
  auditEvents(filter: $filter, first: 50) {
    edges { node { id action orgPath before after actor { username } } }
  }
}
"""

EVENT = """
query Event($id: ID!) {
  node(id: $id) { ... on AuditEvent { action orgPath before after } }
}
"""

VERIFY_CHAIN = "{ verifyAuditChain { ok firstBrokenSeq } }"


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


async def test_progress_is_the_same_number_for_every_reader_who_lists_fewer_subtasks(
    tree: Tree,
) -> None:
    await move_zhaxi_task_to_shilong(tree)

    by_village = await data(tree, "village_sec", PROGRESS, id=tree.task_gid("zhaxi"))
    by_county = await data(tree, "county_admin", PROGRESS, id=tree.task_gid("zhaxi"))

    # shilong's secretary lists shilong's open subtask only; dahetan's verified one still
    # counts, unnamed.
    assert by_village["task"] == {
        "progress": 0.5,
        "subtasks": {"totalCount": 1, "edges": [{"node": {"orgUnit": {"name": "shilong"}}}]},
    }
    assert by_county["task"]["progress"] == 0.5
    assert by_county["task"]["subtasks"]["totalCount"] == 2


async def test_a_cancelled_subtask_counts_for_no_reader(tree: Tree) -> None:
    parts = await move_zhaxi_task_to_shilong(tree)
    await Task.filter(id=parts["shilong"]).update(status=TaskStatus.CANCELLED)

    by_village = await data(tree, "village_sec", PROGRESS, id=tree.task_gid("zhaxi"))
    by_county = await data(tree, "county_admin", PROGRESS, id=tree.task_gid("zhaxi"))

    assert by_village["task"] == {
        "progress": 1.0,
        "subtasks": {"totalCount": 1, "edges": [{"node": {"orgUnit": {"name": "shilong"}}}]},
    }
    assert by_county["task"]["progress"] == 1.0


def cleanup_at(
    tree: Tree, unit: str, task_id: str, day: int, water: int | None = None
) -> dict[str, Any]:
    given = {
        "type": "CLEANUP",
        "orgUnitId": tree.unit_gid(unit),
        "taskId": task_id,
        "occurredAt": datetime(2026, 5, day, 9, tzinfo=UTC).isoformat(),
        "summary": f"clean-up on day {day}",
        "cleanup": {"participants": 10, "garbageKg": 80},
    }
    if water is not None:
        given["waterBodyId"] = to_global_id("WaterBody", water)
    return given


async def test_quota_done_is_the_same_number_for_every_reader_records_stay_hidden(
    tree: Tree,
) -> None:
    segment = await WaterBody.create(code="zxh-sl", name="扎西河石龙段", kind=WaterKind.SEGMENT)
    await segment.units.add(tree.units["shilong"])
    await tree.engine.reload()
    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Three clean-ups",
        category="CLEANUP",
        orgUnitId=tree.unit_gid("shilong"),
        quotaTarget=3,
        quotaRecordType="CLEANUP",
        quotaPeriod={"from": "2026-01-01", "to": "2026-12-31"},
    )
    quota_task = created["task"]["id"]
    filed = [
        # in the village, naming no water: counts
        ("village_sec", cleanup_at(tree, "shilong", quota_task, 1)),
        # at the township itself, naming no water: not the village's work
        ("zhaxi_head", cleanup_at(tree, "zhaxi", quota_task, 2)),
        # at the next village, on shilong's segment: counts, out of the village's sight
        ("zhaxi_head", cleanup_at(tree, "dahetan", quota_task, 3, segment.id)),
    ]
    for username, given in filed:
        answer = await payload(tree, username, CREATE_RECORD, **given)
        assert answer["errors"] == [], answer

    by_village = await data(tree, "village_sec", QUOTA, id=quota_task)
    by_township = await data(tree, "zhaxi_head", QUOTA, id=quota_task)

    assert by_village["task"] == {"quota": {"target": 3, "done": 2}, "records": {"totalCount": 1}}
    assert by_township["task"] == {
        "quota": {"target": 3, "done": 2},
        "records": {"totalCount": 3},
    }


# -- history -------------------------------------------------------------------------------


async def luobu_task_moved_to_shilong(tree: Tree) -> str:
    """A county task first held by luobu (and one of its people), then moved to shilong."""
    created = await payload(
        tree,
        "county_admin",
        CREATE_TASK,
        title="Clear the weirs",
        category="CLEANUP",
        orgUnitId=tree.unit_gid("luobu"),
        assigneeId=to_global_id("Person", tree.people["luobu"].id),
    )
    assert created["errors"] == [], created
    task_id: str = created["task"]["id"]
    moved = await payload(
        tree, "county_admin", ASSIGN, taskId=task_id, orgUnitId=tree.unit_gid("shilong")
    )
    assert moved["errors"] == [], moved
    return task_id


def snapshot(tree: Tree, unit: str | int, assignee: str | int | None, version: int) -> Any:
    return {
        "status": "ASSIGNED",
        "org_unit_id": unit,
        "issuer_unit_id": tree.units["weixin"].id,
        "assignee_id": assignee,
        "due_at": None,
        "version": version,
    }


async def test_history_hides_the_unit_a_task_came_from(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)
    luobu, shilong = tree.units["luobu"], tree.units["shilong"]
    luobu_person = tree.people["luobu"].id

    by_village = (await data(tree, "village_sec", HISTORY, id=task_id))["task"]["history"]
    by_county = (await data(tree, "county_admin", HISTORY, id=task_id))["task"]["history"]

    assert [(e["action"], e["orgPath"], e["before"], e["after"]) for e in by_village] == [
        (
            "task.create",
            OUTSIDE_SCOPE,
            None,
            {
                "title": "Clear the weirs",
                "parent_id": None,
                **snapshot(tree, OUTSIDE_SCOPE, OUTSIDE_SCOPE, 1),
            },
        ),
        (
            "task.assign",
            shilong.path,
            snapshot(tree, OUTSIDE_SCOPE, OUTSIDE_SCOPE, 1),
            snapshot(tree, shilong.id, None, 2),
        ),
    ]
    assert [(e["action"], e["orgPath"], e["before"], e["after"]) for e in by_county] == [
        (
            "task.create",
            luobu.path,
            None,
            {
                "title": "Clear the weirs",
                "parent_id": None,
                **snapshot(tree, luobu.id, luobu_person, 1),
            },
        ),
        (
            "task.assign",
            shilong.path,
            snapshot(tree, luobu.id, luobu_person, 1),
            snapshot(tree, shilong.id, None, 2),
        ),
    ]


async def test_audit_events_and_node_redact_like_history(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)
    shilong = tree.units["shilong"]

    listed = await data(tree, "village_sec", EVENTS, filter={"entityId": task_id})
    (edge,) = listed["auditEvents"]["edges"]  # task.create belongs to luobu: not listed
    node = await data(tree, "village_sec", EVENT, id=edge["node"]["id"])

    assert edge["node"]["action"] == "task.assign"
    assert edge["node"]["orgPath"] == shilong.path
    assert edge["node"]["before"] == snapshot(tree, OUTSIDE_SCOPE, OUTSIDE_SCOPE, 1)
    assert edge["node"]["after"] == snapshot(tree, shilong.id, None, 2)
    assert edge["node"]["actor"] is None  # the county's account is out of the village's reach
    assert node["node"] == {
        "action": "task.assign",
        "orgPath": shilong.path,
        "before": snapshot(tree, OUTSIDE_SCOPE, OUTSIDE_SCOPE, 1),
        "after": snapshot(tree, shilong.id, None, 2),
    }


async def test_redaction_leaves_the_stored_event_and_its_chain_alone(tree: Tree) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)
    await data(tree, "village_sec", HISTORY, id=task_id)

    stored = await AuditEvent.get(action="task.assign")
    chain = await data(tree, "county_admin", VERIFY_CHAIN)

    assert stored.before == snapshot(tree, tree.units["luobu"].id, tree.people["luobu"].id, 1)
    assert chain["verifyAuditChain"] == {"ok": True, "firstBrokenSeq": None}


async def test_a_decomposition_lists_only_the_readable_subtasks(tree: Tree) -> None:
    parts = await move_zhaxi_task_to_shilong(tree)

    history = (await data(tree, "village_sec", HISTORY, id=tree.task_gid("zhaxi")))["task"][
        "history"
    ]

    decomposed = next(e for e in history if e["action"] == "task.decompose")
    assert decomposed["after"] == {"subtask_ids": [parts["shilong"]], "version": 2}


async def test_a_history_page_costs_the_same_statements_for_5_and_50_events(
    tree: Tree,
) -> None:
    task_id = await luobu_task_moved_to_shilong(tree)

    async def statements(moves: int) -> int:
        for n in range(moves):
            unit = ("dahetan", "shilong")[n % 2]
            moved = await payload(
                tree, "county_admin", ASSIGN, taskId=task_id, orgUnitId=tree.unit_gid(unit)
            )
            assert moved["errors"] == [], moved
        with counting_statements() as counter:
            result = await schema.execute(
                HISTORY, {"id": task_id}, context_value=tree.context_for("village_sec")
            )
        assert result.errors is None, result.errors
        return counter.value

    few = await statements(3)
    many = await statements(45)

    assert few == many, f"{few} statements for 5 events, {many} for 50"


# -- moving a task -------------------------------------------------------------------------


async def test_a_move_that_would_strand_open_subtasks_is_refused(tree: Tree) -> None:
    parts = await split_between_villages(tree)
    before = {t.id: (t.org_unit_id, t.status, t.version) for t in await Task.all()}
    seq = await last_seq()

    refused = await move(tree, "county_admin", tree.tasks["zhaxi"].id, "shilong")

    assert refused["task"] is None
    assert error_codes(refused) == [("orgUnitId", "INVALID_TRANSITION")]
    assert {t.id: (t.org_unit_id, t.status, t.version) for t in await Task.all()} == before
    assert before[tree.tasks["zhaxi"].id][0] == tree.units["zhaxi"].id
    assert before[parts["dahetan"]][0] == tree.units["dahetan"].id
    assert await last_seq() == seq


async def test_a_move_within_the_subtree_of_every_open_subtask_goes_through(
    tree: Tree,
) -> None:
    await split_between_villages(tree)

    # Back up the tree is as good: zhaxi's subtree lies inside the county's.
    moved = await move(tree, "county_admin", tree.tasks["zhaxi"].id, "weixin")

    assert moved["errors"] == []
    assert moved["task"]["orgUnit"] == {"name": "weixin"}


async def test_a_subtask_does_not_move_out_of_its_parents_subtree(tree: Tree) -> None:
    parts = await move_zhaxi_task_to_shilong(tree)
    subtask = await Task.get(id=parts["shilong"])
    seq = await last_seq()

    # The subtask's issuer is still zhaxi, but its parent is now held by shilong.
    refused = await move(tree, "zhaxi_head", parts["shilong"], "dahetan")

    assert error_codes(refused) == [("orgUnitId", "VALIDATION")]
    after = await Task.get(id=parts["shilong"])
    assert (after.org_unit_id, after.version) == (subtask.org_unit_id, subtask.version)
    assert await last_seq() == seq

"""Who may do what in the upward loop, for every account of the test tree: report an issue
(`task.report:create`), close a reported task with feedback (`task:verify` at the receiving
unit), read the chain above a task (`Task.chainAbove`) and hand a task over to the level
above (`escalateTask` HAND_OVER); each refusal writes nothing, and the reads answer alike over
HTTP and the websocket."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.audit import AuditEvent
from models.enums import TaskOrigin
from models.record import AccountabilityRecord
from models.task import Task
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, Tree
from tests.graph import data, mutation_errors, run
from tests.http.client import running_app
from tests.http.test_websocket_authority import assert_the_socket_answers_as_http, token_for
from tests.resolvers.test_records import patrol_input

EVERYONE = sorted(ACCOUNTS)

REPORT = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) {
    task { origin status orgUnit { name } issuer { name } reporter { name } }
    errors { field code }
  }
}
"""
CLOSE = """
mutation($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { status feedback } errors { field code } }
}
"""
ESCALATE = """
mutation($input: EscalateTaskInput!) {
  escalateTask(input: $input) {
    record { type orgUnit { name } }
    handOver { origin status orgUnit { name } handOverOf { title } reporter { name } }
    errors { field code }
  }
}
"""
CHAIN = """
query($id: ID!) {
  task(id: $id) { chainAbove { title issuerName status task { title } } }
}
"""
READ = "query($id: ID!) { task(id: $id) { title status feedback } }"
RAISE = """
mutation($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""

# Where each account reports from (its own unit, or a unit below for a county) and where the
# report goes; None: refused with FORBIDDEN (no `task.report:create` anywhere).
REPORTS: dict[str, tuple[str, str] | None] = {
    "county_admin": ("zhaxi", "weixin"),  # from a unit below: a county has nothing above it
    "zhaxi_head": ("zhaxi", "weixin"),
    "luobu_head": ("luobu", "weixin"),
    "village_sec": ("shilong", "zhaxi"),
    "grid_leader": ("grid_a", "shilong"),
    "inspector": None,  # read-only
    "dept_head": ("water_bureau", "weixin"),
    "yzh_admin": ("tangchi", "yangzonghai"),
    "enterprise_chief": ("enterprise", "shilong"),
}


async def written() -> tuple[int, int, int]:
    return (
        await Task.all().count(),
        await AccountabilityRecord.all().count(),
        await AuditEvent.all().count(),
    )


def report_input(tree: Tree, unit: str) -> dict[str, Any]:
    return {"title": "Sewage pipe leaking", "orgUnitId": tree.unit_gid(unit)}


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_reports_an_issue_and_where_it_goes(tree: Tree, viewer: str) -> None:
    expected = REPORTS[viewer]
    unit = expected[0] if expected else ACCOUNTS[viewer][1]
    reporter = ACCOUNTS[viewer][1]  # the reporter's person is of its account's unit
    before = await written()

    result = await run(tree, viewer, REPORT, input=report_input(tree, unit))

    if expected is None:
        assert mutation_errors(result) == [(None, "FORBIDDEN")]
        assert await written() == before
        return
    assert result.errors is None, result.errors
    assert result.data == {
        "reportIssue": {
            "task": {
                "origin": "REPORTED",
                "status": "ASSIGNED",
                "orgUnit": {"name": expected[1]},
                "issuer": {"name": expected[1]},
                "reporter": {"name": f"person of {reporter}"},
            },
            "errors": [],
        }
    }


@pytest.mark.parametrize(
    ("viewer", "unit", "refusal"),
    [
        ("grid_leader", "shilong", ("orgUnitId", "FORBIDDEN")),  # seen from below, not its own
        ("grid_leader", "grid_b", ("orgUnitId", "NOT_FOUND")),  # outside its sight
        ("village_sec", "luobu_village", ("orgUnitId", "NOT_FOUND")),
        ("enterprise_chief", "grid_a", ("orgUnitId", "NOT_FOUND")),
    ],
)
async def test_an_issue_is_reported_only_from_a_unit_one_may_report_from(
    tree: Tree, viewer: str, unit: str, refusal: tuple[str, str]
) -> None:
    before = await written()

    result = await run(tree, viewer, REPORT, input=report_input(tree, unit))

    assert mutation_errors(result) == [refusal]
    assert await written() == before


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"title": ""}, "title"),
        ({"evidenceIds": [to_global_id("Task", 1)]}, "evidenceIds"),
        ({"evidenceIds": ["not-an-id"]}, "evidenceIds"),
        ({"waterBodyId": to_global_id("WaterBody", 999)}, "waterBodyId"),
        ({"recordId": to_global_id("Record", 999)}, "recordId"),
    ],
)
async def test_a_bad_report_is_refused_in_the_payload_and_writes_nothing(
    tree: Tree, given: dict[str, Any], field: str
) -> None:
    before = await written()

    result = await run(tree, "grid_leader", REPORT, input=report_input(tree, "grid_a") | given)

    assert mutation_errors(result) in ([(field, "VALIDATION")], [(field, "NOT_FOUND")])
    assert await written() == before


async def test_a_top_level_unit_has_nowhere_to_report_to(tree: Tree) -> None:
    """A county administrator holds `task.report:create` (to grant it), but a county has
    nothing above it."""
    before = await written()

    result = await run(tree, "county_admin", REPORT, input=report_input(tree, "weixin"))

    assert mutation_errors(result) == [("orgUnitId", "VALIDATION")]
    assert await written() == before


async def reported_by_grid_leader(tree: Tree) -> str:
    result = await data(tree, "grid_leader", REPORT, input=report_input(tree, "grid_a"))
    assert result["reportIssue"]["errors"] == []
    task = await Task.filter(origin=TaskOrigin.REPORTED).order_by("-id").first()
    assert task is not None
    return to_global_id("Task", task.id)


# Who closes a task reported from grid_a to shilong: the receiving side and above it.
CLOSES = {
    "county_admin": "VERIFIED",
    "zhaxi_head": "VERIFIED",
    "village_sec": "VERIFIED",
    "grid_leader": "FORBIDDEN",  # the reporter reads it, never closes it
    "inspector": "FORBIDDEN",
    "luobu_head": "NOT_FOUND",
    "dept_head": "NOT_FOUND",
    "yzh_admin": "NOT_FOUND",
    "enterprise_chief": "NOT_FOUND",
}


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_closes_a_reported_task_with_feedback(tree: Tree, viewer: str) -> None:
    task_id = await reported_by_grid_leader(tree)
    before = await written()
    close = {"taskId": task_id, "action": "VERIFY", "feedback": "Fixed the pipe."}

    result = await run(tree, viewer, CLOSE, input=close)

    if CLOSES[viewer] == "VERIFIED":
        assert result.data == {
            "transitionTask": {
                "task": {"status": "VERIFIED", "feedback": "Fixed the pipe."},
                "errors": [],
            }
        }
        return
    field: str | None = "action" if CLOSES[viewer] == "FORBIDDEN" else "taskId"
    if viewer == "inspector":
        field = None  # refused by the field's guard: it holds none of the rights
    assert mutation_errors(result) == [(field, CLOSES[viewer])]
    assert await written() == before


async def test_feedback_is_given_only_when_closing(tree: Tree) -> None:
    task_id = await reported_by_grid_leader(tree)
    before = await written()

    result = await run(
        tree, "village_sec", CLOSE, input={"taskId": task_id, "action": "START", "feedback": "x"}
    )

    assert mutation_errors(result) == [("feedback", "VALIDATION")]
    assert await written() == before


async def test_an_issued_task_closes_as_before_and_may_carry_feedback(tree: Tree) -> None:
    """Handed-down tasks keep their workflow: VERIFY from SUBMITTED only, feedback optional."""
    task_id = tree.task_gid("grid_a")
    early = await run(tree, "village_sec", CLOSE, input={"taskId": task_id, "action": "VERIFY"})
    assert mutation_errors(early) == [("action", "INVALID_TRANSITION")]
    for action in ("START", "SUBMIT"):
        await data(tree, "grid_leader", CLOSE, input={"taskId": task_id, "action": action})

    closed = await data(
        tree,
        "village_sec",
        CLOSE,
        input={"taskId": task_id, "action": "VERIFY", "feedback": "Well done."},
    )

    assert closed["transitionTask"]["task"] == {"status": "VERIFIED", "feedback": "Well done."}


async def chain_of_four(tree: Tree) -> None:
    """The fixture's tasks as one chain: weixin's → zhaxi's → shilong's → grid_a's."""
    for child, parent in (("zhaxi", "weixin"), ("shilong", "zhaxi"), ("grid_a", "shilong")):
        await Task.filter(id=tree.tasks[child].id).update(parent_id=tree.tasks[parent].id)


# What each account reads of grid_a's task's chain: None when it may not read grid_a's task,
# else the tasks above it it reads in full (the context of each it reads anyway).
CHAIN_SEEN: dict[str, list[str] | None] = {
    "county_admin": ["shilong", "zhaxi", "weixin"],
    "inspector": ["shilong", "zhaxi", "weixin"],
    "zhaxi_head": ["shilong", "zhaxi"],
    "village_sec": ["shilong"],
    "grid_leader": [],
    "luobu_head": None,
    "dept_head": None,
    "yzh_admin": None,
    "enterprise_chief": None,
}


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_reads_the_chain_above_a_task(tree: Tree, viewer: str) -> None:
    await chain_of_four(tree)

    found = await data(tree, viewer, CHAIN, id=tree.task_gid("grid_a"))

    seen = CHAIN_SEEN[viewer]
    if seen is None:
        assert found == {"task": None}
        return
    issuers = {"shilong": "zhaxi", "zhaxi": "weixin", "weixin": "weixin"}
    assert found["task"]["chainAbove"] == [
        {
            "title": f"task of {unit}",
            "issuerName": issuers[unit],
            "status": "ASSIGNED",
            "task": {"title": f"task of {unit}"} if unit in seen else None,
        }
        for unit in ("shilong", "zhaxi", "weixin")
    ]


# Who may hand grid_a's task (held by grid_a, issued by shilong) over to the level above.
HANDS_OVER = {
    "grid_leader": "shilong",
    "village_sec": "shilong",  # `task.report:create` at shilong covers grid_a
    "zhaxi_head": "shilong",
    "county_admin": "shilong",
    "inspector": (None, "FORBIDDEN"),  # read-only: neither right anywhere
    "luobu_head": ("taskId", "NOT_FOUND"),
    "dept_head": ("taskId", "NOT_FOUND"),
    "yzh_admin": ("taskId", "NOT_FOUND"),
    "enterprise_chief": ("taskId", "NOT_FOUND"),
}


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_hands_a_task_over_to_the_level_above(tree: Tree, viewer: str) -> None:
    expected = HANDS_OVER[viewer]
    before = await written()
    given = {"taskId": tree.task_gid("grid_a"), "note": "Needs an excavator.", "mode": "HAND_OVER"}

    result = await run(tree, viewer, ESCALATE, input=given)

    if isinstance(expected, tuple):
        assert mutation_errors(result) == [expected]
        assert await written() == before
        return
    assert result.errors is None, result.errors
    assert result.data is not None
    payload = result.data["escalateTask"]
    assert payload["errors"] == []
    assert payload["record"] == {"type": "ESCALATION", "orgUnit": {"name": "grid_a"}}
    owner = ACCOUNTS[viewer][1]
    assert payload["handOver"] == {
        "origin": "REPORTED",
        "status": "ASSIGNED",
        "orgUnit": {"name": expected},
        "handOverOf": {"title": "task of grid_a"},
        "reporter": {"name": f"person of {owner}"},
    }


async def test_one_open_hand_over_per_task_and_a_press_still_presses(tree: Tree) -> None:
    given = {"taskId": tree.task_gid("grid_a"), "note": "Needs an excavator.", "mode": "HAND_OVER"}
    await data(tree, "grid_leader", ESCALATE, input=given)
    before = await written()

    again = await run(tree, "grid_leader", ESCALATE, input=given)
    assert mutation_errors(again) == [("taskId", "INVALID_TRANSITION")]
    assert await written() == before

    # PRESS (the default) is the issuing side's, for an overdue task only, as before.
    press = {"taskId": tree.task_gid("grid_a"), "note": "Hurry."}
    not_due = await run(tree, "village_sec", ESCALATE, input=press)
    assert mutation_errors(not_due) == [("taskId", "INVALID_TRANSITION")]
    by_holder = await run(tree, "grid_leader", ESCALATE, input=press)
    assert mutation_errors(by_holder) == [("taskId", "FORBIDDEN")]


async def test_the_reads_answer_alike_over_http_and_the_websocket(
    db: TortoiseContext, tree: Tree
) -> None:
    await chain_of_four(tree)
    reported = await reported_by_grid_leader(tree)
    operations = [
        (CHAIN, {"id": tree.task_gid("grid_a")}),
        (READ, {"id": reported}),
        (READ, {"id": tree.task_gid("shilong")}),
    ]
    over_http: dict[str, list[Any]] = {}
    async with running_app() as client:
        for viewer in EVERYONE:
            token = token_for(tree.users[viewer])
            over_http[viewer] = [await client.run(q, v, token) for q, v in operations]
    for viewer in EVERYONE:
        assert over_http[viewer][0] == {
            "data": await data(tree, viewer, CHAIN, id=tree.task_gid("grid_a"))
        }
    reporter_reads = over_http["grid_leader"]
    assert reporter_reads[1] == {
        "data": {"task": {"title": "Sewage pipe leaking", "status": "ASSIGNED", "feedback": None}}
    }
    assert reporter_reads[2] == {"data": {"task": None}}
    assert over_http["enterprise_chief"][1] == {"data": {"task": None}}

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)


async def test_a_grid_leader_raising_a_task_from_a_patrol_is_pointed_to_report_issue(
    tree: Tree,
) -> None:
    """`raiseTask` hands a task down and needs `task:create`; one who may only report upward
    is refused as before, told to use `reportIssue` with the record, and nothing is written."""
    before = await written()
    patrol = patrol_input(tree, "grid_a")
    raised = {**patrol, "raiseTask": {"title": "Remove the plastic", "category": "OTHER"}}

    result = await run(tree, "grid_leader", RAISE, input=raised)

    assert mutation_errors(result) == [("orgUnitId", "FORBIDDEN")]
    assert result.errors is not None
    assert "reportIssue" in result.errors[0].message
    assert await written() == before
    filed = await data(tree, "grid_leader", RAISE, input=patrol)
    record_id = filed["createRecord"]["record"]["id"]
    report = report_input(tree, "grid_a") | {"recordId": record_id}
    reported = await data(tree, "grid_leader", REPORT, input=report)
    assert reported["reportIssue"]["errors"] == []

"""The task workflow through the graph: every transition, by the right and the wrong side."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.audit import AuditEvent
from models.enums import TaskStatus
from models.task import Task
from resolvers import task_commands
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.graph import (
    CREATE_TASK,
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

ASSIGN = """
mutation Assign($input: AssignTaskInput!) {
  assignTask(input: $input) {
    task { status version orgUnit { name } issuer { name } assignee { name } }
    errors { field code }
  }
}
"""

HISTORY = """
query History($id: ID!) {
  task(id: $id) { history { seq action actor { username } before after } }
}
"""

OPEN = ("DRAFT", "ASSIGNED", "IN_PROGRESS", "SUBMITTED", "REJECTED")
STATUSES = (*OPEN, "VERIFIED", "CANCELLED")
ACTIONS = ("START", "SUBMIT", "VERIFY", "REJECT", "CANCEL", "RETURN", "URGE", "REPLY")

# action: (statuses it applies to, the status it leads to; None keeps the status)
RULES: dict[str, tuple[frozenset[str], str | None]] = {
    "START": (frozenset({"ASSIGNED", "REJECTED"}), "IN_PROGRESS"),
    "SUBMIT": (frozenset({"IN_PROGRESS"}), "SUBMITTED"),
    "VERIFY": (frozenset({"SUBMITTED"}), "VERIFIED"),
    "REJECT": (frozenset({"SUBMITTED"}), "REJECTED"),
    "CANCEL": (frozenset(OPEN), "CANCELLED"),
    "RETURN": (frozenset({"ASSIGNED"}), "DRAFT"),
    "URGE": (frozenset(OPEN) - {"DRAFT"}, None),
    "REPLY": (frozenset(OPEN) - {"DRAFT"}, None),
}


async def stored(tree: Tree, name: str) -> tuple[str, int]:
    """The task's status and version as the database holds them."""
    row = await Task.get(id=tree.tasks[name].id)
    return row.status.value, row.version


async def history(tree: Tree, username: str, task_id: str) -> list[dict[str, Any]]:
    found = await data(tree, username, HISTORY, id=task_id)
    events: list[dict[str, Any]] = found["task"]["history"]
    return events


async def test_a_new_task_starts_assigned_issued_by_the_unit_above(tree: Tree) -> None:
    before = await last_seq()

    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Clear the Shilong weir",
        category="CLEANUP",
        orgUnitId=tree.unit_gid("shilong"),
        dueAt="2030-01-01T00:00:00+00:00",
    )

    assert created["errors"] == []
    new = created["task"]
    assert (new["status"], new["version"]) == ("ASSIGNED", 1)
    assert new["orgUnit"] == {"name": "shilong"}
    assert new["issuer"] == {"name": "zhaxi"}
    assert new["parent"] is None
    assert await actions_since(before) == ["task.create"]
    (event,) = await history(tree, "zhaxi_head", new["id"])
    assert event["actor"] == {"username": "zhaxi_head"}
    assert event["after"]["status"] == "ASSIGNED"


async def test_a_paired_department_reads_its_village_but_neither_issues_nor_verifies_there(
    tree: Tree,
) -> None:
    """A pairing passes on reading (and patrols and clean-ups), never issuing or verifying:
    the department sees its paired village's task, which stays the township's to sign off.
    (A department's own tasks it issues and verifies at its own unit.)"""
    before = await last_seq()
    gid = tree.task_gid("luobu_village")  # issued by luobu

    created = await payload(
        tree,
        "dept_head",
        CREATE_TASK,
        title="Six patrols of the paired segment",
        category="PATROL",
        orgUnitId=tree.unit_gid("luobu_village"),
    )
    seen = await task(tree, "dept_head", gid)
    started = await transition(tree, "luobu_head", gid, "START")
    submitted = await transition(tree, "luobu_head", gid, "SUBMIT")
    by_department = await transition(tree, "dept_head", gid, "VERIFY")

    assert created["task"] is None
    assert error_codes(created) == [("orgUnitId", "FORBIDDEN")]
    assert not await Task.filter(title="Six patrols of the paired segment").exists()
    assert (seen["title"], seen["orgUnit"]) == ("task of luobu_village", {"name": "luobu_village"})
    assert [started["errors"], submitted["errors"]] == [[], []]
    assert by_department["task"] is None
    assert error_codes(by_department) == [("action", "FORBIDDEN")]
    assert await stored(tree, "luobu_village") == ("SUBMITTED", 3)
    assert await actions_since(before) == ["task.start", "task.submit"]


async def test_a_unit_issues_to_itself_when_the_task_is_its_own(tree: Tree) -> None:
    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Township river-chief meeting minutes",
        category="OTHER",
        orgUnitId=tree.unit_gid("zhaxi"),
    )

    assert created["errors"] == []
    assert created["task"]["issuer"] == {"name": "zhaxi"}


async def test_a_subtask_is_issued_by_the_unit_holding_its_parent(tree: Tree) -> None:
    created = await payload(
        tree,
        "village_sec",
        CREATE_TASK,
        title="Patrol the grid's bank",
        category="PATROL",
        orgUnitId=tree.unit_gid("grid_a"),
        parentId=tree.task_gid("shilong"),
    )

    assert created["errors"] == []
    assert created["task"]["issuer"] == {"name": "shilong"}
    assert created["task"]["parent"] == {"id": tree.task_gid("shilong")}


async def test_a_subtask_goes_only_below_its_parent_unit(tree: Tree) -> None:
    before = await last_seq()

    refused = await payload(
        tree,
        "county_admin",
        CREATE_TASK,
        title="Wrong branch",
        category="PATROL",
        orgUnitId=tree.unit_gid("dahetan"),
        parentId=tree.task_gid("shilong"),
    )

    assert refused["task"] is None
    assert error_codes(refused) == [("orgUnitId", "VALIDATION")]
    assert await actions_since(before) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"title": "  "}, ("title", "VALIDATION")),
        ({"quotaTarget": 6}, ("quotaTarget", "VALIDATION")),
        ({"orgUnitId": "luobu_village"}, ("orgUnitId", "NOT_FOUND")),
    ],
)
async def test_create_task_refusals_write_nothing(
    tree: Tree, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    given: dict[str, Any] = {
        "title": "A task",
        "category": "OTHER",
        "orgUnitId": tree.unit_gid("shilong"),
        **changes,
    }
    if given["orgUnitId"] in tree.units:
        given["orgUnitId"] = tree.unit_gid(given["orgUnitId"])
    tasks_before, seq_before = await Task.all().count(), await last_seq()

    refused = await payload(tree, "zhaxi_head", CREATE_TASK, **given)

    assert refused["task"] is None
    assert error_codes(refused) == [expected]
    assert await Task.all().count() == tasks_before
    assert await last_seq() == seq_before


async def test_start_submit_verify_by_the_right_sides(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")

    started = await transition(tree, "grid_leader", gid, "START")
    submitted = await transition(tree, "grid_leader", gid, "SUBMIT")
    verified = await transition(tree, "village_sec", gid, "VERIFY")

    assert [p["errors"] for p in (started, submitted, verified)] == [[], [], []]
    assert [
        (p["task"]["status"], p["task"]["version"]) for p in (started, submitted, verified)
    ] == [
        ("IN_PROGRESS", 2),
        ("SUBMITTED", 3),
        ("VERIFIED", 4),
    ]
    events = await history(tree, "inspector", gid)
    assert [(e["action"], e["actor"]["username"]) for e in events] == [
        ("task.start", "grid_leader"),
        ("task.submit", "grid_leader"),
        ("task.verify", "village_sec"),
    ]
    assert events[2]["before"]["status"] == "SUBMITTED"
    assert events[2]["after"]["status"] == "VERIFIED"
    closed = await Task.get(id=tree.tasks["grid_a"].id)
    assert closed.closed_at is not None


async def test_a_rejected_task_is_started_again(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")
    await transition(tree, "grid_leader", gid, "START")
    await transition(tree, "grid_leader", gid, "SUBMIT")

    rejected = await transition(tree, "village_sec", gid, "REJECT", note="Photos missing.")
    restarted = await transition(tree, "grid_leader", gid, "START")
    await transition(tree, "grid_leader", gid, "SUBMIT")
    verified = await transition(tree, "village_sec", gid, "VERIFY")

    assert rejected["task"]["status"] == "REJECTED"
    assert restarted["task"]["status"] == "IN_PROGRESS"
    assert verified["task"]["status"] == "VERIFIED"
    actions = [e["action"] for e in await history(tree, "village_sec", gid)]
    assert actions == [
        "task.start",
        "task.submit",
        "task.reject",
        "task.start",
        "task.submit",
        "task.verify",
    ]
    reject_event = (await history(tree, "village_sec", gid))[2]
    assert reject_event["after"]["note"] == "Photos missing."


async def reach(tree: Tree, gid: str, status: str) -> None:
    """Bring a fresh task (ASSIGNED) to ``status`` through the API."""
    steps = {
        "DRAFT": [("grid_leader", "RETURN")],
        "ASSIGNED": [],
        "IN_PROGRESS": [("grid_leader", "START")],
        "SUBMITTED": [("grid_leader", "START"), ("grid_leader", "SUBMIT")],
        "REJECTED": [
            ("grid_leader", "START"),
            ("grid_leader", "SUBMIT"),
            ("village_sec", "REJECT"),
        ],
    }[status]
    for username, action in steps:
        done = await transition(tree, username, gid, action)
        assert done["errors"] == [], (status, action, done)
    assert (await task(tree, "village_sec", gid))["status"] == status


@pytest.mark.parametrize("status", OPEN)
async def test_the_issuer_cancels_from_every_open_state(tree: Tree, status: str) -> None:
    gid = tree.task_gid("grid_a")
    await reach(tree, gid, status)

    cancelled = await transition(tree, "village_sec", gid, "CANCEL", note="No longer needed.")
    again = await transition(tree, "village_sec", gid, "CANCEL")

    assert cancelled["errors"] == []
    assert cancelled["task"]["status"] == "CANCELLED"
    assert error_codes(again) == [("action", "INVALID_TRANSITION")]
    assert (await task(tree, "village_sec", gid))["status"] == "CANCELLED"


async def test_the_assignee_returns_a_task_within_a_day_and_it_is_reassigned(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")

    returned = await transition(tree, "grid_leader", gid, "RETURN", note="Not our stretch.")
    reassigned = await payload(
        tree, "village_sec", ASSIGN, taskId=gid, orgUnitId=tree.unit_gid("enterprise")
    )

    assert returned["errors"] == []
    assert returned["task"]["status"] == "DRAFT"
    assert reassigned["errors"] == []
    assert reassigned["task"]["status"] == "ASSIGNED"
    assert reassigned["task"]["orgUnit"] == {"name": "enterprise"}
    actions = [e["action"] for e in await history(tree, "village_sec", gid)]
    assert actions == ["task.return", "task.assign"]


async def backdate(tree: Tree, name: str, hours: float) -> None:
    """Pretend the fixture task was created and last changed ``hours`` ago."""
    then = datetime.now(UTC) - timedelta(hours=hours)
    await Task.filter(id=tree.tasks[name].id).update(created_at=then, updated_at=then)


async def test_a_task_held_more_than_a_day_cannot_be_returned(tree: Tree) -> None:
    await backdate(tree, "grid_a", 25)
    before = await last_seq()

    refused = await transition(tree, "grid_leader", tree.task_gid("grid_a"), "RETURN")

    assert error_codes(refused) == [("action", "INVALID_TRANSITION")]
    assert await stored(tree, "grid_a") == ("ASSIGNED", 1)
    assert await last_seq() == before


async def test_a_task_held_less_than_a_day_can_be_returned(tree: Tree) -> None:
    await backdate(tree, "grid_a", 23)

    returned = await transition(tree, "grid_leader", tree.task_gid("grid_a"), "RETURN")

    assert returned["errors"] == []
    assert returned["task"]["status"] == "DRAFT"


async def test_an_urge_does_not_reopen_the_return_window(tree: Tree) -> None:
    await backdate(tree, "grid_a", 25)
    gid = tree.task_gid("grid_a")

    urged = await transition(tree, "village_sec", gid, "URGE", note="Start this week.")
    refused = await transition(tree, "grid_leader", gid, "RETURN")

    assert urged["errors"] == []
    assert error_codes(refused) == [("action", "INVALID_TRANSITION")]
    assert await stored(tree, "grid_a") == ("ASSIGNED", 2)


async def test_a_reassigned_task_can_be_returned_by_its_new_holder(tree: Tree) -> None:
    await backdate(tree, "grid_a", 25)
    gid = tree.task_gid("grid_a")

    moved = await payload(
        tree, "village_sec", ASSIGN, taskId=gid, orgUnitId=tree.unit_gid("enterprise")
    )
    returned = await transition(tree, "enterprise_chief", gid, "RETURN")

    assert moved["errors"] == []
    assert returned["errors"] == []
    assert returned["task"]["status"] == "DRAFT"


async def test_urge_and_reply_need_a_note_and_are_kept_in_the_history(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")

    bare_urge = await transition(tree, "village_sec", gid, "URGE")
    blank_reply = await transition(tree, "grid_leader", gid, "REPLY", note="   ")
    urged = await transition(tree, "village_sec", gid, "URGE", note="Overdue next week.")
    replied = await transition(tree, "grid_leader", gid, "REPLY", note="Starting Friday.")

    assert error_codes(bare_urge) == [("note", "VALIDATION")]
    assert error_codes(blank_reply) == [("note", "VALIDATION")]
    assert (urged["task"]["status"], urged["task"]["version"]) == ("ASSIGNED", 2)
    assert (replied["task"]["status"], replied["task"]["version"]) == ("ASSIGNED", 3)
    events = await history(tree, "inspector", gid)
    assert [(e["action"], e["actor"]["username"], e["after"]["note"]) for e in events] == [
        ("task.urge", "village_sec", "Overdue next week."),
        ("task.reply", "grid_leader", "Starting Friday."),
    ]


async def test_every_transition_from_every_status(tree: Tree) -> None:
    """The whole table: allowed moves land where they should, the rest change nothing."""
    row = tree.tasks["grid_a"]
    gid = tree.task_gid("grid_a")
    grid_user = tree.users["grid_leader"].id
    outcomes: dict[tuple[str, str], str] = {}
    for status in STATUSES:
        for action in ACTIONS:
            await Task.filter(id=row.id).update(
                status=TaskStatus(status),
                version=1,
                submitted_by_id=grid_user if status == "SUBMITTED" else None,
                created_at=datetime.now(UTC),
            )
            before = await last_seq()
            # county_admin holds every right on both sides of this task.
            done = await transition(
                tree, "county_admin", gid, action, note="noted", expected_version=1
            )
            sources, target = RULES[action]
            if status in sources:
                assert done["errors"] == [], (status, action, done)
                assert done["task"]["status"] == (target or status), (status, action)
                assert done["task"]["version"] == 2
                assert await actions_since(before) == [f"task.{action.lower()}"]
                outcomes[(status, action)] = "applied"
            else:
                assert error_codes(done) == [("action", "INVALID_TRANSITION")], (status, action)
                assert done["task"] is None
                assert await stored(tree, "grid_a") == (status, 1), (status, action)
                assert await last_seq() == before
                outcomes[(status, action)] = "refused"
    assert sum(1 for o in outcomes.values() if o == "applied") == sum(
        len(sources) for sources, _ in RULES.values()
    )


async def test_only_the_issuing_side_verifies(tree: Tree) -> None:
    # The task of shilong is issued by zhaxi; the village secretary holds the assignee side.
    gid = tree.task_gid("shilong")
    await transition(tree, "village_sec", gid, "START")
    await transition(tree, "village_sec", gid, "SUBMIT")
    before = await last_seq()

    own_verify = await transition(tree, "village_sec", gid, "VERIFY")
    own_reject = await transition(tree, "village_sec", gid, "REJECT")
    own_cancel = await transition(tree, "village_sec", gid, "CANCEL")

    assert error_codes(own_verify) == [("action", "FORBIDDEN")]
    assert error_codes(own_reject) == [("action", "FORBIDDEN")]
    assert error_codes(own_cancel) == [("action", "FORBIDDEN")]
    assert await stored(tree, "shilong") == ("SUBMITTED", 3)
    assert await last_seq() == before
    verified = await transition(tree, "zhaxi_head", gid, "VERIFY")
    assert verified["task"]["status"] == "VERIFIED"


async def test_nobody_verifies_their_own_submission(tree: Tree) -> None:
    # zhaxi_head reaches the assignee side of shilong's task too, but cannot sign off its work.
    gid = tree.task_gid("shilong")
    await transition(tree, "zhaxi_head", gid, "START")
    await transition(tree, "zhaxi_head", gid, "SUBMIT")
    before = await last_seq()

    refused = await transition(tree, "zhaxi_head", gid, "VERIFY")
    verified = await transition(tree, "county_admin", gid, "VERIFY")

    assert error_codes(refused) == [("action", "FORBIDDEN")]
    assert verified["errors"] == []
    assert verified["task"]["status"] == "VERIFIED"
    assert await actions_since(before) == ["task.verify"]


async def test_a_stale_expected_version_is_a_conflict(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")
    await transition(tree, "grid_leader", gid, "START", expected_version=1)
    before = await last_seq()

    stale = await transition(tree, "grid_leader", gid, "SUBMIT", expected_version=1)
    stale_assign = await payload(
        tree,
        "village_sec",
        ASSIGN,
        taskId=gid,
        assigneeId=to_global_id("Person", tree.people["grid_a"].id),
        expectedVersion=1,
    )

    assert error_codes(stale) == [("expectedVersion", "CONFLICT")]
    assert error_codes(stale_assign) == [("expectedVersion", "CONFLICT")]
    assert await stored(tree, "grid_a") == ("IN_PROGRESS", 2)
    assert await last_seq() == before
    fresh = await transition(tree, "grid_leader", gid, "SUBMIT", expected_version=2)
    assert fresh["task"]["version"] == 3


@pytest.mark.parametrize(
    "moves",
    [
        (("grid_leader", "START"), ("village_sec", "START")),
        (("grid_leader", "START"), ("village_sec", "CANCEL")),
        (("grid_leader", "RETURN"), ("village_sec", "URGE")),
    ],
)
async def test_two_concurrent_changes_of_one_version_never_both_apply(
    tree: Tree, moves: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    gid = tree.task_gid("grid_a")
    before = await last_seq()

    results = await asyncio.gather(
        *(
            transition(tree, user, gid, action, note="now", expected_version=1)
            for user, action in moves
        )
    )

    outcomes = sorted(tuple(error_codes(r)) for r in results)
    assert outcomes == [(), (("expectedVersion", "CONFLICT"),)] or outcomes == [
        (),
        (("taskId", "CONFLICT"),),
    ]
    winner = next(r for r in results if not r["errors"])
    assert await stored(tree, "grid_a") == (winner["task"]["status"], 2)
    assert len(await actions_since(before)) == 1


async def test_the_version_guard_holds_when_both_changes_passed_their_checks(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both commands read version 1 and are let through to the write together."""
    real = task_commands.apply_change
    both_checked = asyncio.Barrier(2)

    async def after_both_checked(*args: Any, **kwargs: Any) -> Task:
        await both_checked.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(task_commands, "apply_change", after_both_checked)
    gid = tree.task_gid("grid_a")
    before = await last_seq()

    results = await asyncio.gather(
        transition(tree, "grid_leader", gid, "START"),
        transition(tree, "village_sec", gid, "CANCEL"),
    )

    assert sorted(tuple(error_codes(r)) for r in results) == [(), (("taskId", "CONFLICT"),)]
    winner = next(r for r in results if not r["errors"])
    assert await stored(tree, "grid_a") == (winner["task"]["status"], 2)
    events = await AuditEvent.filter(seq__gt=before)
    assert len(events) == 1
    assert events[0].after is not None
    assert events[0].after["status"] == winner["task"]["status"]


async def test_assign_within_scope_to_a_person_and_another_unit(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")
    person = to_global_id("Person", tree.people["grid_a"].id)
    before = await last_seq()

    to_person = await payload(tree, "village_sec", ASSIGN, taskId=gid, assigneeId=person)
    to_unit = await payload(
        tree,
        "village_sec",
        ASSIGN,
        taskId=gid,
        orgUnitId=tree.unit_gid("enterprise"),
        expectedVersion=2,
    )

    assert to_person["errors"] == []
    assert to_person["task"]["assignee"] == {"name": "person of grid_a"}
    assert to_unit["errors"] == []
    assert to_unit["task"]["orgUnit"] == {"name": "enterprise"}
    assert to_unit["task"]["issuer"] == {"name": "shilong"}
    assert to_unit["task"]["assignee"] is None
    assert to_unit["task"]["status"] == "ASSIGNED"
    assert await actions_since(before) == ["task.assign", "task.assign"]
    events = await history(tree, "inspector", gid)
    assert events[-1]["before"]["org_unit_id"] == tree.units["grid_a"].id
    assert events[-1]["after"]["org_unit_id"] == tree.units["enterprise"].id


@pytest.mark.parametrize(
    ("username", "task_name", "changes", "expected"),
    [
        # a unit outside the viewer's scope reads as not found
        ("zhaxi_head", "shilong", {"orgUnitId": "luobu_village"}, ("orgUnitId", "NOT_FOUND")),
        # inside scope but not below the issuer
        ("county_admin", "shilong", {"orgUnitId": "luobu_village"}, ("orgUnitId", "VALIDATION")),
        # a person outside scope reads as not found
        ("zhaxi_head", "shilong", {"assigneeId": "luobu_village"}, ("assigneeId", "NOT_FOUND")),
        # a person of another unit
        ("zhaxi_head", "shilong", {"assigneeId": "dahetan"}, ("assigneeId", "VALIDATION")),
        # the assignee side cannot reassign what its issuer handed it
        ("village_sec", "shilong", {"orgUnitId": "grid_a"}, ("taskId", "FORBIDDEN")),
        # an out-of-scope task
        ("luobu_head", "zhaxi", {"orgUnitId": "luobu_village"}, ("taskId", "NOT_FOUND")),
    ],
)
async def test_assign_refusals_change_nothing(
    tree: Tree,
    username: str,
    task_name: str,
    changes: dict[str, str],
    expected: tuple[str, str],
) -> None:
    given: dict[str, Any] = {"taskId": tree.task_gid(task_name)}
    if "orgUnitId" in changes:
        given["orgUnitId"] = tree.unit_gid(changes["orgUnitId"])
    if "assigneeId" in changes:
        given["assigneeId"] = to_global_id("Person", tree.people[changes["assigneeId"]].id)
    before = await last_seq()

    refused = await payload(tree, username, ASSIGN, **given)

    assert refused["task"] is None
    assert error_codes(refused) == [expected]
    row = await Task.get(id=tree.tasks[task_name].id)
    assert (row.org_unit_id, row.assignee_id, row.version) == (
        tree.units[task_name].id,
        tree.people[task_name].id,
        1,
    )
    assert await last_seq() == before


@pytest.mark.parametrize("action", ACTIONS)
async def test_an_out_of_scope_task_is_not_found(tree: Tree, action: str) -> None:
    refused = await transition(tree, "luobu_head", tree.task_gid("zhaxi"), action, note="x")

    assert error_codes(refused) == [("taskId", "NOT_FOUND")]
    assert await stored(tree, "zhaxi") == ("ASSIGNED", 1)


async def test_an_inspector_cannot_change_tasks(tree: Tree) -> None:
    before = await last_seq()
    moved = await run(
        tree,
        "inspector",
        "mutation($i: TransitionTaskInput!) { transitionTask(input: $i) { task { id } } }",
        i={"taskId": tree.task_gid("grid_a"), "action": "CANCEL"},
    )
    created = await run(
        tree,
        "inspector",
        CREATE_TASK,
        input={"title": "x", "category": "OTHER", "orgUnitId": tree.unit_gid("zhaxi")},
    )

    assert moved.data is None
    assert codes(moved) == ["FORBIDDEN"]
    assert created.data is None
    assert codes(created) == ["FORBIDDEN"]
    assert await stored(tree, "grid_a") == ("ASSIGNED", 1)
    assert await last_seq() == before


async def test_a_grid_leader_progresses_its_grid_task_but_creates_none(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")

    started = await transition(tree, "grid_leader", gid, "START")
    submitted = await transition(tree, "grid_leader", gid, "SUBMIT")
    verify = await transition(tree, "grid_leader", gid, "VERIFY")
    issuer_side = [
        await transition(tree, "grid_leader", gid, action, note="self")
        for action in ("REJECT", "CANCEL", "URGE")
    ]
    elsewhere = await transition(tree, "grid_leader", tree.task_gid("grid_b"), "START")
    created = await run(
        tree,
        "grid_leader",
        CREATE_TASK,
        input={"title": "x", "category": "OTHER", "orgUnitId": tree.unit_gid("grid_a")},
    )

    assert started["task"]["status"] == "IN_PROGRESS"
    assert submitted["task"]["status"] == "SUBMITTED"
    assert error_codes(verify) == [("action", "FORBIDDEN")]
    assert [error_codes(r) for r in issuer_side] == [[("action", "FORBIDDEN")]] * 3
    assert error_codes(elsewhere) == [("taskId", "NOT_FOUND")]
    assert created.data is None
    assert codes(created) == ["FORBIDDEN"]
    assert await stored(tree, "grid_a") == ("SUBMITTED", 3)


async def test_a_note_longer_than_allowed_is_refused(tree: Tree) -> None:
    refused = await transition(
        tree, "village_sec", tree.task_gid("grid_a"), "URGE", note="x" * 2001
    )

    assert error_codes(refused) == [("note", "VALIDATION")]
    assert await stored(tree, "grid_a") == ("ASSIGNED", 1)

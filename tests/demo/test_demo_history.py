"""The demo's past: every task's history from its creation to its status, every grant's event,
by the demo accounts, at past times that fit the due dates, and the same trail for the same
load time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import pytest_asyncio

from core.checkpoint import origin_of
from core.context import RequestContext, Viewer
from core.security import TokenSigner
from demo.history import (
    COMPLAINT_TASKS,
    DEMO_RECEIPTS,
    PUBLIC_COMPLAINTS,
    REPORTED_ISSUES,
    REPORTED_TASKS,
    Step,
    plan_history,
)
from demo.loader import BEIJING, DUE_TIME, load_demo, read_demo
from models.audit import INSTALLATION, AuditEvent
from models.enums import CLOSED_STATUSES, TaskOrigin, TaskStatus
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from policies.engine import PolicyEngine
from schema.build import schema
from schema.node import to_global_id
from tests.conftest import demo_database, fresh_database
from tests.fixtures import TEST_LOG_KEYS, TEST_SECRET

NOW = datetime(2025, 6, 16, 2, 30, tzinfo=UTC)  # 10:30 in Yunnan
VERIFY_CHAIN = "{ verifyAuditChain { ok checked firstBrokenSeq logs { origin ok checked } } }"
TASK_HISTORY = """
query History($first: Int!) {
  tasks(first: $first) {
    totalCount
    edges { node { id status origin createdAt history { action at actor { username } } } }
  }
}
"""
# The status each action leaves a task in (None: the status stays).
LEADS_TO = {
    "task.create": "ASSIGNED",
    "task.start": "IN_PROGRESS",
    "task.submit": "SUBMITTED",
    "task.verify": "VERIFIED",
    "task.reject": "REJECTED",
    "task.cancel": "CANCELLED",
    "task.return": "DRAFT",
    "task.assign": None,
    "task.urge": None,
    "task.reply": None,
    "task.decompose": None,
}
ACTING_ACCOUNTS = (
    "county_admin",
    "zhaxi_head",
    "luobu_head",
    "village_sec",
    "grid_leader",
    "dept_head",
    "yzh_admin",
    "enterprise_chief",
    "basin_secretary",
)


# The tests read the demo and change nothing: one load serves the module's tests, which run
# in the module's event loop, the one the load's database connections belong to.
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[None]:
    async with demo_database(now=NOW):
        yield


async def _task_events() -> dict[int, list[AuditEvent]]:
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in await AuditEvent.filter(entity_type="task").order_by("seq"):
        events[int(event.entity_id)].append(event)
    return events


async def _usernames() -> dict[int | None, str]:
    return {user.id: user.username for user in await User.all()}


async def _context(username: str) -> RequestContext:
    engine = PolicyEngine()
    await engine.reload()
    user = await User.get(username=username)
    return RequestContext(
        viewer=Viewer(id=user.id, username=user.username, person_id=user.person_id),
        policy=engine,
        request_id="test-demo-history",
        signer=TokenSigner(TEST_SECRET, 60),
        log_keys=TEST_LOG_KEYS,
    )


async def _data(username: str, query: str, **variables: Any) -> Any:
    result = await schema.execute(query, variables, context_value=await _context(username))
    assert result.errors is None, result.errors
    return result.data


# -- tasks ----------------------------------------------------------------------------------


@in_module_loop
async def test_every_task_has_its_history_from_creation_to_its_status(demo: None) -> None:
    tasks = await Task.all()
    events = await _task_events()

    assert len(tasks) == len(read_demo().tasks) + REPORTED_TASKS + COMPLAINT_TASKS
    for task in tasks:
        history = events[task.id]
        assert history[0].action == "task.create", task.title
        assert history[0].at == task.created_at
        times = [e.at for e in history]
        assert times == sorted(times), task.title
        assert all(task.created_at <= at < NOW for at in times), task.title
        # A complaint is created by the public, without an account; every later step has one.
        public = task.origin is TaskOrigin.COMPLAINT
        assert (history[0].actor_id is None) is public, task.title
        assert all(e.actor_id is not None for e in history[1:]), task.title
        statuses = [LEADS_TO[e.action] for e in history if LEADS_TO[e.action] is not None]
        assert statuses[-1] == task.status.value, task.title
        # Each event's status is the one the task was left in, and the versions follow.
        for event in history[1:]:
            assert event.before is not None and event.after is not None
            if event.action != "task.decompose":
                assert event.after["status"] == LEADS_TO[event.action] or (
                    LEADS_TO[event.action] is None
                    and event.after["status"] == event.before["status"]
                ), (task.title, event.action)
        # Last changed by its last event, or by a subtask issued under it later.
        subtasks = [t.created_at for t in tasks if t.parent_id == task.id]
        assert task.updated_at == max([history[-1].at, *subtasks]), task.title
        if task.status in CLOSED_STATUSES:
            assert task.closed_at == history[-1].at


REPORTED = """
query($id: ID!) {
  task(id: $id) { title origin status feedback orgUnit { name } reporter { name } }
}
"""


@in_module_loop
async def test_the_grid_leader_reads_the_issues_it_reported_and_the_answers(demo: None) -> None:
    reported = await Task.filter(origin=TaskOrigin.REPORTED).order_by("created_at")
    village = await OrgUnit.get(name="石龙村")

    assert [t.title for t in reported] == [i.title for i in REPORTED_ISSUES]
    for task, issue in zip(reported, REPORTED_ISSUES, strict=True):
        found = await _data("grid_leader", REPORTED, id=to_global_id("Task", task.id))
        assert found["task"] == {
            "title": issue.title,
            "origin": "REPORTED",
            "status": "VERIFIED" if issue.feedback else "IN_PROGRESS",
            "feedback": issue.feedback,
            "orgUnit": {"name": village.name},
            "reporter": {"name": "王秀英"},
        }
        parts = await Task.filter(parent_id=task.id)
        assert [p.status for p in parts] == [
            TaskStatus.VERIFIED if issue.feedback else TaskStatus.IN_PROGRESS
        ]


PUBLIC_STATUS = """
query($receipt: String!) { complaintStatus(receipt: $receipt) { status feedback segmentName } }
"""
HANDLED_COMPLAINT = """
query($id: ID!) {
  task(id: $id) { origin status orgUnit { name } complaint { contact segment { name } } }
}
"""


@in_module_loop
async def test_the_complaints_tell_the_story_of_the_signs(demo: None) -> None:
    engine = PolicyEngine()
    await engine.reload()
    anonymous = RequestContext(viewer=None, policy=engine, request_id="test-demo-complaints")
    answers = []
    for receipt in DEMO_RECEIPTS:
        result = await schema.execute(PUBLIC_STATUS, {"receipt": receipt}, context_value=anonymous)
        assert result.errors is None, result.errors
        answers.append(result.data)

    assert answers == [
        {
            "complaintStatus": {
                "status": "CLOSED",
                "feedback": PUBLIC_COMPLAINTS[0].feedback,
                "segmentName": "倒流河罗布段",
            }
        },
        {
            "complaintStatus": {
                "status": "BEING_HANDLED",
                "feedback": None,
                "segmentName": "倒流河罗布段",
            }
        },
        {
            "complaintStatus": {
                "status": "RECEIVED",
                "feedback": None,
                "segmentName": "扎西河城区段",
            }
        },
    ]
    first = await Task.filter(origin=TaskOrigin.COMPLAINT).order_by("created_at").first()
    assert first is not None
    handled = await _data("luobu_head", HANDLED_COMPLAINT, id=to_global_id("Task", first.id))
    assert handled["task"] == {
        "origin": "COMPLAINT",
        "status": "VERIFIED",
        "orgUnit": {"name": "坪坝村"},
        "complaint": {"contact": "13987650123", "segment": {"name": "倒流河罗布段"}},
    }


@in_module_loop
async def test_a_verified_task_is_verified_by_another_account_than_its_submitter(
    demo: None,
) -> None:
    tasks = await Task.filter(status=TaskStatus.VERIFIED)
    events = await _task_events()
    names = await _usernames()

    assert len(tasks) >= 10
    verifiers = set()
    for task in tasks:
        submits = [e for e in events[task.id] if e.action == "task.submit"]
        verify = [e for e in events[task.id] if e.action == "task.verify"]
        assert submits and len(verify) == 1, task.title
        assert verify[0].actor_id != submits[-1].actor_id, task.title
        assert task.submitted_by_id == submits[-1].actor_id
        assert verify[0].at > submits[-1].at
        verifiers.add(names[verify[0].actor_id])
    assert {"county_admin", "zhaxi_head", "yzh_admin"} <= verifiers


@in_module_loop
async def test_subtasks_come_after_their_parent_and_close_before_it(demo: None) -> None:
    tasks = {t.id: t for t in await Task.all()}
    events = await _task_events()

    children = [t for t in tasks.values() if t.parent_id is not None]
    assert len(children) > 40
    for child in children:
        parent = tasks[child.parent_id or 0]
        assert child.created_at > parent.created_at, child.title
        verified = [e.at for e in events[parent.id] if e.action == "task.verify"]
        if verified:
            assert child.closed_at is not None and child.closed_at < verified[0]
    decomposed = [e for e in await AuditEvent.filter(action="task.decompose")]
    assert decomposed and all(len((e.after or {})["subtask_ids"]) >= 2 for e in decomposed)


@in_module_loop
async def test_tasks_were_issued_before_their_due_date_and_some_are_overdue(demo: None) -> None:
    tasks = await Task.all()
    events = await _task_events()

    for task in tasks:
        assert task.due_at is None or task.created_at < task.due_at, task.title
    overdue = [t for t in tasks if t.is_overdue(NOW)]
    assert len(overdue) >= 5
    for task in overdue:
        if task.status is TaskStatus.DRAFT:
            continue
        urges = [e for e in events[task.id] if e.action == "task.urge"]
        assert urges and all(e.at > (task.due_at or NOW) for e in urges), task.title


@in_module_loop
async def test_the_workflow_s_every_step_is_in_the_story(demo: None) -> None:
    actions = {e.action for e in await AuditEvent.filter(entity_type="task")}

    assert actions == set(LEADS_TO)


@in_module_loop
async def test_the_demo_accounts_are_the_ones_that_act(demo: None) -> None:
    names = await _usernames()
    events = await AuditEvent.filter(entity_type="task")
    actors = {names[e.actor_id] for e in events if e.actor_id is not None}
    # Only the public acts without an account: each complaint's task.create.
    public = [e.action for e in events if e.actor_id is None]
    assert public == ["task.create"] * COMPLAINT_TASKS

    assert set(ACTING_ACCOUNTS) <= actors
    assert "inspector" not in actors  # read-only
    illustrative = {a.username for a in read_demo().illustrative}
    assert actors <= set(ACTING_ACCOUNTS) | illustrative


@in_module_loop
async def test_a_subtask_is_issued_by_the_holder_of_its_parent(demo: None) -> None:
    tasks = {t.id: t for t in await Task.all()}
    creators = {
        int(e.entity_id): e.actor_id
        for e in await AuditEvent.filter(entity_type="task", action="task.create")
    }
    grants = {
        int(rule.v0.removeprefix("user:")): rule.v2.removesuffix("*")
        for rule in await CasbinRule.filter(ptype="g")
    }
    units = {u.id: u for u in await OrgUnit.all()}

    for task in tasks.values():
        creator = creators[task.id]
        if task.origin is TaskOrigin.COMPLAINT:  # from the public: nobody issued it
            assert creator is None and task.issued_by_id is None and task.reported_by_id is None
            assert task.issuer_unit_id == task.org_unit_id and task.parent_id is None
            continue
        assert creator is not None, task.title
        if task.origin is TaskOrigin.REPORTED:  # reported from below: held by the unit above
            assert task.issued_by_id is None and task.reported_by_id == creator
            receiver = units[task.org_unit_id].path  # the unit above the reporter's
            assert grants[creator].startswith(receiver), task.title
            assert grants[creator] != receiver, task.title
            continue
        assert task.issued_by_id == creator
        issuer = units[task.issuer_unit_id]
        assert issuer.path.startswith(grants[creator]), task.title  # the issuing side
        if task.parent_id is not None:
            assert task.issuer_unit_id == tasks[task.parent_id].org_unit_id


# -- grants and records -----------------------------------------------------------------------


@in_module_loop
async def test_every_grant_has_its_role_grant_event_before_any_task(demo: None) -> None:
    rules = await CasbinRule.filter(ptype="g")
    events = {
        (e.after["user_id"], e.after["role"], e.after["unit"]): e
        for e in await AuditEvent.filter(action="role.grant")
        if e.after is not None
    }
    first_task = await AuditEvent.filter(entity_type="task").order_by("seq").first()
    names = await _usernames()

    assert len(rules) == len(events) == len(read_demo().accounts) + len(read_demo().illustrative)
    for rule in rules:
        user_id = int(rule.v0.removeprefix("user:"))
        event = events[(user_id, rule.v1, rule.v2.removesuffix("*"))]
        assert first_task is not None and event.at < first_task.at and event.at < NOW
    granters = {names.get(e.actor_id) for e in events.values()}
    assert granters == {None, "county_admin", "yzh_admin"}
    bootstrap = [e for e in events.values() if (e.after or {}).get("bootstrap")]
    assert [names[int(e.entity_id)] for e in bootstrap] == ["county_admin"]


@in_module_loop
async def test_records_were_filed_after_they_happened_and_after_their_task(demo: None) -> None:
    records = await AccountabilityRecord.all()
    created = {t.id: t.created_at for t in await Task.all()}

    for record in records:
        assert record.occurred_at <= record.created_at < NOW, record.summary
        if record.ended_at is not None:
            assert record.ended_at <= record.created_at
        if record.task_id is not None:
            assert created[record.task_id] < record.occurred_at, record.summary


# -- reading the past -----------------------------------------------------------------------


async def _events_per_origin() -> dict[str, int]:
    """Stored events per county log, by the origin its checkpoints carry."""
    tops = {unit.id: unit.code for unit in await OrgUnit.filter(parent_id=None)}
    counted: dict[str, int] = {}
    for jurisdiction in await AuditEvent.exclude(jurisdiction=INSTALLATION).values_list(
        "jurisdiction", flat=True
    ):
        origin = origin_of(tops[cast(int, jurisdiction)])
        counted[origin] = counted.get(origin, 0) + 1
    return counted


@pytest.mark.parametrize("username", ["inspector", "county_admin"])
@in_module_loop
async def test_the_audit_log_checks_every_demo_event_of_the_county(
    demo: None, username: str
) -> None:
    stored = await _events_per_origin()

    report = (await _data(username, VERIFY_CHAIN))["verifyAuditChain"]

    assert report["ok"] and report["firstBrokenSeq"] is None
    logs = {log["origin"]: log for log in report["logs"]}
    assert logs, "the account reads its county's log"
    for origin, log in logs.items():
        assert log == {"origin": origin, "ok": True, "checked": stored[origin]}
    assert report["checked"] == sum(stored[origin] for origin in logs) > 150


@in_module_loop
async def test_the_demo_s_administrators_between_them_verify_every_county_log(
    demo: None,
) -> None:
    stored = await _events_per_origin()
    verified: dict[str, int] = {}
    for user in await User.filter(username__endswith="admin"):
        result = await schema.execute(VERIFY_CHAIN, context_value=await _context(user.username))
        if result.data is None:  # an administrator of no audit trail
            continue
        for log in result.data["verifyAuditChain"]["logs"]:
            assert log["ok"], log
            verified[log["origin"]] = log["checked"]

    assert verified == stored
    assert sum(verified.values()) == await AuditEvent.exclude(jurisdiction=INSTALLATION).count()


@in_module_loop
async def test_every_task_the_inspector_sees_has_its_history(demo: None) -> None:
    data = await _data("inspector", TASK_HISTORY, first=100)

    tasks = [edge["node"] for edge in data["tasks"]["edges"]]
    assert len(tasks) == data["tasks"]["totalCount"] > 40
    for task in tasks:
        history = task["history"]
        assert history and history[0]["action"] == "task.create"
        assert history[0]["at"] == task["createdAt"]
        # A complaint is received from the public, without an account; then accounts act.
        public = task["origin"] == "COMPLAINT"
        assert (history[0]["actor"] is None) is public, task
        assert all(entry["actor"] is not None for entry in history[1:])


# -- determinism ----------------------------------------------------------------------------


async def _trail() -> list[tuple[Any, ...]]:
    names = await _usernames()
    return [
        (
            e.seq,
            e.action,
            e.entity_type,
            e.entity_id,
            names.get(e.actor_id),
            e.org_path,
            e.at,
            e.before,
            e.after,
        )
        for e in await AuditEvent.all().order_by("seq")
    ]


async def test_the_same_load_time_gives_the_same_trail() -> None:
    trails = []
    for _ in range(2):
        async with fresh_database():
            assert await load_demo(now=NOW)
            trails.append(await _trail())

    assert trails[0] == trails[1]
    assert len(trails[0]) > 300


def test_another_load_time_moves_the_plan_with_it() -> None:
    data = read_demo()
    later = NOW + timedelta(days=10)

    plan, moved = (
        plan_history(data, NOW, BEIJING, DUE_TIME),
        plan_history(data, later, BEIJING, DUE_TIME),
    )

    def shape(steps: list[Step]) -> list[tuple[Any, ...]]:
        return [(s.kind, s.action, s.actor, s.tasks) for s in steps]

    assert shape(moved.steps) == shape(plan.steps)
    assert {b.at - a.at for a, b in zip(plan.steps, moved.steps, strict=True)} == {
        timedelta(days=10)
    }
    assert [(g.username, g.granter) for g in moved.grants] == [
        (g.username, g.granter) for g in plan.grants
    ]

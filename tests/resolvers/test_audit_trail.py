"""The audit trail: one event per change, scoped reads, filters, and a chain that proves itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.audit import AuditEvent
from models.task import Task
from resolvers.audit import chain_hash
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
    transition,
)

EVENTS = """
query Events($filter: AuditFilter) {
  auditEvents(filter: $filter, first: 100) {
    totalCount
    edges { node { seq action entityType entityId orgPath actor { id username } after } }
  }
}
"""

VERIFY = "{ verifyAuditChain { ok checked firstBrokenSeq } }"

CREATE_RECORD = """
mutation Record($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code } }
}
"""

GRANT = """
mutation Grant($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role } errors { field code } }
}
"""

REVOKE = """
mutation Revoke($input: GrantRoleInput!) {
  revokeRole(input: $input) { grant { role } errors { field code } }
}
"""

ASSIGN = """
mutation Assign($input: AssignTaskInput!) {
  assignTask(input: $input) { task { id } errors { field code } }
}
"""

DECOMPOSE = """
mutation Decompose($input: DecomposeTaskInput!) {
  decomposeTask(input: $input) { subtasks { id } errors { field code } }
}
"""

ESCALATE = """
mutation Escalate($input: EscalateTaskInput!) {
  escalateTask(input: $input) { record { id } errors { field code } }
}
"""

LOGIN = """
mutation Login($u: String!, $p: String!) {
  login(username: $u, password: $p) { token errors { code } }
}
"""


def cleanup(tree: Tree, unit: str, summary: str) -> dict[str, Any]:
    return {
        "type": "CLEANUP",
        "orgUnitId": tree.unit_gid(unit),
        "occurredAt": "2030-05-03T09:00:00+00:00",
        "summary": summary,
        "cleanup": {"participants": 10, "garbageKg": 80},
    }


async def events(tree: Tree, username: str, **conditions: Any) -> list[dict[str, Any]]:
    found = await data(tree, username, EVENTS, filter=conditions or None)
    nodes: list[dict[str, Any]] = [e["node"] for e in found["auditEvents"]["edges"]]
    return nodes


async def new_events(before: int) -> list[tuple[str, str | None]]:
    """(action, actor username) of every event after ``before``, oldest first."""
    rows = await AuditEvent.filter(seq__gt=before).order_by("seq").prefetch_related("actor")
    return [(e.action, e.actor.username if e.actor else None) for e in rows]


async def test_every_kind_of_change_writes_exactly_its_events(tree: Tree) -> None:
    await Task.filter(id=tree.tasks["grid_b"].id).update(
        due_at=datetime.now(UTC) - timedelta(days=1)
    )
    grid_leader = tree.user_gid("grid_leader")
    dahetan = tree.unit_gid("dahetan")

    async def step(username: str | None, query: str, **variables: Any) -> list[Any]:
        before = await last_seq()
        result = await run(tree, username, query, **variables)
        assert result.errors is None, result.errors
        (value,) = (result.data or {}).values()
        assert not value["errors"] if username else True, value
        return await new_events(before)

    created = await step(
        "zhaxi_head",
        CREATE_TASK,
        input={"title": "New", "category": "OTHER", "orgUnitId": tree.unit_gid("shilong")},
    )
    new_task = await Task.get(title="New")
    new_gid = to_global_id("Task", new_task.id)
    assigned = await step(
        "zhaxi_head",
        ASSIGN,
        input={"taskId": new_gid, "orgUnitId": tree.unit_gid("dahetan")},
    )
    started = await step(
        "grid_leader",
        "mutation($i: TransitionTaskInput!) { transitionTask(input: $i) { errors { code } } }",
        i={"taskId": tree.task_gid("grid_a"), "action": "START"},
    )
    decomposed = await step(
        "village_sec",
        DECOMPOSE,
        input={
            "taskId": tree.task_gid("shilong"),
            "parts": [{"orgUnitId": tree.unit_gid("grid_a")}],
        },
    )
    escalated = await step(
        "zhaxi_head", ESCALATE, input={"taskId": tree.task_gid("grid_b"), "note": "Late."}
    )
    recorded = await step("zhaxi_head", CREATE_RECORD, input=cleanup(tree, "shilong", "c"))
    granted = await step(
        "zhaxi_head",
        GRANT,
        input={"userId": grid_leader, "role": "village_secretary", "orgUnitId": dahetan},
    )
    revoked = await step(
        "zhaxi_head",
        REVOKE,
        input={"userId": grid_leader, "role": "village_secretary", "orgUnitId": dahetan},
    )
    logged_in = await step(None, LOGIN, u="zhaxi_head", p="demo-pass")
    before = await last_seq()
    failed_login = await run(tree, None, LOGIN, u="zhaxi_head", p="wrong")

    assert created == [("task.create", "zhaxi_head")]
    assert assigned == [("task.assign", "zhaxi_head")]
    assert started == [("task.start", "grid_leader")]
    assert decomposed == [("task.create", "village_sec"), ("task.decompose", "village_sec")]
    assert escalated == [("record.create", "zhaxi_head"), ("task.escalate", "zhaxi_head")]
    assert recorded == [("record.create", "zhaxi_head")]
    assert granted == [("role.grant", "zhaxi_head")]
    assert revoked == [("role.revoke", "zhaxi_head")]
    assert logged_in == []
    assert failed_login.data == {
        "login": {"token": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    }
    assert await new_events(before) == [("user.login_failed", None)]
    assert (await data(tree, "inspector", VERIFY))["verifyAuditChain"]["ok"] is True


async def test_refused_changes_write_no_event(tree: Tree) -> None:
    before = await last_seq()

    refusals = [
        # workflow, validation, conflict, scope and permission refusals in payloads
        await transition(tree, "grid_leader", tree.task_gid("grid_a"), "SUBMIT"),
        await transition(tree, "grid_leader", tree.task_gid("grid_a"), "START", expected_version=7),
        await transition(tree, "village_sec", tree.task_gid("shilong"), "VERIFY"),
        await transition(tree, "luobu_head", tree.task_gid("grid_a"), "START"),
        await payload(
            tree,
            "zhaxi_head",
            CREATE_TASK,
            title="",
            category="OTHER",
            orgUnitId=tree.unit_gid("shilong"),
        ),
        await payload(tree, "zhaxi_head", CREATE_RECORD, **cleanup(tree, "luobu", "theirs")),
        await payload(
            tree,
            "village_sec",
            GRANT,
            userId=tree.user_gid("grid_leader"),
            role="township_head",
            orgUnitId=tree.unit_gid("shilong"),
        ),
        await payload(
            tree, "village_sec", ESCALATE, taskId=tree.task_gid("grid_a"), note="not late yet"
        ),
    ]
    not_a_finding = await payload(tree, "inspector", CREATE_RECORD, **cleanup(tree, "zhaxi", "x"))
    forbidden = await run(
        tree,
        "inspector",
        CREATE_TASK,
        input={"title": "x", "category": "OTHER", "orgUnitId": tree.unit_gid("zhaxi")},
    )

    assert all(r["errors"] for r in refusals), refusals
    assert error_codes(not_a_finding) == [("orgUnitId", "FORBIDDEN")]
    assert codes(forbidden) == ["FORBIDDEN"]
    assert await last_seq() == before


async def test_audit_events_are_scoped_by_org_path(tree: Tree) -> None:
    await payload(tree, "zhaxi_head", CREATE_RECORD, **cleanup(tree, "shilong", "zhaxi's"))
    await payload(tree, "luobu_head", CREATE_RECORD, **cleanup(tree, "luobu_village", "luobu's"))
    await payload(tree, "yzh_admin", CREATE_RECORD, **cleanup(tree, "qixing", "yangzonghai's"))
    await run(tree, None, LOGIN, u="nobody", p="x")
    units = {u.path: name for name, u in tree.units.items()}

    seen = {
        who: sorted(units[e["orgPath"]] for e in await events(tree, who))
        for who in ("zhaxi_head", "luobu_head", "inspector", "county_admin", "yzh_admin")
    }
    by_grid_leader = await run(tree, "grid_leader", EVENTS)

    assert seen == {
        "zhaxi_head": ["shilong"],
        "luobu_head": ["luobu_village"],
        "inspector": ["luobu_village", "shilong"],
        "county_admin": ["luobu_village", "shilong"],
        "yzh_admin": ["qixing"],
    }
    assert codes(by_grid_leader) == ["FORBIDDEN"]


async def test_audit_events_filter_by_entity_actor_and_action(tree: Tree) -> None:
    grid_a, shilong = tree.task_gid("grid_a"), tree.task_gid("shilong")
    await transition(tree, "grid_leader", grid_a, "START")
    await transition(tree, "grid_leader", grid_a, "SUBMIT")
    await transition(tree, "village_sec", shilong, "START")
    await transition(tree, "village_sec", grid_a, "REJECT", note="Redo")

    def summary(found: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return [(e["action"], e["entityId"], e["actor"]["username"]) for e in found]

    by_entity = await events(tree, "inspector", entityId=grid_a)
    by_actor = await events(tree, "inspector", actorId=tree.user_gid("village_sec"))
    by_action = await events(tree, "inspector", action="task.start")
    combined = await events(
        tree, "inspector", action="task.start", actorId=tree.user_gid("grid_leader")
    )
    nothing = await events(tree, "inspector", entityId=tree.unit_gid("grid_a"))

    # newest first
    assert summary(by_entity) == [
        ("task.reject", grid_a, "village_sec"),
        ("task.submit", grid_a, "grid_leader"),
        ("task.start", grid_a, "grid_leader"),
    ]
    assert summary(by_actor) == [
        ("task.reject", grid_a, "village_sec"),
        ("task.start", shilong, "village_sec"),
    ]
    assert summary(by_action) == [
        ("task.start", shilong, "village_sec"),
        ("task.start", grid_a, "grid_leader"),
    ]
    assert summary(combined) == [("task.start", grid_a, "grid_leader")]
    assert nothing == []
    assert by_entity[0]["actor"]["id"] == tree.user_gid("village_sec")
    assert by_entity[0]["entityType"] == "task"


async def test_task_history_is_oldest_first(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")
    for username, action in [
        ("village_sec", "URGE"),
        ("grid_leader", "REPLY"),
        ("grid_leader", "START"),
        ("grid_leader", "SUBMIT"),
        ("village_sec", "VERIFY"),
    ]:
        done = await transition(tree, username, gid, action, note="note")
        assert done["errors"] == []

    found = await data(
        tree,
        "inspector",
        "query($id: ID!) { task(id: $id) { history { seq action actor { username } } } }",
        id=gid,
    )

    history = found["task"]["history"]
    assert [e["action"] for e in history] == [
        "task.urge",
        "task.reply",
        "task.start",
        "task.submit",
        "task.verify",
    ]
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)


async def make_events(tree: Tree, n: int) -> None:
    for i in range(n):
        done = await payload(tree, "zhaxi_head", CREATE_RECORD, **cleanup(tree, "shilong", f"#{i}"))
        assert done["errors"] == []


async def broken_leaf(tree: Tree) -> tuple[int, str]:
    query = "{ verifyAuditChain { logs { firstBrokenLeafIndex problem } } }"
    (log,) = (await data(tree, "inspector", query))["verifyAuditChain"]["logs"]
    return log["firstBrokenLeafIndex"], log["problem"]


async def chain(tree: Tree) -> dict[str, Any]:
    report: dict[str, Any] = (await data(tree, "inspector", VERIFY))["verifyAuditChain"]
    return report


async def test_an_untouched_chain_verifies(tree: Tree) -> None:
    empty = await chain(tree)
    await make_events(tree, 6)

    assert empty == {"ok": True, "checked": 0, "firstBrokenSeq": None}
    assert await chain(tree) == {"ok": True, "checked": 6, "firstBrokenSeq": None}


@pytest.mark.parametrize(
    "tamper",
    [
        {"after": {"type": "CLEANUP", "summary": "nothing happened"}},
        {"action": "record.delete"},
        {"org_path": "/999/"},
        {"entity_id": "12345"},
        {"at": datetime(2020, 1, 1, tzinfo=UTC)},
        {"request_id": "forged"},
        {"before": {"x": 1}},
    ],
)
async def test_changing_one_stored_event_breaks_the_chain_at_that_event(
    tree: Tree, tamper: dict[str, Any]
) -> None:
    await make_events(tree, 6)

    await AuditEvent.filter(seq=4).update(**tamper)

    assert await chain(tree) == {"ok": False, "checked": 3, "firstBrokenSeq": 4}


async def test_changing_the_actor_breaks_the_chain(tree: Tree) -> None:
    await make_events(tree, 3)

    await AuditEvent.filter(seq=2).update(actor_id=tree.users["inspector"].id)

    assert await chain(tree) == {"ok": False, "checked": 1, "firstBrokenSeq": 2}


async def test_rewriting_an_event_with_a_fresh_hash_breaks_the_log_at_that_event(
    tree: Tree,
) -> None:
    """Its own link recomputes, but its leaf in the stored tree does not (and the next
    event's link would not either)."""
    await make_events(tree, 5)
    forged = await AuditEvent.get(seq=3)
    forged.after = {"type": "CLEANUP", "summary": "rewritten"}
    forged.hash = chain_hash(forged.prev_hash, forged)
    await forged.save()

    assert await chain(tree) == {"ok": False, "checked": 2, "firstBrokenSeq": 3}


async def test_removing_an_event_breaks_the_chain_at_its_place(tree: Tree) -> None:
    """Leaf 2 is missing: the event found in its place (seq 4) is where it breaks."""
    await make_events(tree, 6)

    await AuditEvent.filter(seq=3).delete()

    assert await chain(tree) == {"ok": False, "checked": 2, "firstBrokenSeq": 4}
    assert await broken_leaf(tree) == (2, "leaf 2 is missing")


async def test_removing_the_first_event_is_detected(tree: Tree) -> None:
    await make_events(tree, 3)

    await AuditEvent.filter(seq=1).delete()

    assert await chain(tree) == {"ok": False, "checked": 0, "firstBrokenSeq": 2}
    assert await broken_leaf(tree) == (0, "leaf 0 is missing")


async def test_the_api_offers_no_way_to_change_the_audit_trail(tree: Tree) -> None:
    found = await data(tree, "county_admin", '{ __type(name: "Mutation") { fields { name } } }')

    names = [f["name"].lower() for f in found["__type"]["fields"]]
    assert not [n for n in names if "audit" in n or "event" in n or "chain" in n]


async def test_concurrent_changes_keep_a_gapless_chain(tree: Tree) -> None:
    """20 clients at once: creates, and transitions racing on the same four tasks."""
    targets = ["grid_a", "grid_b", "enterprise", "dahetan"]
    clients: list[Any] = []
    for i in range(10):
        clients.append(
            payload(tree, "zhaxi_head", CREATE_RECORD, **cleanup(tree, "shilong", f"run {i}"))
        )
    for i in range(10):
        name = targets[i % len(targets)]
        clients.append(transition(tree, "zhaxi_head", tree.task_gid(name), "URGE", note=f"#{i}"))

    results = await asyncio.gather(*clients)

    records, moves = results[:10], results[10:]
    assert all(r["errors"] == [] for r in records)
    won = [m for m in moves if not m["errors"]]
    assert all(error_codes(m) == [("taskId", "CONFLICT")] for m in moves if m["errors"])
    # No lost update: every success raised its task's version by one, and has one event.
    for name in targets:
        row = await Task.get(id=tree.tasks[name].id)
        successes = [m for m in won if m["task"]["id"] == tree.task_gid(name)]
        assert row.version == 1 + len(successes), name
        urges = await AuditEvent.filter(action="task.urge", entity_id=str(row.id))
        assert sorted((e.after or {})["version"] for e in urges) == list(range(2, row.version + 1))
    # One log (every change was Weixin's), its leaves gapless, its seqs rising from 1.
    rows = (
        await AuditEvent.all()
        .order_by("leaf_index")
        .values_list("jurisdiction", "leaf_index", "seq")
    )
    assert {j for j, _, _ in rows} == {tree.units["weixin"].id}
    assert [leaf for _, leaf, _ in rows] == list(range(10 + len(won)))
    seqs = [seq for _, _, seq in rows]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 1
    assert sorted(await actions_since(0)) == ["record.create"] * 10 + ["task.urge"] * len(won)
    assert await chain(tree) == {"ok": True, "checked": len(seqs), "firstBrokenSeq": None}


async def test_twenty_concurrent_transitions_of_one_task(tree: Tree) -> None:
    gid = tree.task_gid("grid_a")
    before = await last_seq()

    results = await asyncio.gather(
        *(transition(tree, "village_sec", gid, "URGE", note=f"urge {i}") for i in range(20))
    )

    won = [r for r in results if not r["errors"]]
    assert won
    assert all(error_codes(r) == [("taskId", "CONFLICT")] for r in results if r["errors"])
    row = await Task.get(id=tree.tasks["grid_a"].id)
    assert row.version == 1 + len(won)
    assert await actions_since(before) == ["task.urge"] * len(won)
    assert sorted(r["task"]["version"] for r in won) == list(range(2, 2 + len(won)))
    assert await chain(tree) == {"ok": True, "checked": before + len(won), "firstBrokenSeq": None}


async def test_a_units_history_for_inspectors(tree: Tree) -> None:
    grid_a, shilong = tree.task_gid("grid_a"), tree.task_gid("shilong")
    await transition(tree, "village_sec", grid_a, "URGE", note="Start")
    await transition(tree, "grid_leader", grid_a, "START")
    await transition(tree, "zhaxi_head", shilong, "URGE", note="Start")
    await transition(tree, "luobu_head", tree.task_gid("luobu_village"), "URGE", note="Start")

    def summary(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(e["action"], e["entityId"]) for e in found]

    grid = await events(tree, "inspector", orgUnitId=tree.unit_gid("grid_a"))
    village = await events(
        tree, "inspector", orgUnitId=tree.unit_gid("shilong"), includeDescendants=False
    )
    subtree = await events(tree, "inspector", orgUnitId=tree.unit_gid("shilong"))
    hidden = await events(tree, "zhaxi_head", orgUnitId=tree.unit_gid("luobu_village"))

    assert summary(grid) == [("task.start", grid_a), ("task.urge", grid_a)]
    assert summary(village) == [("task.urge", shilong)]
    assert summary(subtree) == [
        ("task.urge", shilong),
        ("task.start", grid_a),
        ("task.urge", grid_a),
    ]
    assert hidden == []

"""Quotas that count only the records that mean something, and a chain of tasks whose
progress and status follow its subtasks (``resolvers.quota``, ``resolvers.task_chain``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise import connections

from core.instrumentation import counting_statements
from models.audit import AuditEvent
from models.enums import RecordType, TaskCategory, TaskStatus, WaterKind
from models.org import WaterBody
from models.task import Task
from resolvers.quota import default_period
from resolvers.task_counters import drift
from schema.build import schema
from schema.node import from_global_id, to_global_id
from tests.fixtures import Tree
from tests.graph import CREATE_TASK, TASK, TRANSITION, data, last_seq, payload
from tests.tracks import track_along

CREATE_RECORD = """
mutation Record($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id flags { code } } errors { field code } }
}
"""
QUOTA = """
query Quota($id: ID!) {
  task(id: $id) { status progress quota { target done period { from to } } }
}
"""


async def waters(tree: Tree) -> dict[str, int]:
    """Shilong's segment of the river, and a reservoir of the township that is not the
    village's water (the village secretary reads both)."""
    river = await WaterBody.create(code="zxh", name="扎西河", kind=WaterKind.RIVER)
    await river.units.add(tree.units["zhaxi"])
    segment = await WaterBody.create(
        code="zxh-sl", name="扎西河石龙段", kind=WaterKind.SEGMENT, parent=river
    )
    await segment.units.add(tree.units["shilong"])
    reservoir = await WaterBody.create(code="sk", name="扎西水库", kind=WaterKind.RIVER)
    await reservoir.units.add(tree.units["zhaxi"])
    await tree.engine.reload()
    return {"river": river.id, "segment": segment.id, "reservoir": reservoir.id}


async def quota_task(tree: Tree, target: int) -> str:
    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Patrols of the first half-year",
        category="PATROL",
        orgUnitId=tree.unit_gid("shilong"),
        quotaTarget=target,
        quotaRecordType="PATROL",
        quotaPeriod={"from": "2026-01-01", "to": "2026-06-30"},
    )
    assert created["errors"] == [], created
    task_id: str = created["task"]["id"]
    return task_id


async def patrol(
    tree: Tree, task_id: str, water: int, start: datetime, *, km: float = 5.0, hours: float = 2
) -> list[str]:
    """A patrol by shilong's secretary with its track; the codes of its flags."""
    filed = await payload(
        tree,
        "village_sec",
        CREATE_RECORD,
        type="PATROL",
        orgUnitId=tree.unit_gid("shilong"),
        taskId=task_id,
        waterBodyId=to_global_id("WaterBody", water),
        occurredAt=start.isoformat(),
        endedAt=(start + timedelta(hours=hours)).isoformat(),
        patrol={"track": track_along(start, hours, km)},
    )
    assert filed["errors"] == [], filed
    return [f["code"] for f in filed["record"]["flags"]]


async def transition(tree: Tree, username: str, task_id: str, action: str) -> Any:
    return await payload(tree, username, TRANSITION, taskId=task_id, action=action)


def march(day: int) -> datetime:
    return datetime(2026, 3, day, 1, tzinfo=UTC)  # 09:00 in Yunnan


# -- what counts ----------------------------------------------------------------------------


async def test_only_unflagged_patrols_on_the_units_water_inside_the_period_count(
    tree: Tree,
) -> None:
    water = await waters(tree)
    task_id = await quota_task(tree, 6)

    counted = await patrol(tree, task_id, water["segment"], march(2))
    too_fast = await patrol(tree, task_id, water["segment"], march(3), km=40, hours=0.5)
    elsewhere = await patrol(tree, task_id, water["reservoir"], march(4))
    the_whole_river = await patrol(tree, task_id, water["river"], march(5))
    after_the_period = await patrol(
        tree, task_id, water["segment"], datetime(2026, 7, 1, 1, tzinfo=UTC)
    )
    # The last day of the period, 23:00 in Yunnan (15:00 UTC), still counts.
    last_evening = await patrol(
        tree, task_id, water["segment"], datetime(2026, 6, 30, 15, tzinfo=UTC), km=3, hours=0.75
    )

    found = await data(tree, "zhaxi_head", QUOTA, id=task_id)

    assert (counted, too_fast, elsewhere, the_whole_river, after_the_period, last_evening) == (
        [],
        ["TOO_FAST"],
        [],
        [],
        [],
        [],
    )
    assert found["task"]["quota"] == {
        "target": 6,
        "done": 2,
        "period": {"from": "2026-01-01", "to": "2026-06-30"},
    }
    assert found["task"]["progress"] == 2 / 6


async def test_a_quota_without_a_period_counts_the_year_it_was_created_in(tree: Tree) -> None:
    created = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="Six patrols a year",
        category="PATROL",
        orgUnitId=tree.unit_gid("shilong"),
        quotaTarget=6,
        quotaRecordType="PATROL",
    )

    stored = await Task.get(id=int(from_global_id(created["task"]["id"])[1]))

    first, last = default_period(stored.created_at)
    assert (stored.quota_from, stored.quota_to) == (first, last)
    assert (first, last) == (date(first.year, 1, 1), date(first.year, 12, 31))
    event = await AuditEvent.get(action="task.create", entity_id=str(stored.id))
    assert (event.after or {})["quota"] == {
        "target": 6,
        "record_type": "PATROL",
        "period": {"from": first.isoformat(), "to": last.isoformat()},
    }


async def test_a_period_needs_a_quota_and_runs_forwards(tree: Tree) -> None:
    base: dict[str, Any] = {
        "title": "x",
        "category": "PATROL",
        "orgUnitId": tree.unit_gid("shilong"),
    }
    quota = {"quotaTarget": 6, "quotaRecordType": "PATROL"}
    cases = [
        {**base, "quotaPeriod": {"from": "2026-01-01", "to": "2026-12-31"}},
        {**base, **quota, "quotaPeriod": {"from": "2026-12-31", "to": "2026-01-01"}},
        {**base, **quota, "quotaPeriod": {"from": "2020-01-01", "to": "2026-12-31"}},
    ]
    seq = await last_seq()

    answers = [await payload(tree, "zhaxi_head", CREATE_TASK, **given) for given in cases]

    assert [(a["task"], [(e["field"], e["code"]) for e in a["errors"]]) for a in answers] == [
        (None, [("quotaPeriod", "VALIDATION")])
    ] * 3
    assert await Task.filter(title="x").count() == 0
    assert await last_seq() == seq


# -- verifying a quota task -----------------------------------------------------------------


async def test_verify_below_target_is_refused_and_at_target_allowed(tree: Tree) -> None:
    water = await waters(tree)
    task_id = await quota_task(tree, 2)
    await patrol(tree, task_id, water["segment"], march(2))
    await patrol(tree, task_id, water["segment"], march(3), km=40, hours=0.5)  # flagged
    assert (await transition(tree, "village_sec", task_id, "START"))["errors"] == []
    assert (await transition(tree, "village_sec", task_id, "SUBMIT"))["errors"] == []
    seq = await last_seq()

    early = await transition(tree, "zhaxi_head", task_id, "VERIFY")

    assert early["task"] is None
    assert early["errors"] == [
        {
            "field": "action",
            "code": "INVALID_TRANSITION",
            "message": "1 of 2 patrols counted (2026-01-01 to 2026-06-30): "
            "the quota is not met yet.",
        }
    ]
    assert (await data(tree, "zhaxi_head", QUOTA, id=task_id))["task"]["status"] == "SUBMITTED"
    assert await last_seq() == seq

    await patrol(tree, task_id, water["segment"], march(9))
    verified = await transition(tree, "zhaxi_head", task_id, "VERIFY")

    assert verified["errors"] == []
    assert verified["task"]["status"] == "VERIFIED"
    assert verified["task"]["progress"] == 1.0


# -- the chain ------------------------------------------------------------------------------


async def create(tree: Tree, username: str, unit: str, title: str, parent: str | None) -> str:
    given: dict[str, Any] = {"title": title, "category": "OTHER", "orgUnitId": tree.unit_gid(unit)}
    if parent is not None:
        given["parentId"] = parent
    created = await payload(tree, username, CREATE_TASK, **given)
    assert created["errors"] == [], created
    task_id: str = created["task"]["id"]
    return task_id


async def three_levels(tree: Tree) -> dict[str, str]:
    """county → zhaxi → shilong → grid_a, with a second subtask at each level below zhaxi."""
    top = await create(tree, "county_admin", "zhaxi", "top", None)
    village = await create(tree, "zhaxi_head", "shilong", "village", top)
    other_village = await create(tree, "zhaxi_head", "dahetan", "other village", top)
    grid = await create(tree, "village_sec", "grid_a", "grid", village)
    other_grid = await create(tree, "village_sec", "grid_a", "other grid", village)
    return {
        "top": top,
        "village": village,
        "other_village": other_village,
        "grid": grid,
        "other_grid": other_grid,
    }


async def statuses(tree: Tree, chain: dict[str, str]) -> dict[str, tuple[str, Any]]:
    found = {}
    for name, task_id in chain.items():
        task = (await data(tree, "county_admin", TASK, id=task_id))["task"]
        found[name] = (task["status"], task["progress"])
    return found


async def test_the_first_subtask_to_start_starts_its_parents_in_one_transaction(
    tree: Tree,
) -> None:
    chain = await three_levels(tree)
    seq = await last_seq()

    started = await transition(tree, "grid_leader", chain["grid"], "START")

    assert started["errors"] == []
    assert {k: s for k, (s, _) in (await statuses(tree, chain)).items()} == {
        "top": "IN_PROGRESS",
        "village": "IN_PROGRESS",
        "other_village": "ASSIGNED",
        "grid": "IN_PROGRESS",
        "other_grid": "ASSIGNED",
    }
    events = await AuditEvent.filter(seq__gt=seq).order_by("seq")
    ids = {name: int(from_global_id(gid)[1]) for name, gid in chain.items()}
    assert [(e.action, int(e.entity_id), e.actor_id) for e in events] == [
        ("task.start", ids["grid"], tree.users["grid_leader"].id),
        ("task.start", ids["village"], tree.users["grid_leader"].id),
        ("task.start", ids["top"], tree.users["grid_leader"].id),
    ]
    assert events[1].after is not None
    assert events[1].after["subtask_ids"] == [ids["grid"]]
    assert (events[1].before or {})["status"] == "ASSIGNED"
    assert await drift(connections.get("default")) == []

    # The second subtask to start moves no parent.
    seq = await last_seq()
    assert (await transition(tree, "grid_leader", chain["other_grid"], "START"))["errors"] == []
    assert [e.action for e in await AuditEvent.filter(seq__gt=seq)] == ["task.start"]


async def test_a_parent_with_open_subtasks_is_not_submitted(tree: Tree) -> None:
    chain = await three_levels(tree)
    await transition(tree, "grid_leader", chain["grid"], "START")
    before = await Task.get(id=int(from_global_id(chain["village"])[1]))
    seq = await last_seq()

    refused = await transition(tree, "village_sec", chain["village"], "SUBMIT")

    assert refused["task"] is None
    assert refused["errors"] == [
        {
            "field": "action",
            "code": "INVALID_TRANSITION",
            "message": "Cannot submit it: 2 of its subtasks are still open "
            "(not verified or cancelled).",
        }
    ]
    after = await Task.get(id=before.id)
    assert (after.status, after.version) == (TaskStatus.IN_PROGRESS, before.version)
    assert await last_seq() == seq


async def test_progress_moves_up_the_whole_chain_when_a_grid_task_is_verified(
    tree: Tree,
) -> None:
    chain = await three_levels(tree)
    assert await statuses(tree, chain) == {
        "top": ("ASSIGNED", 0.0),
        "village": ("ASSIGNED", 0.0),
        "other_village": ("ASSIGNED", None),
        "grid": ("ASSIGNED", None),
        "other_grid": ("ASSIGNED", None),
    }

    for action, username in (("START", "grid_leader"), ("SUBMIT", "grid_leader")):
        assert (await transition(tree, username, chain["grid"], action))["errors"] == []
    assert (await transition(tree, "village_sec", chain["grid"], "VERIFY"))["errors"] == []

    progress = {k: p for k, (_, p) in (await statuses(tree, chain)).items()}
    assert progress == {
        "top": 0.25,  # (village 0.5 + other village 0) / 2
        "village": 0.5,  # (grid 1 + other grid 0) / 2
        "other_village": None,
        "grid": None,
        "other_grid": None,
    }

    # Cancelling the other grid's task leaves the village with only verified work; its own
    # submission is then possible.
    cancelled = await payload(
        tree, "village_sec", TRANSITION, taskId=chain["other_grid"], action="CANCEL", note="x"
    )
    assert cancelled["errors"] == []
    assert (await transition(tree, "village_sec", chain["village"], "SUBMIT"))["errors"] == []
    progress = {k: p for k, (_, p) in (await statuses(tree, chain)).items()}
    assert (progress["village"], progress["top"]) == (1.0, 0.5)


async def chain_of(tree: Tree, depth: int) -> None:
    """A chain ``depth`` levels deep below zhaxi's task: at each level an open subtask (the
    next level's parent) with a quota, and a verified one beside it."""
    parent = tree.tasks["zhaxi"]
    for level in range(depth):
        verified: dict[str, Any] = {"status": TaskStatus.VERIFIED}
        open_one: dict[str, Any] = {
            "status": TaskStatus.IN_PROGRESS,
            "quota_target": 3,
            "quota_record_type": RecordType.PATROL,
        }
        for n, given in enumerate((verified, open_one)):
            task = await Task.create(
                title=f"level {level} part {n}",
                category=TaskCategory.PATROL,
                org_unit=tree.units["shilong"],
                issuer_unit=tree.units["zhaxi"],
                parent=parent,
                **given,
            )
        parent = task


PROGRESS_PAGE = """
query($filter: TaskFilter) {
  tasks(filter: $filter, first: 50) { edges { node { progress quota { done } } } }
}
"""


async def test_progress_costs_the_same_statements_for_a_chain_2_or_12_deep(tree: Tree) -> None:
    async def statements(depth: int) -> int:
        await chain_of(tree, depth)
        with counting_statements() as counter:
            result = await schema.execute(
                PROGRESS_PAGE, {}, context_value=tree.context_for("county_admin")
            )
        assert result.errors is None, result.errors
        return counter.value

    shallow = await statements(2)
    deep = await statements(12)

    assert shallow == deep, f"{shallow} statements for a chain 2 deep, {deep} for 12"

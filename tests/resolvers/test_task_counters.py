"""The dashboards' task counters: after any sequence of task changes made through the API they
equal a recount of the task table, and ``taskStats`` read from them equals the scan it made
before (``task_stats_scan``), for every viewer and unit. On PostgreSQL, concurrent changes
add up."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.enums import TaskStatus
from models.task import TaskCount, TaskDueCount
from resolvers.task_counters import CountedTask, apply_deltas, drift, due_day, rebuild
from tests.conftest import ON_POSTGRES
from tests.fixtures import ACCOUNTS, Tree
from tests.graph import CREATE_TASK, TRANSITION, data, payload, run, transition
from tests.resolvers.task_stats_scan import scanned_stats

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
STATS = "taskStats { total overdue byStatus { status count } }"
EVERY_UNIT = f"{{ orgUnits(first: 100) {{ edges {{ node {{ path {STATS} }} }} }} }}"
DASHBOARD = f"""
query($id: ID!) {{ orgUnit(id: $id) {{ path {STATS}
  children(first: 50) {{ edges {{ node {{ path {STATS}
    children(first: 50) {{ edges {{ node {{ path {STATS} }} }} }} }} }} }} }} }}
"""
ACTIONS = ("START", "SUBMIT", "VERIFY", "REJECT", "CANCEL", "RETURN")
# Mostly a move the task's status allows, so that sequences go the whole way.
NEXT = {
    "ASSIGNED": ("START", "START", "CANCEL", "RETURN"),
    "IN_PROGRESS": ("SUBMIT", "SUBMIT", "CANCEL"),
    "SUBMITTED": ("VERIFY", "VERIFY", "REJECT"),
    "REJECTED": ("START",),
}
# Weighted towards the account that may make most moves.
ACTORS = ("county_admin", "county_admin", "zhaxi_head", "luobu_head", "village_sec", "grid_leader")
WEIXIN_UNITS = (
    "weixin",
    "zhaxi",
    "luobu",
    "shilong",
    "dahetan",
    "luobu_village",
    "grid_a",
    "grid_b",
    "grid_c",
    "water_bureau",
    "enterprise",
)


def a_due_date(rng: random.Random) -> str | None:
    """None, long past, earlier today, later today or to come: every side of 'overdue now'."""
    now = datetime.now(UTC)
    choice = rng.choice(
        [
            None,
            now - timedelta(days=rng.randint(1, 40)),
            now - timedelta(minutes=rng.randint(1, 30)),
            now + timedelta(minutes=rng.randint(5, 30)),
            now + timedelta(days=rng.randint(1, 40)),
        ]
    )
    return choice.isoformat() if choice else None


async def attempt(tree: Tree, actor: str, mutation: str, **given: Any) -> Any:
    """The mutation's payload, or None where the actor may not run it at all (FORBIDDEN)."""
    result = await run(tree, actor, mutation, input=given)
    if result.errors:
        assert {(e.extensions or {}).get("code") for e in result.errors} == {"FORBIDDEN"}
        return None
    (found,) = result.data.values()
    return found


async def random_step(tree: Tree, rng: random.Random, tasks: dict[str, str | None]) -> None:
    """One task change through the API (tasks: id → status as last seen); refused changes
    are part of the sequence too."""
    kind = rng.choice(["create", "create", "transition", "transition", "assign", "decompose"])
    actor = rng.choice(ACTORS)
    if kind == "create" or not tasks:
        made = await attempt(
            tree,
            actor,
            CREATE_TASK,
            title=f"step {len(tasks)}",
            category="CLEANUP",
            orgUnitId=tree.unit_gid(rng.choice(WEIXIN_UNITS)),
            dueAt=a_due_date(rng),
        )
        if made and made["task"]:
            tasks[made["task"]["id"]] = made["task"]["status"]
    elif kind == "transition":
        task_id = rng.choice(list(tasks))
        fitting = NEXT.get(tasks[task_id] or "", ())
        action = rng.choice(fitting) if fitting and rng.random() < 0.8 else rng.choice(ACTIONS)
        note = "noted" if rng.random() < 0.5 else None
        done = await attempt(tree, actor, TRANSITION, taskId=task_id, action=action, note=note)
        if done and done["task"]:
            tasks[task_id] = done["task"]["status"]
    elif kind == "assign":
        task_id = rng.choice(list(tasks))
        target = tree.unit_gid(rng.choice(WEIXIN_UNITS))
        if await attempt(tree, actor, ASSIGN, taskId=task_id, orgUnitId=target):
            tasks[task_id] = None  # not read back
    else:
        parts = [
            {"orgUnitId": tree.unit_gid(unit), "dueAt": a_due_date(rng)}
            for unit in rng.sample(WEIXIN_UNITS, rng.randint(1, 3))
        ]
        made = await attempt(tree, actor, DECOMPOSE, taskId=rng.choice(list(tasks)), parts=parts)
        tasks.update((t["id"], "ASSIGNED") for t in (made or {}).get("subtasks") or [])


async def assert_stats_equal_the_scan(tree: Tree) -> None:
    for username in ACCOUNTS:
        context = tree.context_for(username)
        every = await data(tree, username, EVERY_UNIT)
        for edge in every["orgUnits"]["edges"]:
            node = edge["node"]
            assert node["taskStats"] == await scanned_stats(context, node["path"]), (
                username,
                node["path"],
            )
        for top in ("weixin", "zhaxi"):
            result = await run(tree, username, DASHBOARD, id=tree.unit_gid(top))
            assert result.errors is None, result.errors
            pending = [result.data["orgUnit"]] if result.data["orgUnit"] else []
            while pending:
                node = pending.pop()
                assert node["taskStats"] == await scanned_stats(context, node["path"])
                pending += [e["node"] for e in node.get("children", {}).get("edges", [])]


async def status_counts() -> dict[tuple[int, str], int]:
    rows = await TaskCount.all().values_list("org_unit_id", "status", "n")
    return {(unit, str(status)): n for unit, status, n in rows if n}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_counters_equal_a_recount_after_random_task_changes(tree: Tree, seed: int) -> None:
    rng = random.Random(seed)
    tasks: dict[str, str | None] = {tree.task_gid(name): "ASSIGNED" for name in WEIXIN_UNITS}
    conn = connections.get("default")

    for step in range(80):
        await random_step(tree, rng, tasks)
        if step % 20 == 19:
            assert await drift(conn) == []

    assert await drift(conn) == []
    counts = await status_counts()
    assert sum(counts.values()) == len(tasks) + 3  # and Yangzonghai's three
    assert len({status for _, status in counts}) >= 3, "the sequence moved tasks along"
    await assert_stats_equal_the_scan(tree)
    county = await scanned_stats(tree.context_for("county_admin"), tree.units["weixin"].path)
    assert county["overdue"] > 0, "the sequence made some tasks overdue"


async def test_every_kind_of_task_change_moves_the_counters(tree: Tree) -> None:
    conn = connections.get("default")
    zhaxi, shilong = tree.units["zhaxi"].id, tree.units["shilong"].id
    late = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    made = await payload(
        tree,
        "zhaxi_head",
        CREATE_TASK,
        title="weir",
        category="CLEANUP",
        orgUnitId=tree.unit_gid("zhaxi"),
        dueAt=late,
    )
    gid = made["task"]["id"]
    assert (await status_counts())[(zhaxi, "ASSIGNED")] == 2  # the tree's task and this one

    await payload(tree, "county_admin", ASSIGN, taskId=gid, orgUnitId=tree.unit_gid("shilong"))
    counts = await status_counts()
    assert (counts[(zhaxi, "ASSIGNED")], counts[(shilong, "ASSIGNED")]) == (1, 2)

    await transition(tree, "village_sec", gid, "START")
    await transition(tree, "village_sec", gid, "SUBMIT")
    counts = await status_counts()
    assert (counts[(shilong, "ASSIGNED")], counts[(shilong, "SUBMITTED")]) == (1, 1)
    late_day = datetime.fromisoformat(late).date()
    assert await TaskDueCount.filter(org_unit_id=shilong, due_day=late_day).values_list(
        "n", flat=True
    ) == [1]

    await transition(tree, "county_admin", gid, "VERIFY")
    counts = await status_counts()
    assert (shilong, "SUBMITTED") not in counts and counts[(shilong, "VERIFIED")] == 1
    # closed: no longer among the open tasks that can be overdue
    assert await TaskDueCount.filter(org_unit_id=shilong, due_day=late_day, n__gt=0).count() == 0
    assert await drift(conn) == []


async def test_drift_is_found_and_a_rebuild_repairs_it(tree: Tree) -> None:
    conn = connections.get("default")
    zhaxi = tree.units["zhaxi"].id
    await TaskCount.filter(org_unit_id=zhaxi, status=TaskStatus.ASSIGNED).update(n=5)

    found = await drift(conn)

    assert [(d.table, d.unit_id, d.key, d.stored, d.counted) for d in found] == [
        ("task_count", zhaxi, "ASSIGNED", 5, 1)
    ]
    async with in_transaction() as transaction:
        await rebuild(transaction)
    assert await drift(conn) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL")
async def test_two_concurrent_transitions_keep_the_counts(tree: Tree) -> None:
    conn = connections.get("default")
    made = [
        await payload(
            tree,
            "zhaxi_head",
            CREATE_TASK,
            title=f"race {i}",
            category="PATROL",
            orgUnitId=tree.unit_gid("shilong"),
        )
        for i in range(2)
    ]
    shilong = tree.units["shilong"].id
    before = await status_counts()

    done = await asyncio.gather(
        *(transition(tree, "village_sec", m["task"]["id"], "START") for m in made)
    )

    assert [d["errors"] for d in done] == [[], []]
    after = await status_counts()
    assert after[(shilong, "ASSIGNED")] == before[(shilong, "ASSIGNED")] - 2
    assert after[(shilong, "IN_PROGRESS")] == before.get((shilong, "IN_PROGRESS"), 0) + 2
    assert await drift(conn) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL")
async def test_an_increment_waiting_on_another_adds_to_it(tree: Tree) -> None:
    """The second writer's upsert waits for the first's row lock and adds to its result: a
    read-modify-write would have read the old count and lost one."""
    unit = tree.units["grid_a"].id
    key = CountedTask(unit, TaskStatus.IN_PROGRESS, None)
    first_wrote, let_first_commit = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with in_transaction() as transaction:
            await apply_deltas(transaction, [(key, 1)])
            first_wrote.set()
            await let_first_commit.wait()

    async def second() -> None:
        await first_wrote.wait()
        async with in_transaction() as transaction:
            await apply_deltas(transaction, [(key, 1)])

    writers: list[asyncio.Task[Any]] = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_wrote.wait()
    await asyncio.sleep(0.2)  # lets the second reach the row lock; the outcome never depends on it
    let_first_commit.set()
    await asyncio.gather(*writers)

    assert await TaskCount.filter(org_unit_id=unit, status=TaskStatus.IN_PROGRESS).values_list(
        "n", flat=True
    ) == [2]


def test_a_due_date_counts_on_its_utc_day() -> None:
    morning_in_yunnan = datetime(2026, 3, 2, 7, 30, tzinfo=timezone(timedelta(hours=8)))

    assert due_day(morning_in_yunnan, TaskStatus.ASSIGNED) == date(2026, 3, 1)
    assert due_day(morning_in_yunnan, TaskStatus.VERIFIED) is None  # closed: never overdue
    assert due_day(None, TaskStatus.ASSIGNED) is None

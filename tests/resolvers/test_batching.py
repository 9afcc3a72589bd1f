"""The SQL a query makes depends on its shape, not on how many objects it returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.instrumentation import counting_statements
from models.enums import AuditAction, AuditEntity, OrgLevel, TaskCategory, TaskStatus
from models.org import OrgUnit
from models.task import Task
from resolvers.audit import append_event
from schema.build import schema
from tests.fixtures import Tree, recount_counters

NESTED_TASKS = """
query Inbox($first: Int!) {
  tasks(first: $first) {
    totalCount
    edges { node {
      title status overdue progress
      orgUnit { name parent { name } }
      issuer { name }
      assignee { name phone }
      parent { title parent { title orgUnit { name } } }
      subtasks(first: 5) { totalCount edges { node { title assignee { name } } } }
      history { action actor { username } }
      quota { target done }
    } }
  }
}
"""

DASHBOARD = """
query Dashboard($first: Int!) {
  orgUnits(level: COUNTY, first: 1) { edges { node {
    name taskStats { total overdue byStatus { status count } }
    children(first: $first) { totalCount edges { node {
      name taskStats { total overdue }
      children(first: $first) { edges { node { name taskStats { total overdue } } } }
    } } }
  } } }
}
"""


async def add_tasks(tree: Tree, count: int) -> None:
    """``count`` tasks in zhaxi's subtree, each with a parent, subtasks and history."""
    from tortoise.transactions import in_transaction

    units = [tree.units[n] for n in ("shilong", "dahetan", "grid_a", "grid_b")]
    zhaxi = tree.units["zhaxi"]
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        parent = await Task.create(
            title="root",
            category=TaskCategory.FISHING_BAN,
            org_unit=zhaxi,
            issuer_unit=tree.units["weixin"],
            due_at=now + timedelta(days=3),
            using_db=conn,
        )
        for i in range(count):
            unit = units[i % len(units)]
            task = await Task.create(
                title=f"t{i}",
                category=TaskCategory.CLEANUP,
                status=list(TaskStatus)[i % len(TaskStatus)],
                org_unit=unit,
                issuer_unit=zhaxi,
                parent=parent,
                assignee=tree.people[next(n for n, u in tree.units.items() if u.id == unit.id)],
                due_at=now + timedelta(days=(i % 5) - 2),
                quota_target=3 if i % 3 == 0 else None,
                quota_record_type=None,
                using_db=conn,
            )
            await append_event(
                conn,
                None,
                action=AuditAction.TASK_CREATE,
                entity_type=AuditEntity.TASK,
                entity_id=task.id,
                org_path=unit.path,
                actor_id=tree.users["zhaxi_head"].id,
            )
            parent = task if i % 10 == 0 else parent
    await recount_counters()


async def statements_for(tree: Tree, query: str, first: int) -> tuple[int, Any]:
    with counting_statements() as counter:
        result = await schema.execute(
            query, {"first": first}, context_value=tree.context_for("zhaxi_head")
        )
    assert result.errors is None, result.errors
    assert counter.value > 0, "no statements counted: the count itself is broken"
    return counter.value, result.data


async def test_nested_task_page_costs_the_same_at_10_and_100(tree: Tree) -> None:
    await add_tasks(tree, 120)

    small, small_data = await statements_for(tree, NESTED_TASKS, 10)
    large, large_data = await statements_for(tree, NESTED_TASKS, 100)

    assert len(small_data["tasks"]["edges"]) == 10
    assert len(large_data["tasks"]["edges"]) == 100
    assert any(e["node"]["history"] for e in large_data["tasks"]["edges"])
    assert any(e["node"]["subtasks"]["edges"] for e in large_data["tasks"]["edges"])
    assert small == large, f"{small} statements for 10 tasks, {large} for 100"


async def test_dashboard_tree_costs_the_same_whatever_its_width(tree: Tree) -> None:
    zhaxi = tree.units["zhaxi"]
    for i in range(40):
        village = await OrgUnit.place(
            code=f"v{i}", name=f"village {i}", level=OrgLevel.VILLAGE, parent=zhaxi
        )
        await Task.create(
            title=f"v{i}", category=TaskCategory.PATROL, org_unit=village, issuer_unit=zhaxi
        )
    await add_tasks(tree, 30)

    small, _ = await statements_for(tree, DASHBOARD, 3)
    large, large_data = await statements_for(tree, DASHBOARD, 100)

    county = large_data["orgUnits"]["edges"][0]["node"]
    assert county["name"] == "weixin"
    township = county["children"]["edges"][0]["node"]
    assert len(township["children"]["edges"]) == 42  # shilong, dahetan and the 40 new ones
    assert small == large, f"{small} statements narrow, {large} wide"


async def test_task_stats_agree_with_a_direct_count(tree: Tree) -> None:
    await add_tasks(tree, 50)
    result = await schema.execute(
        "{ orgUnits(level: TOWNSHIP) { edges { node { name taskStats { total overdue"
        " byStatus { status count } } } } } }",
        context_value=tree.context_for("county_admin"),
    )
    assert result.errors is None
    now = datetime.now(UTC)
    for edge in result.data["orgUnits"]["edges"]:
        unit = next(u for u in tree.units.values() if u.name == edge["node"]["name"])
        tasks = await Task.filter(org_unit__path__startswith=unit.path)
        stats = edge["node"]["taskStats"]
        assert stats["total"] == len(tasks)
        assert stats["overdue"] == sum(
            1
            for t in tasks
            if t.due_at
            and t.due_at < now
            and t.status not in (TaskStatus.VERIFIED, TaskStatus.CANCELLED)
        )
        expected = {}
        for t in tasks:
            expected[t.status.value] = expected.get(t.status.value, 0) + 1
        assert {s["status"]: s["count"] for s in stats["byStatus"]} == expected

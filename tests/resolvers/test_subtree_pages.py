"""Newest-first pages of a subtree: the rows the viewer may see, newest first, page after page,
whichever way they are found; and on PostgreSQL found through the subtree's own index entries,
never by scanning the whole table (``resolvers.subtree_pages``)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise import connections

from models.audit import AuditEvent
from models.enums import TaskCategory, TaskStatus
from models.org import OrgUnit
from models.task import Task
from policies.rights import AUDIT_READ, TASK_READ
from policies.scope import scope_for
from resolvers.audit_queries import AuditQuery, list_events
from resolvers.pagination import Page
from resolvers.subtree_pages import event_page_sql, task_page_sql
from resolvers.tasks import TaskQuery, list_tasks
from tests.conftest import ON_POSTGRES
from tests.fixtures import Tree

TASKS = 600
EVENTS = 600


async def add_tasks(tree: Tree, count: int) -> None:
    """``count`` tasks at units drawn at random, so each unit's newest rows interleave."""
    draw = random.Random(7)
    units = list(tree.units.values())
    rows = []
    for n in range(count):
        unit = draw.choice(units)
        rows.append(
            Task(
                title=f"task {n}",
                category=TaskCategory.PATROL,
                status=TaskStatus.ASSIGNED,
                org_unit=unit,
                issuer_unit=unit,
            )
        )
    await Task.bulk_create(rows)


# Leaf indices far past any log's own: the events are stored straight in, to be listed.
LISTED_ONLY = 1_000_000


async def add_events(tree: Tree, count: int) -> str:
    """``count`` events at the units' paths, and some at a path no unit has any more (a unit
    of zhaxi's that moved away keeps its older events there). Returns that path."""
    draw = random.Random(11)
    moved_away = f"{tree.units['zhaxi'].path}99999/"
    paths = [unit.path for unit in tree.units.values()] + [moved_away]
    head = await AuditEvent.all().order_by("-seq").first()
    first = head.seq + 1 if head is not None else 1
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                seq=first + n,
                leaf_index=LISTED_ONLY + first + n,  # never verified: only listed
                at=datetime.now(UTC),
                action="org.update",
                entity_type="org",
                entity_id=str(n),
                org_path=draw.choice(paths),
                prev_hash="0" * 64,
                hash="0" * 64,
            )
            for n in range(count)
        ]
    )
    return moved_away


async def every_page(fetch: Any, size: int) -> list[int]:
    """The keys of every page, following the cursors to the end."""
    keys: list[int] = []
    after = None
    while True:
        page: Page[Any] = await fetch(size, after)
        keys += [row.pk for row in page.rows]
        assert len(page.rows) <= size
        if not page.has_next_page:
            return keys
        after = page.end_cursor


@pytest.mark.parametrize(
    ("username", "unit", "descendants"),
    [
        ("zhaxi_head", None, False),
        ("county_admin", None, False),
        ("county_admin", "zhaxi", True),
        ("county_admin", "shilong", False),
        ("village_sec", None, False),
        ("grid_leader", None, False),
        ("dept_head", None, False),
        ("inspector", "luobu", True),
    ],
)
async def test_a_task_list_is_the_visible_subtree_newest_first(
    tree: Tree, username: str, unit: str | None, descendants: bool
) -> None:
    await add_tasks(tree, TASKS)
    context = tree.context_for(username)
    visible = scope_for(context, TASK_READ)
    units = {u.id: u for u in await OrgUnit.all()}
    chosen = tree.units[unit] if unit else None
    expected = sorted(
        (
            task.id
            for task in await Task.all()
            if visible.allows(units[task.org_unit_id].path, units[task.org_unit_id].level.value)
            and (
                chosen is None
                or (units[task.org_unit_id].path.startswith(chosen.path) and descendants)
                or task.org_unit_id == chosen.id
            )
        ),
        reverse=True,
    )
    spec = TaskQuery(org_unit_id=chosen.id if chosen else None, include_descendants=descendants)

    async def fetch(size: int, after: str | None) -> Page[Task]:
        return await list_tasks(context, spec, first=size, after=after)

    assert await every_page(fetch, 7) == expected
    assert await every_page(fetch, 50) == expected
    assert len(expected) > 14  # three pages at least


@pytest.mark.parametrize(
    ("username", "unit"),
    [("inspector", "zhaxi"), ("county_admin", "weixin"), ("zhaxi_head", "zhaxi")],
)
async def test_a_subtree_history_is_its_events_newest_first(
    tree: Tree, username: str, unit: str
) -> None:
    moved_away = await add_events(tree, EVENTS)
    context = tree.context_for(username)
    visible = scope_for(context, AUDIT_READ)
    prefix = tree.units[unit].path
    expected = sorted(
        (
            event.seq
            for event in await AuditEvent.all()
            if event.org_path.startswith(prefix)
            and any(
                r.levels is None and event.org_path.startswith(r.prefix) for r in visible.ranges
            )
        ),
        reverse=True,
    )
    spec = AuditQuery(org_unit_id=tree.units[unit].id, include_descendants=True)

    async def fetch(size: int, after: str | None) -> Page[AuditEvent]:
        return await list_events(context, spec, first=size, after=after)

    assert await every_page(fetch, 6) == expected
    assert len(expected) > 50
    moved = {e.seq for e in await AuditEvent.filter(org_path=moved_away)}
    assert moved and moved <= set(expected)  # the moved unit's older events are still there


# -- the plans, on PostgreSQL ------------------------------------------------------------------

# Enough rows, in two counties, that the planner's choice means something.
BULK_TASKS = 40_000
BULK_EVENTS = 40_000
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's plans")


async def plan_of(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Every node of the statement's plan."""
    conn = connections.get("default")
    _, rows = await conn.execute_query(f"EXPLAIN (FORMAT JSON) {sql}", values)
    found: list[dict[str, Any]] = []
    stack = [json.loads(rows[0][0])[0]["Plan"]]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.get("Plans", []))
    return found


async def index_named(table: str, columns: str) -> str:
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        "SELECT indexname FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE $2",
        [table, f"%({columns})"],
    )
    assert len(rows) == 1, rows
    return str(rows[0][0])


def scans_of(plan: list[dict[str, Any]], table: str) -> list[tuple[str, str | None]]:
    return [
        (node["Node Type"], node.get("Index Name"))
        for node in plan
        if node.get("Relation Name") == table
    ]


@postgres_only
async def test_the_task_page_reads_the_subtree_index_not_the_table(tree: Tree) -> None:
    conn = connections.get("default")
    units = [u.id for u in tree.units.values()]
    await conn.execute_query(
        "INSERT INTO task (title, description, category, status, origin, version, created_at,"
        " updated_at, org_unit_id, issuer_unit_id)"
        " SELECT 'bulk', '', 'PATROL', 'ASSIGNED', 'ISSUED', 1, now(), now(), u, u"
        " FROM generate_series(1, $1) g, LATERAL (SELECT ($2::int[])[1 + g % $3] AS u) x",
        [BULK_TASKS, units, len(units)],
    )
    await conn.execute_query("ANALYZE task")
    await conn.execute_query("ANALYZE org_unit")
    index = await index_named("task", "org_unit_id, id")
    context = tree.context_for("zhaxi_head")

    plan = await plan_of(*task_page_sql(scope_for(context, TASK_READ), None, None, 51, None))

    scans = scans_of(plan, "task")
    assert scans and all(kind in {"Index Scan", "Index Only Scan"} for kind, _ in scans), scans
    assert {name for _, name in scans} == {index}, plan


@postgres_only
async def test_the_history_page_reads_the_subtree_index_not_the_table(tree: Tree) -> None:
    conn = connections.get("default")
    paths = [u.path for u in tree.units.values()]
    await conn.execute_query(
        "INSERT INTO audit_event (seq, leaf_index, at, action, entity_type, entity_id, org_path,"
        " request_id, prev_hash, hash)"
        " SELECT h.seq + g, $4 + h.seq + g, now(), 'org.update', 'org', g::text,"
        " ($2::text[])[1 + g % $3], '', '', '' FROM generate_series(1, $1) g,"
        " (SELECT coalesce(max(seq), 0) AS seq FROM audit_event) h",
        [BULK_EVENTS, paths, len(paths), LISTED_ONLY],
    )
    await conn.execute_query("ANALYZE audit_event")
    index = await index_named("audit_event", "org_path, seq")
    context = tree.context_for("inspector")
    zhaxi = tree.units["zhaxi"].path

    plan = await plan_of(*event_page_sql(scope_for(context, AUDIT_READ), zhaxi, 51, None))

    scans = scans_of(plan, "audit_event")
    assert scans and all(kind in {"Index Scan", "Index Only Scan"} for kind, _ in scans), scans
    assert {name for _, name in scans} == {index}, plan

"""Paging through lists: every order, every row once, and bad cursors refused cleanly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.enums import TaskCategory
from models.task import Task
from schema.build import schema
from tests.fixtures import Tree

PAGE = """
query Page($order: TaskOrder!, $after: String, $filter: TaskFilter) {
  tasks(orderBy: $order, first: 3, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { title dueAt } }
  }
}
"""


async def add_due_dates(tree: Tree) -> None:
    """Some tasks share a due date, some have none: the hard cases for keyset paging."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    zhaxi, shilong = tree.units["zhaxi"], tree.units["shilong"]
    for i in range(9):
        await Task.create(
            title=f"extra {i}",
            category=TaskCategory.OTHER,
            org_unit=shilong,
            issuer_unit=zhaxi,
            due_at=None if i % 4 == 0 else now + timedelta(days=i % 3),
        )


async def walk(tree: Tree, order: str, filter: dict[str, Any] | None = None) -> list[str]:
    titles: list[str] = []
    after = None
    total = None
    for _ in range(50):
        result = await schema.execute(
            PAGE,
            {"order": order, "after": after, "filter": filter},
            context_value=tree.context_for("zhaxi_head"),
        )
        assert result.errors is None, result.errors
        page = result.data["tasks"]
        total = page["totalCount"]
        titles += [edge["node"]["title"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(titles) == total
    return titles


async def expected(tree: Tree, key: Any) -> list[str]:
    visible = await Task.filter(org_unit__path__startswith=tree.units["zhaxi"].path)
    return [t.title for t in sorted(visible, key=key)]


@pytest.mark.parametrize(
    ("order", "key"),
    [
        ("NEWEST", lambda t: -t.id),
        ("OLDEST", lambda t: t.id),
        (
            "DUE_SOONEST",
            lambda t: (t.due_at is None, t.due_at or datetime.max.replace(tzinfo=UTC), t.id),
        ),
        ("RECENTLY_CHANGED", lambda t: (-t.updated_at.timestamp(), -t.id)),
    ],
)
async def test_every_order_pages_through_every_row_once(tree: Tree, order: str, key: Any) -> None:
    await add_due_dates(tree)

    titles = await walk(tree, order)

    assert titles == await expected(tree, key)
    assert len(set(titles)) == len(titles)


async def test_due_date_bounds(tree: Tree) -> None:
    await add_due_dates(tree)
    bounds = {"dueAfter": "2030-01-02T00:00:00+00:00", "dueBefore": "2030-01-03T00:00:00+00:00"}

    titles = await walk(tree, "OLDEST", bounds)

    assert titles == ["extra 1", "extra 7"]  # extra 4 has no due date


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    ("order", "after"),
    [
        ("NEWEST", "not-a-cursor"),
        ("NEWEST", "%%%"),
        ("NEWEST", cursor([1, 2, 3])),
        ("NEWEST", cursor(["1"])),
        ("NEWEST", cursor([True])),
        ("NEWEST", cursor([{"id": 1}])),
        ("NEWEST", cursor([1.5])),
        ("DUE_SOONEST", cursor(["yesterday", 4])),
        ("DUE_SOONEST", cursor(["2030-01-01T00:00:00", 4])),
        ("DUE_SOONEST", cursor([["2030-01-01"], 4])),
        ("DUE_SOONEST", cursor(["2030-01-01T00:00:00+00:00", None])),
        ("OLDEST", cursor([10**30])),
        ("OLDEST", cursor("x")),
        ("OLDEST", base64.urlsafe_b64encode(b"\xff\xfe").decode()),
    ],
)
async def test_a_cursor_this_list_did_not_issue_is_a_validation_error(
    tree: Tree, order: str, after: str
) -> None:
    result = await schema.execute(
        PAGE, {"order": order, "after": after}, context_value=tree.context_for("zhaxi_head")
    )

    assert result.data is None or result.data.get("tasks") is None
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "VALIDATION"}]


@pytest.mark.parametrize("first", [-1, 101, 2**31 - 1])
async def test_page_sizes_outside_the_limits_are_refused(tree: Tree, first: int) -> None:
    result = await schema.execute(
        "query($f: Int) { tasks(first: $f) { totalCount } }",
        {"f": first},
        context_value=tree.context_for("zhaxi_head"),
    )

    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "VALIDATION"}

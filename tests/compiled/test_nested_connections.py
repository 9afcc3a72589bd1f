"""The county dashboard and nested connections run compiled, as one statement per root field
whatever the page sizes, with the resolvers' answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.queries import COUNTY_DASHBOARD
from models.org import OrgUnit
from schema.node import to_global_id
from tests.compiled.conftest import Services
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNIT_TASKS = """
query UnitTasks($unit: ID!, $first: Int!) {
  orgUnit(id: $unit) {
    name
    children(first: $first) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node {
        name
        tasks(first: $first, filter: { includeDescendants: true }) {
          totalCount
          edges { cursor node {
            title
            subtasks(first: $first) { totalCount edges { node { title } } }
          } }
        }
      } }
    }
  }
}
"""


async def _statements(services: Services, query: str, variables: dict[str, Any]) -> int:
    """How many SQL statements the compiled path's request ran (the token check included)."""
    response = await services.compiled.post(query, variables, services.tokens["county_admin"])
    body = json.loads(response.content)
    assert body["extensions"]["debug"]["executor"] == "compiled"
    count: int = body["extensions"]["debug"]["sqlStatements"]
    return count


UNIT_WITH_STATS = """
query UnitStats($county: ID!) {
  orgUnit(id: $county) {
    name
    taskStats { total overdue byStatus { status count } }
    children(first: 50) { totalCount edges { node { id name level } } }
  }
}
"""


async def test_a_unit_s_task_stats_and_its_list_rows_stats_are_compiled(
    services: Services,
) -> None:
    """A unit's own taskStats is one subquery of the statement; taskStats on the units of its
    children lists (the county dashboard) is read from one roll-up in the same statement."""
    county = await OrgUnit.get(name="威信县")
    variables = {"county": to_global_id("OrgUnit", county.id)}

    own, own_resolved = await services.both(UNIT_WITH_STATS, variables, "county_admin")
    dashboard, dashboard_resolved = await services.both(COUNTY_DASHBOARD, variables, "county_admin")

    assert own.executor == "compiled"
    assert own.body == own_resolved.body
    assert own.body["data"]["orgUnit"]["taskStats"]["total"] > 0
    assert len(own.body["data"]["orgUnit"]["children"]["edges"]) > 1
    # One statement for the token's account, one for the unit, its stats and its children.
    assert await _statements(services, UNIT_WITH_STATS, variables) == 2
    assert dashboard.executor == "compiled"
    assert dashboard.body == dashboard_resolved.body
    assert await _statements(services, COUNTY_DASHBOARD, variables) == 2


ROLLED_UP = """
query Rolled($unit: ID!, $first: Int!) {
  orgUnit(id: $unit) {
    name
    mine: taskStats { overdue total }
    children(first: $first) { edges { node {
      name
      taskStats { __typename byStatus { n: count status } total }
      children(first: $first) { totalCount edges { node {
        name
        taskStats { total overdue byStatus { status count } }
        children(first: 2) { edges { node { name level } } }
      } } }
    } } }
  }
}
"""


def _rows_with_stats(unit: dict[str, Any]) -> list[dict[str, Any]]:
    """Every unit of the answer that shows taskStats, the root first."""
    found = [unit] if "taskStats" in unit or "mine" in unit else []
    for edge in (unit.get("children") or {}).get("edges", []):
        found += _rows_with_stats(edge["node"])
    return found


@pytest.mark.parametrize(
    ("account", "partial"),
    [("dept_head", True), ("village_sec", True), ("zhaxi_head", True), ("inspector", False)],
)
async def test_list_rows_stats_follow_each_viewer_s_scope_unit_by_unit(
    services: Services, account: str, partial: bool
) -> None:
    """A department paired with a village, a village secretary, a township head: each sees
    the counts of the units they read tasks on, on both paths; the county's inspector reads
    the tasks of every unit shown."""
    county = await OrgUnit.get(name="威信县")
    variables = {"unit": to_global_id("OrgUnit", county.id), "first": 50}

    compiled, resolved = await services.both(ROLLED_UP, variables, account)
    whole, _ = await services.both(ROLLED_UP, variables, "county_admin")

    assert compiled.executor == "compiled"
    assert compiled.body == resolved.body
    mine = {u["name"]: _total(u) for u in _rows_with_stats(compiled.body["data"]["orgUnit"])}
    all_of = {u["name"]: _total(u) for u in _rows_with_stats(whole.body["data"]["orgUnit"])}
    # For the units shown to both, no figure is above the county admin's; a viewer reading
    # tasks on part of what they see has some below, and some unit still shows tasks.
    assert mine.keys() <= all_of.keys() and len(mine) > 1
    assert all(mine[name] <= all_of[name] for name in mine)
    assert any(mine[name] < all_of[name] for name in mine) == partial
    assert any(mine.values())


def _total(unit: dict[str, Any]) -> int:
    total: int = (unit.get("taskStats") or unit["mine"])["total"]
    return total


async def test_the_dashboard_s_statement_count_holds_whatever_the_page_size(
    services: Services,
) -> None:
    county = await OrgUnit.get(name="威信县")
    unit = to_global_id("OrgUnit", county.id)
    counts, shown = [], []
    for first in (1, 3, 50):
        variables = {"unit": unit, "first": first}

        compiled, resolved = await services.both(ROLLED_UP, variables, "county_admin")

        assert compiled.executor == "compiled"
        assert compiled.body == resolved.body
        counts.append(await _statements(services, ROLLED_UP, variables))
        shown.append(len(_rows_with_stats(compiled.body["data"]["orgUnit"])))
    assert counts == [2, 2, 2]
    assert shown[0] < shown[1] < shown[2]


@pytest.mark.parametrize(
    "query",
    [
        # A list at the root, and units reached by a link: no root unit anchors a roll-up.
        "{ orgUnits(first: 5) { edges { node { taskStats { total } } } } }",
        """query Q($unit: ID!) { orgUnit(id: $unit) { children(first: 3) { edges { node {
             parent { taskStats { total } } } } } } }""",
        """query Q($unit: ID!) { orgUnit(id: $unit) { parent { children(first: 3) {
             edges { node { taskStats { total } } } } } } }""",
        """query Q($unit: ID!) { orgUnit(id: $unit) { tasks(first: 3) { edges { node {
             orgUnit { taskStats { total } } } } } } }""",
    ],
)
async def test_list_rows_stats_no_root_unit_anchors_run_resolved(
    services: Services, query: str
) -> None:
    township = await OrgUnit.get(name="扎西镇")
    variables = {"unit": to_global_id("OrgUnit", township.id)} if "$unit" in query else None

    compiled, resolved = await services.both(query, variables, "county_admin")

    assert compiled.executor == "resolved"
    assert compiled.body == resolved.body
    assert "errors" not in resolved.body


async def test_nested_connections_are_one_statement_whatever_the_page_size(
    services: Services,
) -> None:
    county = await OrgUnit.get(name="威信县")
    unit = to_global_id("OrgUnit", county.id)
    counts, tasks_shown = [], []
    for first in (1, 3, 10):  # larger pages at three levels exceed the cost limit
        variables = {"unit": unit, "first": first}

        compiled, resolved = await services.both(UNIT_TASKS, variables, "county_admin")

        assert compiled.executor == "compiled"
        assert compiled.body == resolved.body
        counts.append(await _statements(services, UNIT_TASKS, variables))
        edges = compiled.body["data"]["orgUnit"]["children"]["edges"]
        tasks_shown.append(sum(len(edge["node"]["tasks"]["edges"]) for edge in edges))
    assert counts == [2, 2, 2]
    # The pages grew with `first`: the statement count held over more rows.
    assert tasks_shown[0] < tasks_shown[1] < tasks_shown[2]


async def test_a_second_page_of_children_agrees(services: Services) -> None:
    county = await OrgUnit.get(name="威信县")
    unit = to_global_id("OrgUnit", county.id)
    query = """
    query Pages($unit: ID!, $after: String) {
      orgUnit(id: $unit) { children(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } }
      } }
    }
    """
    first, _ = await services.both(query, {"unit": unit, "after": None}, "county_admin")
    after = first.body["data"]["orgUnit"]["children"]["pageInfo"]["endCursor"]

    compiled, resolved = await services.both(query, {"unit": unit, "after": after}, "county_admin")

    assert compiled.executor == "compiled"
    assert compiled.body == resolved.body
    assert compiled.body["data"]["orgUnit"]["children"]["edges"][0]["cursor"] != after


async def test_an_operation_nested_deeper_than_sqlite_parses_runs_resolved_without_error(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    county = await OrgUnit.get(name="威信县")
    deepest = await OrgUnit.filter(path__startswith=county.path).order_by("-depth").first()
    assert deepest is not None
    parents = "parent { " * 12 + "taskStats { overdue } " + "} " * 12
    query = f"query Deep($unit: ID!) {{ orgUnit(id: $unit) {{ {parents} }} }}"
    variables = {"unit": to_global_id("OrgUnit", deepest.id)}

    compiled, resolved = await services.both(query, variables, "county_admin")

    assert compiled.body == resolved.body
    assert "errors" not in resolved.body
    # SQLite's parser refuses a statement this deep: the resolvers answer, and nothing is
    # logged as a plan's fault. PostgreSQL takes it.
    assert compiled.executor == ("compiled" if ON_POSTGRES else "resolved")
    assert not [r for r in caplog.records if r.name == "riverchief.compiled"]

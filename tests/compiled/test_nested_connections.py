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


async def test_the_county_dashboard_is_compiled(services: Services) -> None:
    county = await OrgUnit.get(name="威信县")
    variables = {"county": to_global_id("OrgUnit", county.id)}

    compiled, resolved = await services.both(COUNTY_DASHBOARD, variables, "county_admin")

    assert compiled.executor == "compiled"
    assert compiled.body == resolved.body
    townships = compiled.body["data"]["orgUnit"]["children"]["edges"]
    assert len(townships) > 1
    assert compiled.body["data"]["orgUnit"]["taskStats"]["total"] > 0
    # One statement for the token's account, one for the whole dashboard.
    assert await _statements(services, COUNTY_DASHBOARD, variables) == 2


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

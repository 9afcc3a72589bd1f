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

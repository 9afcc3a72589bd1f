"""On the demo data, a unit's task list and its dashboard count the same tasks: the issue's
石龙村 case (`taskStats.overdue` 1 while `tasks(filter: {overdue: true})` found 0) for every
unit each township head and the county administrator can see."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext

from tests.http.client import GraphQLClient, running_app

UNITS = """
query($after: String) {
  orgUnits(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id name } }
  }
}
"""
LISTS = """
query($id: ID!) {
  orgUnit(id: $id) {
    name
    taskStats { total overdue }
    overdue: tasks(filter: { overdue: true }) { totalCount }
    all: tasks { totalCount }
    own: tasks(filter: { includeDescendants: false }) { totalCount }
  }
}
"""


@pytest.fixture
async def demo_client(demo_db: TortoiseContext) -> Any:
    async with running_app() as client:
        yield client


async def unit_ids(client: GraphQLClient, token: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    after = None
    while True:
        body = await client.run(UNITS, {"after": after}, token)
        page = body["data"]["orgUnits"]
        found += [(e["node"]["id"], e["node"]["name"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_every_units_task_list_agrees_with_its_task_stats(demo_client: GraphQLClient) -> None:
    checked: dict[str, dict[str, Any]] = {}
    for account in ("zhaxi_head", "luobu_head", "county_admin"):
        token = await demo_client.login(account)
        for gid, name in await unit_ids(demo_client, token):
            body = await demo_client.run(LISTS, {"id": gid}, token)
            assert "errors" not in body, body
            unit = body["data"]["orgUnit"]
            stats = unit["taskStats"]
            assert unit["overdue"]["totalCount"] == stats["overdue"], (account, name)
            assert unit["all"]["totalCount"] == stats["total"], (account, name)
            assert unit["own"]["totalCount"] <= stats["total"], (account, name)
            checked[f"{account}:{name}"] = stats

    shilong = checked["zhaxi_head:石龙村"]
    assert shilong["overdue"] >= 1  # the case: overdue work under the village

"""Reads through the graph: scoped lists, out-of-scope objects as null, guards."""

from __future__ import annotations

from typing import Any

from schema.build import schema
from tests.fixtures import Tree

TASKS = """
query Tasks($filter: TaskFilter) {
  tasks(filter: $filter, first: 100) { totalCount edges { node { title } } }
}
"""
TASK = "query Task($id: ID!) { task(id: $id) { title orgUnit { name } issuer { name } } }"
ORG_UNIT = "query Unit($id: ID!) { orgUnit(id: $id) { name parent { name } } }"


async def run(tree: Tree, username: str | None, query: str, **variables: Any) -> Any:
    result = await schema.execute(query, variables, context_value=tree.context_for(username))
    return result


def titles(result: Any) -> set[str]:
    return {edge["node"]["title"] for edge in result.data["tasks"]["edges"]}


async def test_zhaxi_head_sees_every_task_under_zhaxi_and_none_elsewhere(tree: Tree) -> None:
    result = await run(tree, "zhaxi_head", TASKS)

    assert result.errors is None
    assert titles(result) == {
        "task of zhaxi",
        "task of shilong",
        "task of dahetan",
        "task of grid_a",
        "task of grid_b",
        "task of enterprise",
    }
    assert result.data["tasks"]["totalCount"] == 6


async def test_yzh_admin_sees_nothing_of_weixin(tree: Tree) -> None:
    result = await run(tree, "yzh_admin", TASKS)

    assert titles(result) == {"task of yangzonghai", "task of tangchi", "task of qixing"}


async def test_dept_head_reaches_its_paired_village(tree: Tree) -> None:
    result = await run(tree, "dept_head", TASKS)

    assert titles(result) == {"task of water_bureau", "task of luobu_village", "task of grid_c"}


async def test_enterprise_chief_reaches_only_its_enterprise(tree: Tree) -> None:
    result = await run(tree, "enterprise_chief", TASKS)

    assert titles(result) == {"task of enterprise"}


async def test_out_of_scope_task_reads_as_null(tree: Tree) -> None:
    result = await run(tree, "luobu_head", TASK, id=tree.task_gid("zhaxi"))

    assert result.errors is None
    assert result.data == {"task": None}


async def test_in_scope_task_shows_its_issuer_above_the_viewer(tree: Tree) -> None:
    result = await run(tree, "zhaxi_head", TASK, id=tree.task_gid("zhaxi"))

    assert result.data == {
        "task": {
            "title": "task of zhaxi",
            "orgUnit": {"name": "zhaxi"},
            "issuer": {"name": "weixin"},
        }
    }


async def test_village_secretary_sees_its_county_but_not_a_sibling_township(tree: Tree) -> None:
    own = await run(tree, "village_sec", ORG_UNIT, id=tree.unit_gid("shilong"))
    sibling = await run(tree, "village_sec", ORG_UNIT, id=tree.unit_gid("luobu"))

    assert own.data == {"orgUnit": {"name": "shilong", "parent": {"name": "zhaxi"}}}
    assert sibling.data == {"orgUnit": None}


async def test_anonymous_list_is_unauthenticated(tree: Tree) -> None:
    result = await run(tree, None, TASKS)

    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [{"code": "UNAUTHENTICATED"}]


async def test_malformed_id_is_a_validation_error(tree: Tree) -> None:
    result = await run(tree, "county_admin", TASK, id="not-an-id!")

    assert [e.extensions for e in result.errors or []] == [{"code": "VALIDATION"}]

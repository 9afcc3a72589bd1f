"""The fields the typed schema added, for every account of the test tree: lookups by code read
exactly as lookups by id (null for nothing and for what the viewer may not read), ``myTasks``
is the viewer's own share of ``tasks``, every task list agrees with ``taskStats``, and the
same answers come over HTTP and over the websocket."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.enums import WaterKind
from models.org import WaterBody
from models.people import User
from models.policy import CasbinRule
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, PASSWORD_HASH, UNITS, Tree
from tests.graph import codes, data, run
from tests.http.client import GraphQLClient
from tests.http.test_websocket_authority import (
    assert_the_socket_answers_as_http,
)

UNIT_BY_ID = "query($id: ID!) { orgUnit(id: $id) { id code name } }"
UNIT_BY_CODE = "query($code: String!) { orgUnitByCode(code: $code) { id code name } }"
BODY_BY_CODE = "query($code: String!) { waterBodyByCode(code: $code) { id code kind } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on WaterBody { code kind } } }"
MY_TASKS = """
query($filter: TaskFilter) {
  myTasks(filter: $filter, first: 100) {
    totalCount edges { node { title assignee { id } } }
  }
}
"""
ASSIGNED_TO = """
query($person: ID!) {
  tasks(filter: { assigneeId: $person }, first: 100) { totalCount edges { node { title } } }
}
"""
UNIT_TASKS = """
query($id: ID!) {
  orgUnit(id: $id) {
    taskStats { total overdue }
    tasks(first: 100) { totalCount }
    own: tasks(filter: { includeDescendants: false }) { totalCount }
    newest: tasks(first: 100, orderBy: NEWEST) { edges { node { id } } }
    oldest: tasks(first: 100, orderBy: OLDEST) { edges { node { id } } }
  }
}
"""
EVERYONE = sorted(ACCOUNTS)


def person_gid(tree: Tree, username: str) -> str:
    return to_global_id("Person", tree.users[username].person_id)


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_a_unit_by_code_reads_as_the_unit_by_id(tree: Tree, viewer: str) -> None:
    for name, unit in tree.units.items():
        by_id = await data(tree, viewer, UNIT_BY_ID, id=tree.unit_gid(name))
        by_code = await data(tree, viewer, UNIT_BY_CODE, code=unit.code)

        assert by_code == {"orgUnitByCode": by_id["orgUnit"]}, (viewer, name)
    nothing = await data(tree, viewer, UNIT_BY_CODE, code="no-such-code")
    assert nothing == {"orgUnitByCode": None}


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_a_water_body_by_code_reads_as_the_water_body_through_node(
    tree: Tree, viewer: str
) -> None:
    """Read where the unit it runs through is read: by id, by code and as a node alike."""
    body = await WaterBody.create(code="zxh-sl", name="扎西河石龙村段", kind=WaterKind.SEGMENT)
    await body.units.add(tree.units["shilong"])
    gid = to_global_id("WaterBody", body.id)
    reads_village = (await data(tree, viewer, UNIT_BY_ID, id=tree.unit_gid("shilong")))["orgUnit"]

    by_code = await data(tree, viewer, BODY_BY_CODE, code="zxh-sl")
    as_node = await data(tree, viewer, NODE, id=gid)

    expected = {"id": gid, "code": "zxh-sl", "kind": "SEGMENT"} if reads_village else None
    assert by_code == {"waterBodyByCode": expected}
    assert as_node == {"node": expected}
    assert await data(tree, viewer, BODY_BY_CODE, code="none") == {"waterBodyByCode": None}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (UNIT_BY_CODE, {"code": "weixin-1"}),
        (BODY_BY_CODE, {"code": "zxh-sl"}),
        (MY_TASKS, {}),
    ],
)
async def test_the_new_fields_refuse_an_anonymous_caller(
    tree: Tree, query: str, variables: dict[str, Any]
) -> None:
    result = await run(tree, None, query, **variables)

    assert codes(result) == ["UNAUTHENTICATED"]
    assert not any((result.data or {}).values())  # nothing answered


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_my_tasks_are_the_tasks_assigned_to_my_person_that_i_can_see(
    tree: Tree, viewer: str
) -> None:
    """Each account's person is the person of its unit, who holds that unit's task."""
    me = person_gid(tree, viewer)

    mine = (await data(tree, viewer, MY_TASKS))["myTasks"]
    assigned = (await data(tree, viewer, ASSIGNED_TO, person=me))["tasks"]

    unit = ACCOUNTS[viewer][1]
    assert [e["node"]["title"] for e in mine["edges"]] == [f"task of {unit}"]
    assert mine["totalCount"] == assigned["totalCount"] == 1
    assert {e["node"]["assignee"]["id"] for e in mine["edges"]} == {me}


async def test_my_tasks_take_the_task_filter(tree: Tree) -> None:
    done = await data(tree, "zhaxi_head", MY_TASKS, filter={"status": ["VERIFIED"]})
    open_ = await data(tree, "zhaxi_head", MY_TASKS, filter={"status": "ASSIGNED"})
    someone_else = await data(
        tree, "zhaxi_head", MY_TASKS, filter={"assigneeId": person_gid(tree, "village_sec")}
    )

    assert done["myTasks"]["totalCount"] == 0
    assert open_["myTasks"]["totalCount"] == 1
    assert someone_else["myTasks"] == {"totalCount": 0, "edges": []}


async def test_an_account_without_a_person_has_no_tasks_of_its_own(tree: Tree) -> None:
    user = await User.create(username="nobody_in_particular", password_hash=PASSWORD_HASH)
    await CasbinRule.create(
        ptype="g", v0=f"user:{user.id}", v1="county_admin", v2=f"{tree.units['weixin'].path}*"
    )
    await tree.engine.reload()
    tree.users[user.username] = user

    mine = await data(tree, user.username, MY_TASKS)
    everything = await data(tree, user.username, "{ tasks { totalCount } }")

    assert mine == {"myTasks": {"totalCount": 0, "edges": []}}
    assert everything["tasks"]["totalCount"] > 0


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_a_units_task_list_counts_what_its_task_stats_count(tree: Tree, viewer: str) -> None:
    """The same defaults everywhere: a unit's tasks are its subtree's, as `taskStats` says."""
    seen = 0
    for name in UNITS:
        unit = (await data(tree, viewer, UNIT_TASKS, id=tree.unit_gid(name)))["orgUnit"]
        if unit is None:
            continue
        seen += 1
        stats = unit["taskStats"]
        assert unit["tasks"]["totalCount"] == stats["total"], (viewer, name)
        assert unit["own"]["totalCount"] <= 1  # each unit holds one task of its own
        oldest = [e["node"]["id"] for e in unit["oldest"]["edges"]]
        assert [e["node"]["id"] for e in unit["newest"]["edges"]] == oldest[::-1]
    assert seen > 0


async def test_the_new_fields_answer_alike_over_the_websocket_and_http(
    db: TortoiseContext, tree: Tree, client: GraphQLClient
) -> None:
    """Each account runs the new fields over both transports and gets the same answer."""
    body = await WaterBody.create(code="zxh-sl", name="扎西河石龙村段", kind=WaterKind.SEGMENT)
    await body.units.add(tree.units["shilong"])
    operations = [
        (UNIT_BY_CODE, {"code": tree.units["shilong"].code}),
        (UNIT_BY_CODE, {"code": tree.units["qixing"].code}),
        (BODY_BY_CODE, {"code": "zxh-sl"}),
        (MY_TASKS, {"filter": {"category": "PATROL"}}),
        (UNIT_TASKS, {"id": tree.unit_gid("zhaxi")}),
    ]
    over_http: dict[str, list[Any]] = {}
    for viewer in EVERYONE:
        token = await client.login(viewer)
        over_http[viewer] = [await client.run(q, v, token) for q, v in operations]

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)
    assert over_http["yzh_admin"][0] == {"data": {"orgUnitByCode": None}}
    assert over_http["county_admin"][1] == {"data": {"orgUnitByCode": None}}

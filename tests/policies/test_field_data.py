"""The field's data for every account of the test tree: water bodies, the units they run
through, a unit's pairings and people, each read through the one scope filter, with the same
answers over HTTP and over the websocket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.enums import LinkKind, WaterKind
from models.org import OrgLink, WaterBody
from models.people import Person
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, UNITS, Tree
from tests.graph import codes, data, run
from tests.http.client import running_app
from tests.http.test_websocket_authority import (
    assert_the_socket_answers_as_http,
    token_for,
)

EVERYONE = sorted(ACCOUNTS)
WEIXIN = [n for n in UNITS if n not in ("yangzonghai", "tangchi", "qixing")]

WATER_BODIES = """
query($kind: WaterKind, $first: Int, $after: String) {
  waterBodies(kind: $kind, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { code kind units(first: 100) { totalCount edges { node { name } } } } }
  }
}
"""
LINKS = """
query($id: ID!) {
  orgUnit(id: $id) { links { kind note partner { name } waterBody { code } } }
}
"""
PEOPLE = """
query($filter: PersonFilter, $first: Int, $after: String) {
  people(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { name phone idNumber orgUnit { name } } }
  }
}
"""

# Each water body of ``field`` and the units it runs through.
BODIES = {
    "zxh": (WaterKind.RIVER, ["zhaxi", "luobu"]),
    "zxh-sl": (WaterKind.SEGMENT, ["shilong"]),
    "dlh-lb": (WaterKind.SEGMENT, ["luobu_village"]),
    "yzh": (WaterKind.LAKE, ["qixing"]),
}

# What each account reads: each water body with the units of it they read. A grid leader, a
# village secretary and an enterprise chief read their village's segment and the river of
# their township (the units above their grant); the water bureau the segments it is paired
# with (支部联建 with 罗布村, 挂钩联系 with the 石龙 segment), not the river; whoever reads the
# enterprise reads its responsibility segment in 罗布, without the units it runs through.
SEEN: dict[str, dict[str, list[str]]] = {
    "county_admin": {"zxh": ["zhaxi", "luobu"], "zxh-sl": ["shilong"], "dlh-lb": ["luobu_village"]},
    "inspector": {"zxh": ["zhaxi", "luobu"], "zxh-sl": ["shilong"], "dlh-lb": ["luobu_village"]},
    "zhaxi_head": {"zxh": ["zhaxi"], "zxh-sl": ["shilong"], "dlh-lb": []},
    "luobu_head": {"zxh": ["luobu"], "dlh-lb": ["luobu_village"]},
    "village_sec": {"zxh": ["zhaxi"], "zxh-sl": ["shilong"], "dlh-lb": []},
    "grid_leader": {"zxh": ["zhaxi"], "zxh-sl": ["shilong"]},
    "enterprise_chief": {"zxh": ["zhaxi"], "zxh-sl": ["shilong"], "dlh-lb": []},
    "dept_head": {"zxh-sl": ["shilong"], "dlh-lb": ["luobu_village"]},
    "yzh_admin": {"yzh": ["qixing"]},
}

# Whose people each account reads (`person:read` at their unit, pairings included), and
# whether it reads their phone in full (`person_pii:read`).
PEOPLE_SEEN: dict[str, tuple[list[str], list[str]]] = {
    "county_admin": (WEIXIN, WEIXIN),
    "inspector": (WEIXIN, []),
    "zhaxi_head": (
        ["zhaxi", "shilong", "dahetan", "grid_a", "grid_b", "enterprise"],
        ["zhaxi", "shilong", "dahetan", "grid_a", "grid_b", "enterprise"],
    ),
    "luobu_head": (["luobu", "luobu_village", "grid_c"], ["luobu", "luobu_village", "grid_c"]),
    "village_sec": (["shilong", "grid_a", "enterprise"], ["shilong", "grid_a", "enterprise"]),
    "grid_leader": (["grid_a"], ["grid_a"]),
    "enterprise_chief": (["enterprise"], []),
    "dept_head": (
        ["water_bureau", "luobu_village", "grid_c", "shilong", "grid_a", "enterprise"],
        ["water_bureau"],
    ),
    "yzh_admin": (["yangzonghai", "tangchi", "qixing"], ["yangzonghai", "tangchi", "qixing"]),
}


@dataclass
class Field:
    tree: Tree
    bodies: dict[str, WaterBody]


@pytest.fixture
async def field(tree: Tree) -> Field:
    """The tree's water bodies, the water bureau's river pairing with the 石龙 segment (beside
    its 支部联建 with 罗布村) and the enterprise's responsibility segment in 罗布."""
    bodies = {}
    for code, (kind, units) in BODIES.items():
        bodies[code] = await WaterBody.create(code=code, name=f"water {code}", kind=kind)
        await bodies[code].units.add(*(tree.units[u] for u in units))
    await OrgLink.create(
        unit=tree.units["water_bureau"],
        water_body=bodies["zxh-sl"],
        kind=LinkKind.RIVER_PAIRING,
        note="包保河段",
    )
    await OrgLink.create(
        unit=tree.units["enterprise"],
        water_body=bodies["dlh-lb"],
        kind=LinkKind.RESPONSIBILITY,
        note="企业河长责任河段",
    )
    await tree.engine.reload()
    return Field(tree, bodies)


def seen_bodies(found: Any) -> dict[str, list[str]]:
    return {
        e["node"]["code"]: [u["node"]["name"] for u in e["node"]["units"]["edges"]]
        for e in found["waterBodies"]["edges"]
    }


def in_path_order(tree: Tree, names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: tree.units[n].path)


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_each_account_reads_the_water_bodies_of_the_units_it_reads(
    field: Field, viewer: str
) -> None:
    tree = field.tree
    found = await data(tree, viewer, WATER_BODIES, first=100)

    expected = {code: in_path_order(tree, units) for code, units in SEEN[viewer].items()}
    assert seen_bodies(found) == expected
    assert found["waterBodies"]["totalCount"] == len(expected)
    for edge in found["waterBodies"]["edges"]:
        units = edge["node"]["units"]
        assert units["totalCount"] == len(units["edges"])


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_a_water_body_reads_alike_in_the_list_by_code_and_as_a_node(
    field: Field, viewer: str
) -> None:
    """One rule for every way in: a water body missing from the list is null by code and id."""
    tree = field.tree
    for code, body in field.bodies.items():
        by_code = await data(
            tree, viewer, "query($c: String!) { waterBodyByCode(code: $c) { code } }", c=code
        )
        as_node = await data(
            tree,
            viewer,
            "query($id: ID!) { node(id: $id) { ... on WaterBody { code } } }",
            id=to_global_id("WaterBody", body.id),
        )
        expected = {"code": code} if code in SEEN[viewer] else None
        assert (by_code, as_node) == ({"waterBodyByCode": expected}, {"node": expected})


async def test_water_bodies_narrow_by_kind_and_page_forwards(field: Field) -> None:
    tree = field.tree
    segments = await data(tree, "county_admin", WATER_BODIES, kind="SEGMENT")
    first = await data(tree, "county_admin", WATER_BODIES, first=2)
    cursor = first["waterBodies"]["pageInfo"]["endCursor"]
    rest = await data(tree, "county_admin", WATER_BODIES, first=2, after=cursor)

    assert list(seen_bodies(segments)) == ["zxh-sl", "dlh-lb"]
    assert list(seen_bodies(first)) == ["zxh", "zxh-sl"]
    assert first["waterBodies"]["pageInfo"]["hasNextPage"] is True
    assert list(seen_bodies(rest)) == ["dlh-lb"]
    assert rest["waterBodies"] | {"edges": None} == {
        "totalCount": 3,
        "pageInfo": {
            "hasNextPage": False,
            "endCursor": rest["waterBodies"]["pageInfo"]["endCursor"],
        },
        "edges": None,
    }


async def test_a_parent_river_reads_as_null_where_it_is_not_read(field: Field) -> None:
    tree = field.tree
    segment = field.bodies["zxh-sl"]
    segment.parent_id = field.bodies["zxh"].id
    await segment.save()
    query = "{ waterBodies(kind: SEGMENT) { edges { node { code parent { code } } } } }"

    village = await data(tree, "village_sec", query)
    bureau = await data(tree, "dept_head", query)

    assert village["waterBodies"]["edges"] == [
        {"node": {"code": "zxh-sl", "parent": {"code": "zxh"}}},
        {"node": {"code": "dlh-lb", "parent": None}},
    ]
    assert {"node": {"code": "zxh-sl", "parent": None}} in bureau["waterBodies"]["edges"]


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_a_units_links_name_only_what_the_viewer_reads(field: Field, viewer: str) -> None:
    tree = field.tree
    bureau = (await data(tree, viewer, LINKS, id=tree.unit_gid("water_bureau")))["orgUnit"]
    enterprise = (await data(tree, viewer, LINKS, id=tree.unit_gid("enterprise")))["orgUnit"]

    if viewer in ("county_admin", "inspector", "dept_head"):
        assert bureau == {
            "links": [
                {
                    "kind": "CO_BUILDING",
                    "note": "",
                    "partner": {"name": "luobu_village"},
                    "waterBody": None,
                },
                {
                    "kind": "RIVER_PAIRING",
                    "note": "包保河段",
                    "partner": None,
                    "waterBody": {"code": "zxh-sl"},
                },
            ]
        }
    else:
        assert bureau is None
    if enterprise is None:
        assert viewer in ("luobu_head", "grid_leader", "dept_head", "yzh_admin")
        return
    # The responsibility segment: read by whoever reads the enterprise it is paired with.
    segment = {"code": "dlh-lb"} if "dlh-lb" in SEEN[viewer] else None
    assert enterprise == {
        "links": [
            {
                "kind": "RESPONSIBILITY",
                "note": "企业河长责任河段",
                "partner": None,
                "waterBody": segment,
            }
        ]
    }


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_each_account_lists_the_people_it_reads_masked_outside_its_management(
    field: Field, viewer: str
) -> None:
    tree = field.tree
    found = (await data(tree, viewer, PEOPLE, first=100))["people"]

    readable, managed = PEOPLE_SEEN[viewer]
    by_unit = {e["node"]["orgUnit"]["name"]: e["node"] for e in found["edges"]}
    assert sorted(by_unit) == sorted(readable)
    assert found["totalCount"] == len(readable)
    for unit, person in by_unit.items():
        full = unit in managed
        assert person["name"] == f"person of {unit}"
        assert person["phone"] == ("13812345678" if full else "138****5678"), (viewer, unit)
        assert person["idNumber"] == ("530627198001011234" if full else "**************1234")


async def test_people_narrow_by_unit_and_party_membership_and_page_forwards(field: Field) -> None:
    tree = field.tree
    await Person.filter(id=tree.people["shilong"].id).update(party_member=True)

    def names(found: Any) -> list[str]:
        return [e["node"]["orgUnit"]["name"] for e in found["people"]["edges"]]

    subtree = await data(tree, "zhaxi_head", PEOPLE, filter={"orgUnitId": tree.unit_gid("shilong")})
    own = await data(
        tree,
        "zhaxi_head",
        PEOPLE,
        filter={"orgUnitId": tree.unit_gid("shilong"), "includeDescendants": False},
    )
    members = await data(tree, "zhaxi_head", PEOPLE, filter={"partyMember": True})
    hidden = await data(tree, "zhaxi_head", PEOPLE, filter={"orgUnitId": tree.unit_gid("luobu")})
    first = await data(tree, "zhaxi_head", PEOPLE, first=4)
    cursor = first["people"]["pageInfo"]["endCursor"]
    rest = await data(tree, "zhaxi_head", PEOPLE, first=4, after=cursor)

    assert sorted(names(subtree)) == ["enterprise", "grid_a", "shilong"]
    assert names(own) == ["shilong"]
    assert names(members) == ["shilong"]
    assert hidden["people"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    assert first["people"]["pageInfo"]["hasNextPage"] is True
    assert len(names(first)) == 4
    assert sorted(names(first) + names(rest)) == sorted(PEOPLE_SEEN["zhaxi_head"][0])
    assert rest["people"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    "query", [WATER_BODIES, PEOPLE, "{ orgUnits { edges { node { links { kind } } } } }"]
)
async def test_the_field_data_refuses_an_anonymous_caller(field: Field, query: str) -> None:
    result = await run(field.tree, None, query)

    assert codes(result) == ["UNAUTHENTICATED"]
    assert not any((result.data or {}).values())


async def test_the_field_data_answers_alike_over_http_and_the_websocket(
    db: TortoiseContext, field: Field
) -> None:
    tree = field.tree
    operations = [
        (WATER_BODIES, {"first": 100}),
        (LINKS, {"id": tree.unit_gid("water_bureau")}),
        (LINKS, {"id": tree.unit_gid("enterprise")}),
        (PEOPLE, {"first": 100}),
    ]
    over_http: dict[str, list[Any]] = {}
    async with running_app() as client:
        for viewer in EVERYONE:
            token = token_for(tree.users[viewer])
            over_http[viewer] = [await client.run(q, v, token) for q, v in operations]
    for viewer in EVERYONE:
        expected = await data(tree, viewer, WATER_BODIES, first=100)
        assert over_http[viewer][0] == {"data": expected}, viewer
        people = await data(tree, viewer, PEOPLE, first=100)
        assert over_http[viewer][3] == {"data": people}, viewer

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)

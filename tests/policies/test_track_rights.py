"""Over HTTP: patrols filed with tracks by each role that files patrols, where it may, and
refused (writing nothing) where it may not; and geometry read exactly where its unit or water
body is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyproj import Geod

from models.audit import AuditEvent
from models.enums import LinkKind, WaterKind
from models.org import OrgLink, WaterBody
from models.record import AccountabilityRecord
from resolvers.tracks import MAX_TRACK_POINTS
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, Tree
from tests.http.client import GraphQLClient, running_app
from tests.tracks import WEIXIN, track_along

CREATE_RECORD = """
mutation File($input: CreateRecordInput!) {
  createRecord(input: $input) {
    record { id orgUnit { name } details flags { code } }
    errors { field code }
  }
}
"""
GEOMETRY = """
query Geometry($unit: ID!, $code: String!) {
  node(id: $unit) { ... on OrgUnit { name geometry } }
  waterBodyByCode(code: $code) { code geometry }
}
"""
VISIBLE = """
query Visible($unit: ID!, $code: String!) {
  node(id: $unit) { ... on OrgUnit { name } }
  waterBodyByCode(code: $code) { code }
}
"""
START = datetime(2025, 5, 9, 8, tzinfo=UTC)
WGS84 = Geod(ellps="WGS84")
RIVER_LINE = {
    "type": "LineString",
    "coordinates": [list(WEIXIN), list(WGS84.fwd(*WEIXIN, 0, 20_000)[:2])],
}
SHILONG_OUTLINE = {
    "type": "Polygon",
    "coordinates": [[[104.98, 27.79], [105.02, 27.79], [105.02, 27.83], [104.98, 27.79]]],
}


async def paired_river(tree: Tree) -> WaterBody:
    """A segment through dahetan, drawn as a line: the water bureau's river pairing (which
    reaches dahetan for patrols) and the enterprise's responsibility segment."""
    segment = await WaterBody.create(
        code="seg-dahetan", name="segment", kind=WaterKind.SEGMENT, geometry=RIVER_LINE
    )
    await segment.units.add(tree.units["dahetan"])
    await OrgLink.create(
        unit=tree.units["water_bureau"], water_body=segment, kind=LinkKind.RIVER_PAIRING
    )
    await OrgLink.create(
        unit=tree.units["enterprise"], water_body=segment, kind=LinkKind.RESPONSIBILITY
    )
    return segment


def tracked_patrol(tree: Tree, unit: str, segment: WaterBody, day: int) -> dict[str, Any]:
    start = START + timedelta(days=day)
    return {
        "type": "PATROL",
        "orgUnitId": tree.unit_gid(unit),
        "occurredAt": start.isoformat(),
        "endedAt": (start + timedelta(hours=2)).isoformat(),
        "waterBodyId": to_global_id("WaterBody", segment.id),
        "patrol": {"track": track_along(start, 2, 6)},
    }


async def file_over_http(
    client: GraphQLClient, username: str, given: dict[str, Any]
) -> tuple[Any, list[str]]:
    """The payload (or null) and the top-level error codes."""
    token = await client.login(username)
    body = await client.run(CREATE_RECORD, {"input": given}, token)
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    return (body.get("data") or {}).get("createRecord"), codes


FILES = [
    ("grid_leader", "grid_a"),
    ("enterprise_chief", "enterprise"),
    ("dept_head", "dahetan"),  # on its paired river
    ("village_sec", "shilong"),
    ("zhaxi_head", "dahetan"),
    ("county_admin", "shilong"),
]
REFUSED = [
    ("inspector", "shilong", "FORBIDDEN"),  # reads, files findings only
    ("grid_leader", "grid_b", "NOT_FOUND"),  # another village's grid
    ("enterprise_chief", "dahetan", "NOT_FOUND"),  # its segment widens nothing
    ("dept_head", "shilong", "NOT_FOUND"),  # off its river and its partners
    ("yzh_admin", "shilong", "NOT_FOUND"),  # another county
]


async def test_each_role_that_files_patrols_files_one_with_a_track(tree: Tree) -> None:
    segment = await paired_river(tree)
    # A patrol names only a water body its filer reads: the grid leader patrols the reach
    # through its own village, not the segment through the next one.
    own_reach = await WaterBody.create(
        code="seg-shilong", name="reach", kind=WaterKind.SEGMENT, geometry=RIVER_LINE
    )
    await own_reach.units.add(tree.units["shilong"])
    reach_of = {"grid_leader": own_reach}
    async with running_app() as client:
        filed = {}
        for day, (username, unit) in enumerate(FILES):
            result, codes = await file_over_http(
                client, username, tracked_patrol(tree, unit, reach_of.get(username, segment), day)
            )
            assert codes == [], (username, codes)
            filed[username] = (
                result["errors"],
                result["record"]["orgUnit"],
                result["record"]["details"]["distanceKm"],
                result["record"]["flags"],
            )

    assert filed == {username: ([], {"name": unit}, 6.0, []) for username, unit in FILES}
    assert await AccountabilityRecord.all().count() == len(FILES)
    async with running_app() as client:
        next_village, codes = await file_over_http(
            client, "grid_leader", tracked_patrol(tree, "grid_a", segment, len(FILES))
        )
    assert (next_village, codes) == (
        {"record": None, "errors": [{"field": "waterBodyId", "code": "NOT_FOUND"}]},
        [],
    )
    assert await AccountabilityRecord.all().count() == len(FILES)


@pytest.mark.parametrize(("username", "unit", "code"), REFUSED)
async def test_a_patrol_where_the_role_may_not_file_is_refused_and_writes_nothing(
    tree: Tree, username: str, unit: str, code: str
) -> None:
    segment = await paired_river(tree)
    events = await AuditEvent.all().count()
    async with running_app() as client:
        result, codes = await file_over_http(
            client, username, tracked_patrol(tree, unit, segment, 0)
        )

    if code == "FORBIDDEN":
        assert (result, codes) == (None, ["FORBIDDEN"])
    else:
        assert (result, codes) == (
            {"record": None, "errors": [{"field": "orgUnitId", "code": code}]},
            [],
        )
    assert await AccountabilityRecord.all().count() == 0
    assert await AuditEvent.all().count() == events


# -- geometry is read where its object is ----------------------------------------------------

# Its subtree's holders, and (org read reaches a unit's ancestors) its grid's and its
# enterprise's; not the water bureau, which neither co-builds with shilong nor is paired with
# a river through it.
SEES_SHILONG = {
    "county_admin",
    "zhaxi_head",
    "village_sec",
    "inspector",
    "grid_leader",
    "enterprise_chief",
}
# The segment runs through dahetan and is paired with the water bureau and the enterprise:
# whoever reads one of those reads it.
READS_THE_SEGMENT = {
    "county_admin",
    "inspector",
    "zhaxi_head",
    "village_sec",
    "dept_head",
    "enterprise_chief",
}


async def test_geometry_is_read_exactly_where_its_object_is(tree: Tree) -> None:
    segment = await paired_river(tree)
    shilong = tree.units["shilong"]
    shilong.geometry = SHILONG_OUTLINE
    await shilong.save(update_fields=["geometry"])
    variables = {"unit": tree.unit_gid("shilong"), "code": segment.code}
    seen: dict[str, tuple[bool, bool]] = {}
    async with running_app() as client:
        anonymous = await client.run(GEOMETRY, variables)
        for username in sorted(ACCOUNTS):
            token = await client.login(username)
            with_geometry = (await client.run(GEOMETRY, variables, token))["data"]
            without = (await client.run(VISIBLE, variables, token))["data"]
            unit, water = with_geometry["node"], with_geometry["waterBodyByCode"]
            assert (unit is None) == (without["node"] is None), username
            assert (water is None) == (without["waterBodyByCode"] is None), username
            if unit is not None:
                assert unit == {"name": "shilong", "geometry": SHILONG_OUTLINE}
            if water is not None:
                assert water == {"code": "seg-dahetan", "geometry": RIVER_LINE}
            seen[username] = (unit is not None, water is not None)

    assert anonymous["data"] == {"node": None, "waterBodyByCode": None}
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"] * 2
    assert {u for u, (unit, _) in seen.items() if unit} == SEES_SHILONG
    assert {u for u, (_, water) in seen.items() if water} == READS_THE_SEGMENT


async def test_the_longest_track_fits_the_default_request_body(tree: Tree) -> None:
    """3000 points, as a phone sends them (six decimals), pass the 256 KiB body limit."""
    lon, lat = WEIXIN
    track = [
        {
            "lon": lon,
            "lat": round(lat + i * 1e-5, 6),
            "at": (START + timedelta(seconds=14 * i)).isoformat(),
        }
        for i in range(MAX_TRACK_POINTS)
    ]
    given = {
        "type": "PATROL",
        "orgUnitId": tree.unit_gid("shilong"),
        "occurredAt": START.isoformat(),
        "endedAt": (START + timedelta(hours=12)).isoformat(),
        "patrol": {"track": track},
    }
    async with running_app() as client:
        result, codes = await file_over_http(client, "village_sec", given)

    assert (codes, result["errors"], result["record"]["flags"]) == ([], [], [])
    assert len(result["record"]["details"]["track"]) == MAX_TRACK_POINTS


async def test_geometry_under_a_compiled_root_is_answered_in_full(tree: Tree) -> None:
    """``tasks`` is a compiled root; a selection that reaches ``geometry`` is answered all the
    same, for exactly the units the viewer reads."""
    shilong = tree.units["shilong"]
    shilong.geometry = SHILONG_OUTLINE
    await shilong.save(update_fields=["geometry"])
    query = "{ tasks(first: 50) { edges { node { orgUnit { name geometry } } } } }"
    async with running_app() as client:
        body = await client.run(query, None, await client.login("zhaxi_head"))

    units = {
        e["node"]["orgUnit"]["name"]: e["node"]["orgUnit"]["geometry"]
        for e in body["data"]["tasks"]["edges"]
    }
    assert units["shilong"] == SHILONG_OUTLINE
    assert {name for name, geometry in units.items() if geometry is not None} == {"shilong"}

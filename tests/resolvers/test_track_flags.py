"""A patrol's track: its distance and duration measured on the ellipsoid, its flags
(``TOO_FAST`` from the track's own speed, ``OFF_WATER``, ``TRACK_GAP``, ``NO_TRACK``), and
the tracks refused as typed ``VALIDATION`` errors that write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyproj import Geod

from models.enums import WaterKind
from models.org import OrgUnit, WaterBody
from models.record import AccountabilityRecord
from resolvers.tracks import MAX_TRACK_POINTS, TrackPoint, measure
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.graph import actions_since, error_codes, last_seq, payload
from tests.tracks import WEIXIN, track_along

CREATE_RECORD = """
mutation Record($input: CreateRecordInput!) {
  createRecord(input: $input) {
    record { id details flagged flagReason flags { code message } }
    errors { field code message }
  }
}
"""
START = datetime(2025, 4, 5, 8, tzinfo=UTC)
WGS84 = Geod(ellps="WGS84")

NO_TRACK = {"code": "NO_TRACK", "message": "filed without a track"}
OFF_WATER = {"code": "OFF_WATER", "message": "track strays from the water patrolled"}
TRACK_GAP = {"code": "TRACK_GAP", "message": "track has a gap in time"}
TOO_FAST = {"code": "TOO_FAST", "message": "distance impossible in the time given"}

# The water patrolled: a line due north from the tracks' origin, 20 km long.
RIVER_LINE = {
    "type": "LineString",
    "coordinates": [list(WEIXIN), list(WGS84.fwd(*WEIXIN, 0, 20_000)[:2])],
}


def patrol(
    track: list[dict[str, Any]] | None,
    *,
    hours: float = 2,
    start: datetime = START,
    water: WaterBody | None = None,
    **facts: Any,
) -> dict[str, Any]:
    given: dict[str, Any] = {
        "type": "PATROL",
        "occurredAt": start.isoformat(),
        "endedAt": (start + timedelta(hours=hours)).isoformat(),
        "patrol": {**({"track": track} if track is not None else {}), **facts},
    }
    if water is not None:
        given["waterBodyId"] = to_global_id("WaterBody", water.id)
    return given


async def file(tree: Tree, given: dict[str, Any], username: str = "village_sec") -> Any:
    return await payload(
        tree, username, CREATE_RECORD, **{"orgUnitId": tree.unit_gid("shilong"), **given}
    )


async def flags_of(tree: Tree, given: dict[str, Any]) -> list[dict[str, str]]:
    result = await file(tree, given)
    assert result["errors"] == [], result
    record = result["record"]
    assert record["flagged"] == bool(record["flags"])
    flags: list[dict[str, str]] = record["flags"]
    return flags


def beside(metres: float) -> tuple[float, float]:
    """The point ``metres`` due east of the tracks' origin."""
    lon, lat, _ = WGS84.fwd(*WEIXIN, 90, metres)
    return lon, lat


async def water(geometry: dict[str, Any] | None, parent: WaterBody | None = None) -> WaterBody:
    """A reach through shilong, where the patrols are filed (a patrol names only a water body
    its filer reads)."""
    body = await WaterBody.create(
        code=f"w{await WaterBody.all().count()}",
        name="reach",
        kind=WaterKind.SEGMENT if parent else WaterKind.RIVER,
        parent=parent,
        geometry=geometry,
    )
    shilong = await OrgUnit.get(name="shilong")
    await body.units.add(shilong)
    return body


# -- measured ----------------------------------------------------------------------------------


def test_a_degree_of_latitude_at_the_equator_is_the_ellipsoids() -> None:
    """WGS 84: 110 574.389 m from 0° to 1° N along a meridian (a sphere would say 111 195)."""
    track = (
        TrackPoint(0, 0, START),
        TrackPoint(0, 1, START + timedelta(hours=1, minutes=30)),
    )

    measured = measure(track)

    assert (measured.distance_km, measured.duration_min) == (110.574, 90)


async def test_a_track_s_distance_and_duration_are_measured_and_stored(tree: Tree) -> None:
    track = track_along(START + timedelta(minutes=10), 1.5, 5.25)

    result = await file(tree, patrol(track, findings=["bank clear"]))

    assert result["errors"] == []
    details = result["record"]["details"]
    assert (details["distanceKm"], details["durationMin"]) == (5.25, 90)
    assert details["track"] == track
    assert details["findings"] == ["bank clear"]
    assert result["record"]["flags"] == []
    stored = await AccountabilityRecord.get()
    assert (stored.details["distance_km"], stored.details["duration_min"]) == (5.25, 90)


# -- flags -------------------------------------------------------------------------------------


async def test_a_patrol_without_a_track_is_flagged_no_track(tree: Tree) -> None:
    result = await file(tree, patrol(None, distanceKm=6))

    assert result["errors"] == []
    assert result["record"]["details"]["distanceKm"] == 6
    assert (result["record"]["flagged"], result["record"]["flags"]) == (True, [NO_TRACK])
    assert result["record"]["flagReason"] == "filed without a track"


async def test_too_fast_is_the_track_s_own_speed(tree: Tree) -> None:
    """Declared over four hours, the track covers 20 km in its first hour: 20 km/h."""
    sprint = patrol(track_along(START, 1, 20), hours=4)
    day_after = START + timedelta(days=1)
    stroll = patrol(track_along(day_after, 4, 20), hours=4, start=day_after)

    assert await flags_of(tree, sprint) == [TOO_FAST]
    assert await flags_of(tree, stroll) == []


async def test_a_gap_of_more_than_ten_minutes_is_flagged(tree: Tree) -> None:
    def track(gap_minutes: float, day: int) -> list[dict[str, Any]]:
        start = START + timedelta(days=day)
        before = track_along(start, 0.5, 2)
        after = track_along(start + timedelta(minutes=30 + gap_minutes), 0.5, 2, azimuth=180)
        return before + after[1:] if gap_minutes == 0 else before + after

    ten = patrol(track(10, 0), start=START)
    eleven = patrol(track(11, 1), start=START + timedelta(days=1))

    assert await flags_of(tree, ten) == []
    assert await flags_of(tree, eleven) == [TRACK_GAP]


async def test_a_track_farther_than_500_m_from_the_water_is_off_water(tree: Tree) -> None:
    river = await water(RIVER_LINE)
    days = iter(range(100))

    async def along(metres_east: float, body: WaterBody | None) -> list[dict[str, str]]:
        start = START + timedelta(days=next(days))
        track = track_along(start, 2, 6, origin=beside(metres_east))
        return await flags_of(tree, patrol(track, start=start, water=body))

    assert await along(0, river) == []
    assert await along(300, river) == []  # a bank path
    assert await along(800, river) == [OFF_WATER]
    assert await along(800, None) == []  # no water named: nothing to measure against
    assert await along(800, await water(None)) == []  # a water drawn on no map


async def test_a_segment_without_geometry_is_measured_along_its_river(tree: Tree) -> None:
    segment = await water(None, parent=await water(RIVER_LINE))
    far = track_along(START, 2, 6, origin=beside(2000))

    assert await flags_of(tree, patrol(far, water=segment)) == [OFF_WATER]


async def test_a_track_inside_a_lake_s_outline_is_on_the_water(tree: Tree) -> None:
    lon, lat = WEIXIN
    lake = await water(
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [lon - 0.05, lat - 0.05],
                    [lon + 0.05, lat - 0.05],
                    [lon + 0.05, lat + 0.1],
                    [lon - 0.05, lat + 0.1],
                    [lon - 0.05, lat - 0.05],
                ],
            ],
        }
    )
    boat = track_along(START, 2, 6)
    road = track_along(START + timedelta(days=1), 2, 6, origin=(lon + 0.07, lat))

    assert await flags_of(tree, patrol(boat, water=lake)) == []
    assert await flags_of(tree, patrol(road, water=lake, start=START + timedelta(days=1))) == [
        OFF_WATER
    ]


async def test_every_flag_a_track_raises_at_once(tree: Tree) -> None:
    river = await water(RIVER_LINE)
    far_and_fast = track_along(START, 1, 30, origin=beside(5000), every=timedelta(minutes=15))

    assert await flags_of(tree, patrol(far_and_fast, water=river)) == [
        TOO_FAST,
        OFF_WATER,
        TRACK_GAP,
    ]


# -- refused -----------------------------------------------------------------------------------


def point(lon: float, lat: float, minutes: float) -> dict[str, Any]:
    return {"lon": lon, "lat": lat, "at": (START + timedelta(minutes=minutes)).isoformat()}


LON, LAT = WEIXIN
REFUSED: dict[str, dict[str, Any]] = {
    "one point": patrol([point(LON, LAT, 0)]),
    "no points": patrol([]),
    "too many points": patrol(
        [point(LON, LAT + i * 1e-5, i * 0.01) for i in range(MAX_TRACK_POINTS + 1)]
    ),
    "back in time": patrol([point(LON, LAT, 10), point(LON, LAT + 0.01, 5)]),
    "the same instant": patrol([point(LON, LAT, 10), point(LON, LAT + 0.01, 10)]),
    "latitude beyond 90": patrol([point(LON, LAT, 0), point(LON, 90.5, 10)]),
    "longitude beyond 180": patrol([point(LON, LAT, 0), point(180.5, LAT, 10)]),
    "before the patrol": patrol([point(LON, LAT, -60), point(LON, LAT + 0.01, 10)]),
    "after the patrol": patrol([point(LON, LAT, 0), point(LON, LAT + 0.01, 180)]),
    "a track and a typed distance": patrol(track_along(START, 2, 6), distanceKm=6),
    "neither track nor distance": patrol(None),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_a_bad_track_is_refused_and_nothing_is_written(tree: Tree, case: str) -> None:
    before = await last_seq()

    result = await file(tree, REFUSED[case])

    assert result["record"] is None
    assert error_codes(result) == [("patrol", "VALIDATION")]
    assert await AccountabilityRecord.all().count() == 0
    assert await actions_since(before) == []


async def test_only_a_patrol_has_a_track(tree: Tree) -> None:
    cleanup = {
        "type": "CLEANUP",
        "occurredAt": START.isoformat(),
        "cleanup": {"participants": 3, "garbageKg": 10},
        "patrol": {"track": track_along(START, 1, 2)},
    }

    result = await file(tree, cleanup, "zhaxi_head")

    assert error_codes(result) == [("patrol", "VALIDATION")]
    assert await AccountabilityRecord.all().count() == 0

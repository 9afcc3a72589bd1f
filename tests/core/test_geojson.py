"""``core.geojson``: RFC 7946 geometry objects are kept as they are; anything else is refused
with a sentence that says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import shape

from core.geojson import MAX_POSITIONS, GeometryError, validate_geometry

RING = [[102.9, 24.85], [103.0, 24.85], [103.0, 24.95], [102.9, 24.95], [102.9, 24.85]]
VALID: dict[str, dict[str, Any]] = {
    "Point": {"type": "Point", "coordinates": [105.0, 27.8]},
    "Point with altitude": {"type": "Point", "coordinates": [105.0, 27.8, 640]},
    "MultiPoint": {"type": "MultiPoint", "coordinates": [[105.0, 27.8], [105.1, 27.9]]},
    "LineString": {"type": "LineString", "coordinates": [[105.0, 27.8], [105.1, 27.9]]},
    "MultiLineString": {
        "type": "MultiLineString",
        "coordinates": [[[105.0, 27.8], [105.1, 27.9]], [[105.2, 27.8], [105.3, 27.9]]],
    },
    "Polygon": {"type": "Polygon", "coordinates": [RING]},
    "MultiPolygon": {"type": "MultiPolygon", "coordinates": [[RING]]},
    "GeometryCollection": {
        "type": "GeometryCollection",
        "geometries": [
            {"type": "Point", "coordinates": [105.0, 27.8]},
            {"type": "Polygon", "coordinates": [RING]},
        ],
    },
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_geometry_type_is_kept_and_reads_as_a_shape(name: str) -> None:
    geometry = VALID[name]

    assert validate_geometry(geometry) is geometry
    assert shape(geometry).geom_type == geometry["type"]


INVALID: dict[str, tuple[object, str]] = {
    "not an object": ([105.0, 27.8], "A geometry is a JSON object."),
    "a Feature": (
        {"type": "Feature", "geometry": VALID["Point"], "properties": {}},
        "A geometry's type is one of",
    ),
    "no coordinates": ({"type": "Point"}, "A Point has coordinates."),
    "latitude beyond 90": (
        {"type": "Point", "coordinates": [105.0, 91]},
        "latitude within ±90",
    ),
    "latitude first": (
        {"type": "Point", "coordinates": [27.8, 185.0]},
        "longitude within ±180",
    ),
    "a string coordinate": (
        {"type": "Point", "coordinates": ["105.0", 27.8]},
        "finite numbers",
    ),
    "a boolean coordinate": ({"type": "Point", "coordinates": [True, 27.8]}, "finite numbers"),
    "a one-number position": ({"type": "Point", "coordinates": [105.0]}, "A position is"),
    "a line of one position": (
        {"type": "LineString", "coordinates": [[105.0, 27.8]]},
        "A LineString has at least 2 positions.",
    ),
    "an open ring": (
        {"type": "Polygon", "coordinates": [[*RING[:-1], [102.95, 24.85]]]},
        "ends where it starts",
    ),
    "a ring of three": (
        {"type": "Polygon", "coordinates": [[RING[0], RING[1], RING[0]]]},
        "at least 4 positions",
    ),
    "a polygon without rings": ({"type": "Polygon", "coordinates": []}, "an exterior ring"),
    "flat coordinates for a line": (
        {"type": "LineString", "coordinates": [105.0, 27.8]},
        "A position is",
    ),
    "a nested collection": (
        {"type": "GeometryCollection", "geometries": [VALID["GeometryCollection"]]},
        "does not nest another",
    ),
    "too many positions": (
        {"type": "MultiPoint", "coordinates": [[105.0, 27.8]] * (MAX_POSITIONS + 1)},
        f"at most {MAX_POSITIONS} positions",
    ),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_anything_else_is_refused_with_what_is_wrong(name: str) -> None:
    value, says = INVALID[name]

    with pytest.raises(GeometryError) as refused:
        validate_geometry(value)

    assert says in str(refused.value)

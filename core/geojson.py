"""GeoJSON geometry objects (RFC 7946, section 3.1): checked before they are stored.

A unit's or a water body's ``geometry`` is a geometry object in WGS 84 longitude and
latitude. What is stored must be read back by any GeoJSON client and by ``shapely.shape``
(``resolvers.tracks``), so the shapes are checked here: the type, the nesting of its
positions, each position's range, a line's two positions, a ring's closure. Features and
feature collections are not geometries and are refused.
"""

from __future__ import annotations

import math
from typing import Any

# A geometry large enough for a county's outline at survey precision; larger ones would make
# every read of the unit heavy.
MAX_POSITIONS = 20_000
MAX_COLLECTION = 100

# How deep each type nests its positions: a Point is one position, a Polygon a list of
# rings, each a list of positions.
DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


class GeometryError(ValueError):
    """The value is not an RFC 7946 geometry object this service stores."""


def validate_geometry(value: object) -> dict[str, Any]:
    """``value`` itself if it is a geometry object; otherwise a ``GeometryError`` that says
    what is wrong."""
    counted = [0]
    _geometry(value, counted, nested=False)
    return value  # type: ignore[return-value]  # _geometry proved it a dict


def _geometry(value: object, counted: list[int], *, nested: bool) -> None:
    if not isinstance(value, dict):
        raise GeometryError("A geometry is a JSON object.")
    kind = value.get("type")
    if kind == "GeometryCollection":
        if nested:
            raise GeometryError("A GeometryCollection does not nest another (RFC 7946, 3.1.8).")
        members = value.get("geometries")
        if not isinstance(members, list) or len(members) > MAX_COLLECTION:
            raise GeometryError(f"A GeometryCollection lists at most {MAX_COLLECTION} geometries.")
        for member in members:
            _geometry(member, counted, nested=True)
        return
    if kind not in DEPTH:
        raise GeometryError(
            f"A geometry's type is one of {', '.join([*DEPTH, 'GeometryCollection'])}."
        )
    if "coordinates" not in value:
        raise GeometryError(f"A {kind} has coordinates.")
    _shape(str(kind), value["coordinates"], counted)


def _shape(kind: str, coordinates: object, counted: list[int]) -> None:
    if kind == "Point":
        _position(coordinates, counted)
    elif kind in ("MultiPoint", "LineString"):
        _positions(coordinates, counted, least=2 if kind == "LineString" else 0, kind=kind)
    elif kind == "MultiLineString":
        for line in _list(coordinates, kind):
            _positions(line, counted, least=2, kind="LineString")
    elif kind == "Polygon":
        _rings(coordinates, counted)
    else:
        for polygon in _list(coordinates, kind):
            _rings(polygon, counted)


def _list(value: object, kind: str) -> list[object]:
    if not isinstance(value, list):
        raise GeometryError(f"A {kind}'s coordinates are nested arrays of positions.")
    return value


def _rings(value: object, counted: list[int]) -> None:
    rings = _list(value, "Polygon")
    if not rings:
        raise GeometryError("A Polygon has an exterior ring.")
    for ring in rings:
        positions = _positions(ring, counted, least=4, kind="Polygon ring")
        if positions[0] != positions[-1]:
            raise GeometryError("A Polygon's ring ends where it starts (RFC 7946, 3.1.6).")


def _positions(value: object, counted: list[int], *, least: int, kind: str) -> list[object]:
    positions = _list(value, kind)
    if len(positions) < least:
        raise GeometryError(f"A {kind} has at least {least} positions.")
    for position in positions:
        _position(position, counted)
    return positions


def _position(value: object, counted: list[int]) -> None:
    counted[0] += 1
    if counted[0] > MAX_POSITIONS:
        raise GeometryError(f"A geometry has at most {MAX_POSITIONS} positions.")
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise GeometryError("A position is [longitude, latitude] or with an altitude.")
    if not all(_number(n) for n in value):
        raise GeometryError("A position's coordinates are finite numbers.")
    lon, lat = value[0], value[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeometryError(
            "A position is [longitude, latitude] in degrees: longitude within ±180, "
            "latitude within ±90."
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

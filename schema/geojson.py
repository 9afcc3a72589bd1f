"""``GeoJSON``: an RFC 7946 geometry object, read and (where an input takes one) checked by
``core.geojson``."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from core.geojson import GeometryError, validate_geometry


def parse_geometry(value: object) -> dict[str, Any]:
    try:
        return validate_geometry(value)
    except GeometryError as error:
        raise StrawberryInputCoercionError(f"Value cannot represent GeoJSON: {error}") from None


# The Python type of a ``GeoJSON`` field; ``schema.scalars`` maps it to ``GEOJSON``.
GeoJSON = NewType("GeoJSON", dict[str, Any])

GEOJSON: ScalarDefinition = strawberry.scalar(
    name="GeoJSON",
    description="An RFC 7946 geometry object (Point, LineString, Polygon, their Multi forms "
    "or a GeometryCollection) in WGS 84 longitude and latitude, as a JSON object.",
    specified_by_url="https://www.rfc-editor.org/rfc/rfc7946#section-3.1",
    serialize=lambda value: value,
    parse_value=parse_geometry,
)

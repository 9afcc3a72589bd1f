"""The ``GeoJSON`` scalar: written out as the stored object, read in only as a geometry."""

from __future__ import annotations

import pytest
from strawberry.exceptions import StrawberryInputCoercionError

from schema.build import schema
from schema.geojson import GEOJSON, parse_geometry

POINT = {"type": "Point", "coordinates": [102.98, 24.9]}


def test_a_geometry_is_read_in_as_it_is() -> None:
    assert parse_geometry(POINT) is POINT


def test_anything_else_is_an_input_coercion_error_that_says_why() -> None:
    with pytest.raises(StrawberryInputCoercionError, match="GeoJSON: A Point has coordinates"):
        parse_geometry({"type": "Point"})


def test_the_schema_names_the_scalar_and_its_specification() -> None:
    sdl = schema.as_str()

    assert 'scalar GeoJSON @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc7946' in sdl
    assert "  geometry: GeoJSON\n" in sdl
    assert GEOJSON.serialize is not None and GEOJSON.serialize(POINT) == POINT

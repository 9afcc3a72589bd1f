"""``DateTime`` as an instant: it states its UTC offset and exists in UTC.

Strawberry's own scalar takes naive times (whose meaning depends on the server's clock) and
times whose offset moves them before year 1 or past year 9999 in UTC; both then failed deep
in the ORM or the database driver, as internal errors. Here they are refused where the value
is read, as the invalid input they are.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from schema.geojson import GEOJSON, GeoJSON


def parse_instant(value: object) -> datetime:
    assert DateTimeDefinition.parse_value is not None
    parsed = DateTimeDefinition.parse_value(value)  # Strawberry's parsing and messages
    assert isinstance(parsed, datetime)
    if parsed.utcoffset() is None:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". Give a UTC offset, e.g. Z or +08:00.'
        )
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise StrawberryInputCoercionError(
            f'Value cannot represent a DateTime: "{value}". It is out of range.'
        ) from None
    return parsed


AWARE_DATETIME: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    description="Date with time (isoformat), with a UTC offset",
    parse_value=parse_instant,
)
SCALARS: dict[object, ScalarDefinition] = {datetime: AWARE_DATETIME, GeoJSON: GEOJSON}

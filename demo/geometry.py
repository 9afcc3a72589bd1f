"""The demo's geometry file: illustrative lines and outlines for its water bodies and units,
checked as the API checks geometry (``core.geojson``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from core.geojson import GeometryError, validate_geometry

GEOMETRY_FILE: Final = "geometry.yaml"


@dataclass(frozen=True)
class Geometries:
    """Geometry by water body key and by unit key."""

    water: dict[str, dict[str, Any]] = field(default_factory=dict)
    units: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_geometries(
    content: dict[str, Any], water_keys: set[str], unit_keys: set[str]
) -> tuple[Geometries | None, str | None]:
    """The file's geometries, or the first problem found in it (``where: what``)."""
    unknown = set(content) - {"water_bodies", "units"}
    if unknown:
        return None, f"unknown sections {sorted(unknown)}"
    read: dict[str, dict[str, dict[str, Any]]] = {}
    for section, keys in (("water_bodies", water_keys), ("units", unit_keys)):
        entries = content.get(section) or {}
        if not isinstance(entries, dict):
            return None, f"{section} maps keys to geometries"
        read[section] = {}
        for key, geometry in entries.items():
            where = f"{section} {key!r}"
            if key not in keys:
                return None, f"{where}: no such key"
            try:
                read[section][key] = validate_geometry(geometry)
            except GeometryError as error:
                return None, f"{where}: {error}"
    return Geometries(water=read["water_bodies"], units=read["units"]), None

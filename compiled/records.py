"""Accountability records and water bodies: their types and ``Query.records``, read as
``resolvers.records`` reads them.

A record's ``details`` is sent as it was shown when the record was written
(``models.record_shown``; records are never edited). A record's water body is read with the
record, whatever the units it runs through (``docs/permissions.md``); reached from another
water body (``parent``) or listed, it is read where the river runs (``resolvers.water``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compiled.arguments import page_arguments, read_filter
from compiled.nested import ListField
from compiled.objects import (
    UNITS,
    Link,
    ObjectType,
    Render,
    Row,
    column,
    flag,
    global_id,
    instant,
)
from compiled.pages import PageSpec
from models.org import OrgLink
from policies.rights import ORG_READ, RECORD_READ
from resolvers.org import PATH_ORDER
from resolvers.pagination import OrderKey
from resolvers.records import RecordQuery
from schema.record import RecordFilter, record_query

NODE = frozenset({"Node"})
NEWEST = OrderKey(descending=True)  # ``list_records``' order
LINKS = OrgLink._meta.db_table
RUNS_THROUGH = "water_body_unit"  # ``WaterBody.units``' table: water_body_id, orgunit_id


def geometry_of(name: str) -> Callable[[Render, Row], str]:
    """A stored GeoJSON geometry object (the column ``name``), as JSON; null where none."""
    return lambda r, row: r.dialect.json_column(f"{row.alias}.{name}")


geometry = geometry_of("geometry")


def water_readable(row: Row, r: Render) -> str:
    """``resolvers.water.readable_water_bodies`` on the water body in ``row``: it runs through
    a unit the viewer reads, or a unit the viewer reads is paired with it."""
    through, link, unit = r.alias("wu"), r.alias("wl"), r.alias("wo")
    return (
        f"(EXISTS (SELECT 1 FROM {RUNS_THROUGH} {through} JOIN {UNITS} {unit}"
        f" ON {unit}.id = {through}.orgunit_id WHERE {through}.water_body_id = {row.alias}.id"
        f" AND {r.scope(ORG_READ, unit)})"
        f" OR EXISTS (SELECT 1 FROM {LINKS} {link} JOIN {UNITS} {unit}"
        f" ON {unit}.id = {link}.unit_id WHERE {link}.water_body_id = {row.alias}.id"
        f" AND {r.scope(ORG_READ, unit)}))"
    )


def units_run_through(owner: Row, values: dict[str, Any], r: Render) -> PageSpec:
    """``resolvers.water.units_of_water_body``: the units the water body runs through that
    the viewer reads, in path order."""

    def where(row: Row, r: Render) -> list[str]:
        through = r.alias("wu")
        return [
            r.scope(ORG_READ, row.unit),
            f"EXISTS (SELECT 1 FROM {RUNS_THROUGH} {through} WHERE {through}.orgunit_id ="
            f" {row.alias}.id AND {through}.water_body_id = {owner.alias}.id)",
        ]

    return PageSpec("OrgUnit", where, PATH_ORDER, page_arguments(values, PATH_ORDER))


RECORD = ObjectType(
    "Record",
    NODE,
    {
        "id": global_id("Record"),
        "type": column("type"),
        "occurredAt": instant("occurred_at"),
        "endedAt": instant("ended_at"),
        "summary": column("summary"),
        "flagged": flag("flagged"),
        "flagReason": column("flag_reason"),
        "createdAt": instant("created_at"),
        "details": lambda r, row: r.dialect.json_column(f"{row.alias}.details_shown"),
    },
    {
        "orgUnit": Link("OrgUnit", "org_unit_id"),
        "author": Link("User", "author_id"),
        "authority": Link("OrgUnit", "authority_unit_id"),
        "task": Link("Task", "task_id"),
        "waterBody": Link("WaterBody", "water_body_id"),
        "corrects": Link("Record", "corrects_id"),
    },
)

WATER_BODY = ObjectType(
    "WaterBody",
    NODE,
    {
        "id": global_id("WaterBody"),
        "code": column("code"),
        "name": column("name"),
        "kind": column("kind"),
        "lengthKm": lambda r, row: f"CAST({row.alias}.length_km AS double precision)",
        "geometry": geometry,
    },
    {"parent": Link("WaterBody", "parent_id", water_readable)},
    {"units": ListField("OrgUnit", frozenset({"first", "after"}), units_run_through)},
)


def all_water_bodies(values: dict[str, Any], r: Render) -> PageSpec:
    """``Query.waterBodies``: ``resolvers.water.list_water_bodies``, oldest first."""
    kind = values.get("kind")
    order = OrderKey()

    def where(row: Row, r: Render) -> list[str]:
        found = [water_readable(row, r)]
        if kind is not None:
            found.append(f"{row.alias}.kind = {r.params(kind.value)}")
        return found

    return PageSpec("WaterBody", where, order, page_arguments(values, order))


def record_conditions(spec: RecordQuery, row: Row, r: Render) -> list[str]:
    """``resolvers.records.list_records``' filter in SQL, on ``row`` (a record and its unit)."""
    p, x = r.params, row.alias
    where = [r.scope(RECORD_READ, row.unit)]
    if spec.org_unit_id is not None:
        named = r.alias("f")
        where.append(
            f"EXISTS (SELECT 1 FROM {UNITS} {named} WHERE {named}.id = {p(spec.org_unit_id)}"
            f" AND {r.scope(ORG_READ, named)} AND {named}.id = {x}.org_unit_id)"
        )
    if spec.type is not None:
        where.append(f"{x}.type = {p(spec.type.value)}")
    if spec.flagged is not None:
        where.append(f"{x}.flagged = {p(spec.flagged)}")
    if spec.task_id is not None:
        where.append(f"{x}.task_id = {p(spec.task_id)}")
    if spec.author_id is not None:
        where.append(f"{x}.author_id = {p(spec.author_id)}")
    if spec.occurred_from is not None:
        where.append(f"{x}.occurred_at >= {p(r.dialect.moment(spec.occurred_from))}")
    if spec.occurred_to is not None:
        where.append(f"{x}.occurred_at < {p(r.dialect.moment(spec.occurred_to))}")
    return where


def all_records(values: dict[str, Any], r: Render) -> PageSpec:
    """``Query.records``."""
    spec = read_filter(values, RecordFilter, record_query)
    return PageSpec(
        "Record",
        lambda row, r: record_conditions(spec, row, r),
        NEWEST,
        page_arguments(values, NEWEST),
    )

"""Accountability records and water bodies: their types and ``Query.records``, read as
``resolvers.records`` reads them.

A record's ``details`` is left to the resolvers (its keys are renamed at every depth and
its ids made global, ``schema.record.shown_details``): an operation that asks for it runs
resolved. A record's water body is read with the record, whatever the units it runs
through (``docs/permissions.md``).
"""

from __future__ import annotations

from typing import Any

from compiled.arguments import page_arguments, read_filter
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
from policies.rights import ORG_READ, RECORD_READ
from resolvers.pagination import OrderKey
from resolvers.records import RecordQuery
from schema.record import RecordFilter, record_query

NODE = frozenset({"Node"})
NEWEST = OrderKey(descending=True)  # ``list_records``' order

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
    },
    # ``parent`` is read where the river runs (``resolvers.water``), ``units`` through the
    # scope: an operation asking for either runs resolved.
    {},
)


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

"""The tables the dataset fills, their columns, and rows buffered until written.

Rows are tuples in column order with Python values (``datetime``, ``date``, ``Decimal``,
JSON already encoded as text); each writer turns them into what its driver stores.
Buffers are drained in ``TABLES`` order, parents first, so foreign keys always point at rows
already written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from resolvers.audit import HASHED_FIELDS

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    as_text: tuple[int, ...] = ()  # datetime, date and decimal columns: text on SQLite
    serial: bool = True  # an ``id`` drawn from a sequence on PostgreSQL


ORG_UNIT: Final = Table(
    "org_unit", ("id", "code", "name", "level", "parent_id", "path", "depth", "created_at"), (7,)
)
WATER_BODY: Final = Table(
    "water_body", ("id", "code", "name", "kind", "parent_id", "length_km"), (5,)
)
WATER_BODY_UNIT: Final = Table("water_body_unit", ("water_body_id", "orgunit_id"), serial=False)
ORG_LINK: Final = Table(
    "org_link", ("id", "unit_id", "partner_id", "water_body_id", "kind", "note")
)
PERSON: Final = Table(
    "person",
    ("id", "name", "org_unit_id", "title", "party_member", "phone", "id_number", "created_at"),
    (7,),
)
USER: Final = Table(
    "user_account",
    (
        "id",
        "username",
        "password_hash",
        "person_id",
        "is_active",
        "token_version",
        "created_at",
        "last_login_at",
    ),
    (6, 7),
)
CASBIN_RULE: Final = Table("casbin_rule", ("id", "ptype", "v0", "v1", "v2", "v3", "v4", "v5"))
INDICATOR: Final = Table(
    "indicator", ("id", "code", "name", "unit", "aggregation", "dimension_name")
)
TASK: Final = Table(
    "task",
    (
        "id",
        "title",
        "description",
        "category",
        "status",
        "org_unit_id",
        "issuer_unit_id",
        "issued_by_id",
        "assignee_id",
        "parent_id",
        "due_at",
        "quota_target",
        "quota_record_type",
        "submitted_by_id",
        "version",
        "created_at",
        "updated_at",
        "closed_at",
        "origin",
    ),
    (10, 15, 16, 17),
)
RECORD: Final = Table(
    "accountability_record",
    (
        "id",
        "type",
        "org_unit_id",
        "author_id",
        "authority_unit_id",
        "person_id",
        "task_id",
        "water_body_id",
        "corrects_id",
        "occurred_at",
        "ended_at",
        "summary",
        "details",
        "details_shown",
        "flagged",
        "flag_reason",
        "created_at",
    ),
    (9, 10, 16),
)
OBSERVATION: Final = Table(
    "observation", ("id", "indicator_id", "org_unit_id", "period", "dimension", "value"), (3, 5)
)
AUDIT_EVENT: Final = Table(
    "audit_event", (*HASHED_FIELDS, "prev_hash", "hash"), (HASHED_FIELDS.index("at"),), serial=False
)
AUDIT_NODE: Final = Table("audit_node", ("jurisdiction", "level", "position", "hash"))

TABLES: Final = (
    ORG_UNIT,
    WATER_BODY,
    WATER_BODY_UNIT,
    ORG_LINK,
    PERSON,
    USER,
    CASBIN_RULE,
    INDICATOR,
    TASK,
    RECORD,
    OBSERVATION,
    AUDIT_EVENT,
    AUDIT_NODE,
)

Batch = list[tuple[Table, list[Row]]]


class Rows:
    """Rows waiting to be written; ``drain`` hands them over, parents first."""

    def __init__(self, batch_rows: int = 50_000) -> None:
        self.batch_rows = batch_rows
        self._buffers: dict[str, list[Row]] = {table.name: [] for table in TABLES}
        self._pending = 0

    def add(self, table: Table, row: Row) -> None:
        self._buffers[table.name].append(row)
        self._pending += 1

    @property
    def full(self) -> bool:
        return self._pending >= self.batch_rows

    def drain(self) -> Batch:
        batch = [
            (table, self._buffers[table.name]) for table in TABLES if self._buffers[table.name]
        ]
        for table, _ in batch:
            self._buffers[table.name] = []
        self._pending = 0
        return batch

    def drain_if_full(self) -> Iterator[Batch]:
        if self.full:
            yield self.drain()

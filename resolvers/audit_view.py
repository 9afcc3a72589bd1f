"""An audit event as one viewer sees it: what they may not read is not named.

An event's ``before`` and ``after`` name other objects — the units a task moved between, its
assignee, its parent and subtasks, records. A viewer who reads the event (through a task's
history or the audit trail) does not necessarily read those: a task moved into their unit
came from one outside it. So every reference is checked with the one scope filter (the read
right of what it names, at that object's unit), and one the viewer may not read is shown as
``OUTSIDE_SCOPE``; a list of ids keeps only the readable ones (it neither names nor counts
the others). The event's ``org_path`` is checked the same way.

Only what is returned changes: the stored event, its hash and the chain stay as written.
Where the referenced objects sit is looked up in one statement per batch of events.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tortoise import connections

from core.context import RequestContext
from models.audit import AuditEvent
from models.org import OrgUnit
from models.people import Person
from models.record import AccountabilityRecord
from models.task import Task
from policies.rights import ORG_READ, PERSON_READ, RECORD_READ, TASK_READ, Right
from policies.scope import Params, scope_for
from resolvers.dataloader import DataLoader

OUTSIDE_SCOPE = "(outside your scope)"
MAX_ID = 2**31  # ids are 32-bit: anything else names nothing
MAX_LOOKUP = 10_000  # references per statement, well inside both databases' parameter limits


class Kind(StrEnum):
    """What a value in ``before``/``after`` names."""

    UNIT = "unit"  # an org unit's id
    PATH = "path"  # an org unit's path
    TASK = "task"
    PERSON = "person"
    RECORD = "record"


# The right a viewer needs to see each kind of reference named.
SIGHT: dict[Kind, Right] = {
    Kind.UNIT: ORG_READ,
    Kind.PATH: ORG_READ,
    Kind.TASK: TASK_READ,
    Kind.PERSON: PERSON_READ,
    Kind.RECORD: RECORD_READ,
}

# The keys of ``before``/``after`` that name another object (as the commands write them).
REFERENCES: dict[str, Kind] = {
    "org_unit_id": Kind.UNIT,
    "issuer_unit_id": Kind.UNIT,
    "unit": Kind.PATH,
    "path": Kind.PATH,
    "assignee_id": Kind.PERSON,
    "parent_id": Kind.TASK,
    "task_id": Kind.TASK,
    "subtask_ids": Kind.TASK,
    "record_id": Kind.RECORD,
    "corrects": Kind.RECORD,
    "authority": Kind.PATH,
    # The upward loop (resolvers.reporting, resolvers.handover).
    "reporter_id": Kind.PERSON,
    "reported_from_unit_id": Kind.UNIT,
    "source_record_id": Kind.RECORD,
    "hand_over_of": Kind.TASK,
    "hand_over_task_id": Kind.TASK,
}


@dataclass(frozen=True)
class Ref:
    kind: Kind
    key: int | str  # an id, or a path for ``Kind.PATH``


@dataclass(frozen=True)
class Place:
    """The unit a referenced object belongs to."""

    path: str
    level: str
    unit_id: int


@dataclass(frozen=True)
class Shown:
    """The parts of an event that may name what the viewer cannot read, as they may see them."""

    org_path: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    # The unit each path shown in ``before``/``after`` names (only the paths left readable),
    # so a rendering can name that unit by its id.
    units: dict[str, int] = field(default_factory=dict)


def _ref(kind: Kind, value: Any) -> Ref | None:
    """The reference ``value`` makes, or None if it names nothing that could be looked up."""
    if kind is Kind.PATH:
        return Ref(kind, value) if isinstance(value, str) and value else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_ID:
        return Ref(kind, value)
    return None


def references(event: AuditEvent) -> set[Ref]:
    found: set[Ref] = set()
    if event.org_path:
        found.add(Ref(Kind.PATH, event.org_path))
    for values in (event.before, event.after):
        for key, value in (values or {}).items():
            kind = REFERENCES.get(key)
            if kind is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                ref = _ref(kind, item)
                if ref is not None:
                    found.add(ref)
    return found


# kind: (the rows, joined to their unit ``u``; the referenced object's id; the key column)
_UNIT = OrgUnit._meta.db_table
_SOURCES: dict[Kind, tuple[str, str, str]] = {
    Kind.UNIT: (f"{_UNIT} u", "u.id", "u.id"),
    Kind.PATH: (f"{_UNIT} u", "u.id", "u.path"),
    **{
        kind: (f"{model._meta.db_table} x JOIN {_UNIT} u ON u.id = x.org_unit_id", "x.id", "x.id")
        for kind, model in (
            (Kind.TASK, Task),
            (Kind.PERSON, Person),
            (Kind.RECORD, AccountabilityRecord),
        )
    },
}


async def _locate(refs: Sequence[Ref]) -> list[Place | None]:
    """Where each referenced object sits, for every kind at once, in one statement."""
    conn = connections.get("default")
    params = Params(conn.capabilities.dialect == "postgres")
    branches = []
    for kind, (source, id_column, key_column) in _SOURCES.items():
        keys = sorted({r.key for r in refs if r.kind is kind}, key=str)
        if keys:
            listed = ", ".join(params(key) for key in keys)
            branches.append(
                f"SELECT '{kind.value}' AS kind, {id_column} AS id, u.path AS path,"  # noqa: S608
                f" u.level AS level, u.id AS unit_id FROM {source} WHERE {key_column} IN ({listed})"
            )
    found: dict[Ref, Place] = {}
    for row in await conn.execute_query_dict(" UNION ALL ".join(branches), params.values):
        kind, path = Kind(row["kind"]), str(row["path"])
        key = path if kind is Kind.PATH else int(row["id"])
        found[Ref(kind, key)] = Place(path, str(row["level"]), int(row["unit_id"]))
    return [found.get(r) for r in refs]


class Places(DataLoader[Ref, Place | None]):
    """The request's lookups of references, batched across one level of a query (every
    task's ``history`` in a page, say), up to ``MAX_LOOKUP`` references a statement."""

    def __init__(self) -> None:
        super().__init__(load_fn=_locate, max_batch_size=MAX_LOOKUP)


def _paths(values: dict[str, Any] | None) -> set[str]:
    """The unit paths ``values`` names."""
    return {
        value
        for key, value in (values or {}).items()
        if REFERENCES.get(key) is Kind.PATH and isinstance(value, str)
    }


def readable(
    context: RequestContext, located: Iterable[tuple[Ref, Place | None]]
) -> dict[Ref, Place]:
    """The located references the viewer may see named: the object exists, and the viewer
    holds the read right of its kind at its unit."""
    return {
        ref: place
        for ref, place in located
        if place is not None and scope_for(context, SIGHT[ref.kind]).allows(place.path, place.level)
    }


def named(seen: Container[Ref], kind: Kind, value: Any) -> bool:
    """``value`` under a key of ``kind`` is a reference among those ``seen`` (``readable``)."""
    return _ref(kind, value) in seen


def redact(values: dict[str, Any] | None, seen: Container[Ref]) -> dict[str, Any] | None:
    """``before`` or ``after`` as the viewer may see it, given the references ``seen``."""
    if values is None:
        return None
    shown_values: dict[str, Any] = {}
    for key, value in values.items():
        kind = REFERENCES.get(key)
        if kind is None or value is None:
            shown_values[key] = value
        elif isinstance(value, list):
            shown_values[key] = [item for item in value if named(seen, kind, item)]
        else:
            shown_values[key] = value if named(seen, kind, value) else OUTSIDE_SCOPE
    return shown_values


def shown_path(org_path: str, seen: Container[Ref]) -> str:
    """An event's ``org_path`` as the viewer may see it."""
    return org_path if not org_path or named(seen, Kind.PATH, org_path) else OUTSIDE_SCOPE


async def shown(context: RequestContext, events: Sequence[AuditEvent]) -> list[Shown]:
    """``events`` as the viewer may see them: one lookup for all their references, batched
    with the other lookups of the same level of the query."""
    refs = list(set().union(*(references(e) for e in events)))
    located = await context.memo.get(Places, Places).load_many(refs)
    seen = readable(context, zip(refs, located, strict=True))
    units = {str(ref.key): place.unit_id for ref, place in seen.items() if ref.kind is Kind.PATH}

    def shown_event(event: AuditEvent) -> Shown:
        before, after = redact(event.before, seen), redact(event.after, seen)
        named_units = _paths(before) | _paths(after)
        return Shown(
            org_path=shown_path(event.org_path, seen),
            before=before,
            after=after,
            units={path: unit for path, unit in units.items() if path in named_units},
        )

    return [shown_event(e) for e in events]

"""An audit event's changes, field by field, in the graph's own words.

The stored ``before``/``after`` keep the commands' names (``org_unit_id``) and raw ids. Here
each changed field takes the name of the schema field it concerns (``orgUnit``) and each
reference the global ID the graph gives that object, so a reader can pass it to ``node``.

Everything is rendered from the event as the viewer may see it (``resolvers.audit_view``):
what is redacted there stays redacted here, and which fields changed is decided on those
redacted values, so the list says nothing ``before``/``after`` do not.
"""

from __future__ import annotations

import json
from typing import Any

import strawberry

from resolvers.audit_view import OUTSIDE_SCOPE, REFERENCES, Kind, Shown
from schema.naming import camel
from schema.node import NodeType, to_global_id

# A stored key whose schema field has another name than its camelCase spelling.
FIELD_NAMES: dict[str, str] = {
    "org_unit_id": "orgUnit",
    "issuer_unit_id": "issuer",
    "assignee_id": "assignee",
    "parent_id": "parent",
    "subtask_ids": "subtasks",
    "task_id": "task",
    "record_id": "record",
    "user_id": "user",
    "unit": "orgUnit",
    "flagged": "flagReason",  # holds the reason, or null
    "reporter_id": "reporter",
    "source_record_id": "reportedFrom",
    "hand_over_of": "handOverOf",
    "hand_over_task_id": "handOver",
}

# The graph type each kind of id reference names.
GRAPH_TYPES: dict[Kind, NodeType] = {
    Kind.UNIT: "OrgUnit",
    Kind.TASK: "Task",
    Kind.PERSON: "Person",
    Kind.RECORD: "Record",
}

# Accounts are named by the events of grants; they are not redacted (``Shown`` keeps them).
USER_KEYS = frozenset({"user_id"})

# A unit's own path is a value of the unit, not a reference to one.
OWN_PATH = "path"


@strawberry.type(description="One field of an object as a change found and left it.")
class FieldChange:
    field: str = strawberry.field(
        description="The schema's name of the field, e.g. `orgUnit`, `assignee`, `status`."
    )
    before: str | None = strawberry.field(
        description="The value before the change; null if it had none or the field is new. "
        "Objects are global IDs, lists of them JSON arrays of global IDs, enums their names, "
        f"times ISO 8601; an object you may not read is `{OUTSIDE_SCOPE}`."
    )
    after: str | None = strawberry.field(description="The value after the change, alike.")


def field_name(key: str) -> str:
    return FIELD_NAMES.get(key) or camel(key)


def _reference(key: str, value: Any, units: dict[str, int]) -> str:
    if key in USER_KEYS:
        return to_global_id("User", value)
    kind = REFERENCES[key]
    if kind is Kind.PATH:
        return to_global_id("OrgUnit", units[value]) if value in units else OUTSIDE_SCOPE
    return to_global_id(GRAPH_TYPES[kind], value)


def render(key: str, value: Any, units: dict[str, int]) -> str | None:
    """One value of a redacted ``before``/``after`` as a string."""
    if value is None:
        return None
    if value == OUTSIDE_SCOPE:
        return OUTSIDE_SCOPE
    is_reference = (key in REFERENCES and key != OWN_PATH) or (
        key in USER_KEYS and isinstance(value, int) and not isinstance(value, bool)
    )
    if is_reference and isinstance(value, list):
        return json.dumps([_reference(key, item, units) for item in value])
    if is_reference:
        return _reference(key, value, units)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(seen: Shown) -> list[FieldChange]:
    """Every field whose shown value differs between before and after; for a creation
    (no before), every field it set. In the order of the field names (the databases keep a
    JSON object's keys in orders of their own)."""
    before, after = seen.before or {}, seen.after or {}
    keys = list(before) + [key for key in after if key not in before]
    found = [
        FieldChange(
            field=field_name(key),
            before=render(key, before.get(key), seen.units),
            after=render(key, after.get(key), seen.units),
        )
        for key in keys
        if seen.before is None or key not in before or key not in after or before[key] != after[key]
    ]
    return sorted(found, key=lambda change: change.field)

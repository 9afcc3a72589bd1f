"""Global object identification: opaque IDs that say which type an id belongs to."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import strawberry

from core.errors import bad_input
from models.graph_names import global_id

# The types that implement Node, by the name their global IDs carry (a test holds this to the
# schema): a misspelt name where an ID is made or read is a type error, not a silent miss.
NodeType = Literal[
    "AuditEvent",
    "Evidence",
    "Indicator",
    "Notification",
    "OrgUnit",
    "Person",
    "Record",
    "Task",
    "User",
    "WaterBody",
]
# Keys are 32-bit integers, but the audit trail's sequence (64-bit): a larger number is no id
# of ours, and PostgreSQL would refuse to compare it with the column (an internal error).
KEY_LIMIT = 2**31
WIDE_KEYS: dict[str, int] = {"AuditEvent": 2**63}


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")


def to_global_id(type_name: NodeType, pk: int | str) -> strawberry.ID:
    return strawberry.ID(global_id(type_name, pk))


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global ID; a malformed one is a typed ``VALIDATION`` error, never a 500."""
    try:
        raw = base64.urlsafe_b64decode(global_id.encode("ascii") + b"==").decode()
        type_name, _, pk = raw.partition(":")
        value = int(pk)
        if not type_name or value <= 0 or value >= WIDE_KEYS.get(type_name, KEY_LIMIT):
            raise ValueError(raw)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise bad_input(f"{global_id[:80]!r} is not a valid ID.") from exc
    return type_name, value


def pk_of(global_id: str, expected_type: NodeType) -> int | None:
    """The primary key if ``global_id`` names an object of ``expected_type``, else None."""
    type_name, pk = from_global_id(global_id)
    return pk if type_name == expected_type else None


def optional_pk(global_id: str | None, expected_type: NodeType) -> int | None:
    """For optional ID inputs: a missing ID stays None; one of the wrong type becomes an id
    nothing has (-1), so the lookup that follows reports it as not found."""
    if global_id is None:
        return None
    return pk_of(global_id, expected_type) or -1

"""Appending to the hash-chained audit trail, inside the transaction of the change.

``hash = sha256(prev_hash + canonical event)``. The chain head is serialised: on PostgreSQL
by a transaction-scoped advisory lock, on SQLite by its single writer.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from operator import attrgetter
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

from core import clock, telemetry
from core.context import RequestContext
from core.task_events import TaskEvent, announce
from models.audit import AuditEvent

GENESIS_HASH = "0" * 64
CHAIN_LOCK_KEY = 0x72697665  # any constant shared by every process
# The fields of an event that its hash covers (with the previous event's hash), in the
# order an export writes them and the audit table holds them. Defined here only.
HASHED_FIELDS: Final = (
    "seq",
    "at",
    "action",
    "entity_type",
    "entity_id",
    "actor_id",
    "org_path",
    "before",
    "after",
    "request_id",
)
_hashed_values = attrgetter(*HASHED_FIELDS)


def canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_body(event: AuditEvent) -> dict[str, Any]:
    """The fields the hash covers, in a form that survives a round trip through the DB."""
    body = dict(zip(HASHED_FIELDS, _hashed_values(event), strict=True))
    body["at"] = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return body


def link_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """The hash of one link, from its predecessor's hash and the fields ``event_body`` gives
    (also as read back from an export)."""
    return hashlib.sha256((prev_hash + canonical(body)).encode()).hexdigest()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return link_hash(prev_hash, event_body(event))


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else json.loads(canonical(value))


async def append_event(
    conn: BaseDBAsyncClient,
    context: RequestContext | None,
    *,
    action: str,
    entity_type: str,
    entity_id: int | str,
    org_path: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> AuditEvent:
    """Append one event; call inside the transaction (``conn``) that makes the change."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [CHAIN_LOCK_KEY])
    head = await AuditEvent.in_chain().using_db(conn).order_by("-seq").first().values("seq", "hash")
    event = AuditEvent(
        seq=(head["seq"] + 1) if head else 1,
        at=clock.now(),
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        actor_id=actor_id
        if actor_id is not None
        else (context.viewer.id if context and context.viewer else None),
        org_path=org_path,
        before=_jsonable(before),
        after=_jsonable(after),
        request_id=context.request_id if context else "",
        prev_hash=head["hash"] if head else GENESIS_HASH,
    )
    event.hash = chain_hash(event.prev_hash, event)
    await event.save(using_db=conn, force_create=True)
    telemetry.audit_head(event.seq)  # the chain's length; no query needed to know it
    if entity_type == "task":
        await announce(conn, context, TaskEvent(int(entity_id), action, org_path, event.seq))
    return event

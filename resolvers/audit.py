"""Appending to the audit logs, inside the transaction of the change.

Each event goes to its jurisdiction's log (the top-level unit of its ``org_path``; the
installation-wide log for events of no unit) as that log's next leaf: ``leaf_index`` is the
log's size before it, ``hash = sha256(prev_hash + canonical event)`` chains it to the log's
previous event, and the complete subtrees it closes are stored with it (at most log2 n rows,
one on average). A log's head is serialised per jurisdiction — on PostgreSQL by a
transaction-scoped advisory lock keyed by the jurisdiction, on SQLite by its single writer —
so writes in different jurisdictions never wait on each other.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from operator import attrgetter
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from core import clock, telemetry
from core.context import RequestContext
from core.merkle import completed_by, leaf_hash, left_siblings, node_hash
from core.task_events import TaskEvent, announce
from models.audit import INSTALLATION, AuditEvent, AuditNode
from models.enums import AuditAction, AuditEntity
from models.paths import path_ids

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock(LOG_LOCK_CLASS, jurisdiction): one lock per log, shared by every process.
LOG_LOCK_CLASS = 0x72697665
# The fields of an event that its hashes cover (with the previous event's hash for the chain
# hash), in the order an export writes them and the audit table holds them. Defined here only.
HASHED_FIELDS: Final = (
    "seq",
    "jurisdiction",
    "leaf_index",
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


# The log's head and the event's seq in one statement (after the lock, on PostgreSQL: a
# statement's snapshot is taken when it starts). PostgreSQL hands out seqs from a sequence;
# SQLite's single writer takes the next after the highest.
# The log's head and the event's seq in one statement, after the lock on PostgreSQL (a
# statement's snapshot is taken when it starts). PostgreSQL hands out seqs from a sequence;
# SQLite's single writer takes the next after the highest.
HEAD_PG = (
    "SELECT nextval('audit_event_seq') AS seq, h.leaf_index, h.hash FROM (SELECT 1) AS one"
    " LEFT JOIN (SELECT leaf_index, hash FROM audit_event WHERE jurisdiction = $1"
    " ORDER BY leaf_index DESC LIMIT 1) AS h ON 1 = 1"
)
HEAD_SQLITE = (
    "SELECT MAX(COALESCE((SELECT MAX(seq) FROM audit_event), 0), 0) + 1 AS seq,"
    " h.leaf_index, h.hash FROM (SELECT 1) AS one"
    " LEFT JOIN (SELECT leaf_index, hash FROM audit_event WHERE jurisdiction = ?"
    " ORDER BY leaf_index DESC LIMIT 1) AS h ON 1 = 1"
)


class LogDamaged(RuntimeError):
    """A log's stored tree lacks a node its next leaf needs: it was changed outside the
    service. Nothing more is appended to it until an operator has looked."""


def jurisdiction_of(org_path: str) -> int:
    """The top-level unit an org path starts at; ``INSTALLATION`` for no unit."""
    ids = path_ids(org_path) if org_path else []
    return ids[0] if ids else INSTALLATION


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


def body_leaf_hash(body: dict[str, Any]) -> bytes:
    """The Merkle leaf of an event: SHA-256(0x00 ‖ canonical event)."""
    return leaf_hash(canonical(body).encode())


def event_leaf_hash(event: AuditEvent) -> str:
    return body_leaf_hash(event_body(event)).hex()


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else json.loads(canonical(value))


async def append_event(
    conn: BaseDBAsyncClient,
    context: RequestContext | None,
    *,
    action: AuditAction,
    entity_type: AuditEntity,
    entity_id: int | str,
    org_path: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> AuditEvent:
    """Append one event; call inside the transaction (``conn``) that makes the change."""
    jurisdiction = jurisdiction_of(org_path)
    postgres = conn.capabilities.dialect == "postgres"
    if postgres:
        await conn.execute_query(
            "SELECT pg_advisory_xact_lock($1, $2)", [LOG_LOCK_CLASS, jurisdiction]
        )
    (head,) = await conn.execute_query_dict(HEAD_PG if postgres else HEAD_SQLITE, [jurisdiction])
    index = head["leaf_index"] + 1 if head["hash"] is not None else 0
    event = AuditEvent(
        seq=int(head["seq"]),
        jurisdiction=jurisdiction,
        leaf_index=index,
        at=clock.now(),
        action=action.value,
        entity_type=entity_type.value,
        entity_id=str(entity_id),
        actor_id=actor_id
        if actor_id is not None
        else (context.viewer.id if context and context.viewer else None),
        org_path=org_path,
        before=_jsonable(before),
        after=_jsonable(after),
        request_id=context.request_id if context else "",
        prev_hash=head["hash"] if head["hash"] is not None else GENESIS_HASH,
    )
    body = event_body(event)
    event.hash = link_hash(event.prev_hash, body)
    nodes = await new_nodes(conn, jurisdiction, index, body_leaf_hash(body))
    await event.save(using_db=conn, force_create=True)
    await AuditNode.bulk_create(nodes, using_db=conn)
    telemetry.audit_head(event.seq)  # the highest seq; no query needed to know it
    if entity_type is AuditEntity.TASK:
        await announce(conn, context, TaskEvent(int(entity_id), action.value, org_path, event.seq))
    return event


async def new_nodes(
    conn: BaseDBAsyncClient, jurisdiction: int, index: int, leaf: bytes
) -> list[AuditNode]:
    """The stored nodes leaf ``index`` completes, from the left siblings it closes."""
    wanted = left_siblings(index)
    found: dict[tuple[int, int], bytes] = {}
    if wanted:
        condition = Q(*(Q(level=lv, position=pos) for lv, pos in wanted), join_type="OR")
        rows = (
            await AuditNode.filter(condition, jurisdiction=jurisdiction)
            .using_db(conn)
            .values_list("level", "position", "hash")
        )
        found = {(int(lv), int(pos)): bytes.fromhex(str(h)) for lv, pos, h in rows}
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LogDamaged(
            f"the audit log of jurisdiction {jurisdiction} lacks its nodes {missing}: "
            "run `riverchief verify-audit`"
        )
    hashes = [leaf]
    for sibling in wanted:
        hashes.append(node_hash(found[sibling], hashes[-1]))
    return [
        AuditNode(jurisdiction=jurisdiction, level=lv, position=pos, hash=value.hex())
        for (lv, pos), value in zip(completed_by(index), hashes, strict=True)
    ]

"""Audit rows as the service wrote them before the per-jurisdiction logs (migration 0007): one
chain over every event, ``hash = sha256(prev_hash + canonical event)`` over ten fields, written
straight into the table of a database migrated only that far."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections

GENESIS = "0" * 64
INSERT_PG = (
    "INSERT INTO audit_event (seq, at, action, entity_type, entity_id, actor_id, org_path,"
    " before, after, request_id, prev_hash, hash)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
INSERT_SQLITE = (
    "INSERT INTO audit_event (seq, at, action, entity_type, entity_id, actor_id, org_path,"
    " before, after, request_id, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


async def insert_row(seq: int, body: dict[str, Any], prev_hash: str, row_hash: str) -> None:
    client = connections.get("default")
    postgres = client.capabilities.dialect == "postgres"
    at = body["at"]
    await client.execute_query(
        INSERT_PG if postgres else INSERT_SQLITE,
        [
            seq,
            datetime.fromisoformat(at) if postgres else at,
            body["action"],
            body["entity_type"],
            body["entity_id"],
            body["actor_id"],
            body["org_path"],
            None if body["before"] is None else json.dumps(body["before"]),
            None if body["after"] is None else json.dumps(body["after"]),
            body["request_id"],
            prev_hash,
            row_hash,
        ],
    )


async def write_old_chain(paths: list[str], *, first_seq: int = 1, head: str = GENESIS) -> str:
    """One event per org path (``""`` for none), chained as before 0007; the last hash."""
    for offset, path in enumerate(paths):
        seq = first_seq + offset
        body = {
            "seq": seq,
            "at": (START + timedelta(minutes=seq)).isoformat(timespec="microseconds"),
            "action": "task.urge" if path else "user.login_failed",
            "entity_type": "task" if path else "user",
            "entity_id": str(seq),
            "actor_id": None,
            "org_path": path,
            "before": {"version": seq} if path else None,
            "after": {"version": seq + 1, "note": "巡河"} if path else {"username": "x"},
            "request_id": f"r{seq}",
        }
        row_hash = hashlib.sha256((head + canonical(body)).encode()).hexdigest()
        await insert_row(seq, body, head, row_hash)
        head = row_hash
    return head

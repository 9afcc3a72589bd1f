"""One verifiable audit log per jurisdiction, in place of the one installation-wide chain.

Adds to ``audit_event`` the log an event belongs to (``jurisdiction``: the top-level unit its
``org_path`` starts at, 0 for events of no unit) and its place there (``leaf_index``, 0..n-1
per log, unique by constraint); creates ``audit_node`` (every complete subtree of each log's
Merkle tree) and ``audit_checkpoint`` (signed tree heads); and on PostgreSQL the sequence
``seq`` is taken from, so that writers in different jurisdictions share no lock.

The events already stored are moved over, in seq order:

1. the old chain is checked first, as ``verifyAuditChain`` checked it (seqs 1..n, every
   ``hash = sha256(prev_hash + canonical event)`` recomputing). A broken chain stops the
   migration with the first broken seq: rebuilding it into fresh logs would make whatever
   broke it pass every later check. Keep a copy of the database for the investigation.
2. each event gets its jurisdiction and leaf index, its ``prev_hash``/``hash`` are
   recomputed as the chain within its log (the hash now also covers ``jurisdiction`` and
   ``leaf_index``), and the nodes of each log are built.
3. one event ``audit.migrate`` closes the installation-wide log, carrying the old chain's
   head (seq and hash) in ``before``: an anchor written down from the old chain still says
   which history the logs continue.

The hashing is frozen here as it was when the logs were introduced (RFC 9162 leaves and
nodes, the canonical JSON of the fields below).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint

GENESIS = "0" * 64
BATCH = 5000
OLD_FIELDS = (
    "seq", "at", "action", "entity_type", "entity_id", "actor_id", "org_path", "before",
    "after", "request_id",
)
NEW_FIELDS = (
    "seq", "jurisdiction", "leaf_index", "at", "action", "entity_type", "entity_id",
    "actor_id", "org_path", "before", "after", "request_id",
)
CREATE_SEQ_SEQUENCE = (
    "CREATE SEQUENCE IF NOT EXISTS audit_event_seq AS BIGINT MINVALUE 1;"
    " SELECT setval('audit_event_seq', GREATEST(1, (SELECT COALESCE(MAX(seq), 0)"
    " FROM audit_event)), (SELECT COUNT(*) > 0 FROM audit_event));"
)


def canonical(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(body)).encode()).hexdigest()


def leaf(body: dict[str, Any]) -> bytes:
    return hashlib.sha256(b"\x00" + canonical(body).encode()).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def moment(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat(timespec="microseconds"))


def document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def jurisdiction_of(org_path: str) -> int:
    parts = [part for part in org_path.strip("/").split("/") if part]
    return int(parts[0]) if parts else 0


class Log:
    """One log being built: its size, last hash, and the frontier of its tree."""

    def __init__(self) -> None:
        self.size = 0
        self.head = GENESIS
        self.frontier: list[bytes] = []

    def append(self, value: bytes) -> list[tuple[int, int, str]]:
        nodes = [(0, self.size, value.hex())]
        level = 0
        while (self.size >> level) & 1:
            value = node(self.frontier.pop(), value)
            level += 1
            nodes.append((level, ((self.size + 1) >> level) - 1, value.hex()))
        self.frontier.append(value)
        self.size += 1
        return nodes


def marks(client: Any, count: int) -> str:
    if client.capabilities.dialect == "postgres":
        return ", ".join(f"${n}" for n in range(1, count + 1))
    return ", ".join("?" * count)


async def build_logs(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    logs: dict[int, Log] = {}
    old_head, expected = GENESIS, 1
    mark = "$1" if postgres else "?"
    p = marks(client, 5).split(", ")
    update = (
        f"UPDATE audit_event SET jurisdiction = {p[0]}, leaf_index = {p[1]}, prev_hash = {p[2]},"
        f" hash = {p[3]} WHERE seq = {p[4]}"
    )
    insert_node = (
        f"INSERT INTO audit_node (jurisdiction, level, position, hash) VALUES ({marks(client, 4)})"
    )
    while True:
        rows = await client.execute_query_dict(
            "SELECT seq, at, action, entity_type, entity_id, actor_id, org_path, before, after,"
            f" request_id, prev_hash, hash FROM audit_event WHERE seq >= {mark}"
            f" ORDER BY seq LIMIT {BATCH}",
            [expected],
        )
        if not rows:
            break
        updates, nodes = [], []
        for row in rows:
            body = {name: row[name] for name in OLD_FIELDS}
            body["at"] = moment(row["at"])
            body["before"], body["after"] = document(row["before"]), document(row["after"])
            if (
                row["seq"] != expected
                or row["prev_hash"] != old_head
                or link(old_head, body) != row["hash"]
            ):
                raise RuntimeError(
                    f"the audit chain is broken at seq {expected}: it is not moved into the "
                    "per-jurisdiction logs, which would hide the break. Keep a copy of the "
                    "database for the investigation; `riverchief verify-audit` on the previous "
                    "release reports the same seq."
                )
            old_head, expected = row["hash"], expected + 1
            j = jurisdiction_of(row["org_path"])
            log = logs.setdefault(j, Log())
            body = {**body, "jurisdiction": j, "leaf_index": log.size}
            new_hash = link(log.head, body)
            updates.append([j, log.size, log.head, new_hash, row["seq"]])
            nodes += [[j, *made] for made in log.append(leaf(body))]
            log.head = new_hash
        await client.execute_many(update, updates)
        await client.execute_many(insert_node, nodes)
    if expected > 1:
        await close_old_chain(client, logs, expected - 1, old_head)
    if postgres:
        await client.execute_script(CREATE_SEQ_SEQUENCE)


async def close_old_chain(client: Any, logs: dict[int, Log], seq: int, head: str) -> None:
    """``audit.migrate`` in the installation-wide log: the old chain's head, in ``before``."""
    log = logs.setdefault(0, Log())
    now = datetime.now(UTC)
    body = {
        "seq": seq + 1,
        "jurisdiction": 0,
        "leaf_index": log.size,
        "at": now.isoformat(timespec="microseconds"),
        "action": "audit.migrate",
        "entity_type": "audit",
        "entity_id": "0007_audit_log",
        "actor_id": None,
        "org_path": "",
        "before": {"chain_head_seq": seq, "chain_head_hash": head},
        "after": {"logs": len(logs)},
        "request_id": "migration-0007",
    }
    row_hash = link(log.head, body)
    await client.execute_query(
        "INSERT INTO audit_event (seq, jurisdiction, leaf_index, at, action, entity_type,"
        " entity_id, actor_id, org_path, before, after, request_id, prev_hash, hash)"
        f" VALUES ({marks(client, 14)})",
        [
            body["seq"], 0, log.size, now if client.capabilities.dialect == "postgres"
            else now.isoformat(sep=" "), body["action"], body["entity_type"],
            body["entity_id"], None, "", json.dumps(body["before"]), json.dumps(body["after"]),
            body["request_id"], log.head, row_hash,
        ],
    )
    made = log.append(leaf(body))
    await client.execute_many(
        f"INSERT INTO audit_node (jurisdiction, level, position, hash) VALUES ({marks(client, 4)})",
        [[0, *item] for item in made],
    )


async def nothing(apps: Any, schema_editor: Any) -> None:
    """Going back drops the new columns and tables; the hashes stay as the logs made them."""


class Migration(migrations.Migration):
    dependencies = [("models", "0006_record_authority")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("jurisdiction", fields.IntField()),
                ("tree_size", fields.BigIntField()),
                ("root_hash", fields.CharField(max_length=64)),
                ("key_name", fields.CharField(max_length=128)),
                ("note", fields.TextField(unique=False)),
                ("issued_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "audit_checkpoint",
                "app": "models",
                "unique_together": (("jurisdiction", "tree_size", "key_name"),),
                "pk_attr": "id",
                "table_description": "A signed head of a log, as issued. The note (a C2SP signed note) says it all, and the",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditNode",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("jurisdiction", fields.IntField()),
                ("level", fields.SmallIntField()),
                ("position", fields.BigIntField()),
                ("hash", fields.CharField(max_length=64)),
            ],
            options={
                "table": "audit_node",
                "app": "models",
                "unique_together": (("jurisdiction", "level", "position"),),
                "pk_attr": "id",
                "table_description": "A complete subtree of a log: the hash of leaves ``[position·2^level,",
            },
            bases=["Model"],
        ),
        ops.AlterModelOptions(
            name="AuditEvent",
            options={
                "table": "audit_event",
                "app": "models",
                "unique_together": (("jurisdiction", "leaf_index"),),
                "constraints": [CheckConstraint(check="seq >= 1", name="audit_event_seq_from_one")],
                "indexes": [Index(fields=["entity_type", "entity_id"]), Index(fields=["actor_id", "seq"])],
                "pk_attr": "seq",
                "table_description": "One leaf of the log of its jurisdiction: ``hash = sha256(prev_hash + canonical event)``",
            },
        ),
        ops.AddField(model_name="AuditEvent", name="jurisdiction", field=fields.IntField(default=0, db_default=0)),
        ops.AddField(model_name="AuditEvent", name="leaf_index", field=fields.BigIntField(default=0, db_default=0)),
        ops.RunPython(build_logs, nothing),
        ops.AddConstraint(
            model_name="AuditEvent",
            constraint=UniqueConstraint(fields=("jurisdiction", "leaf_index"), name=None),
        ),
    ]

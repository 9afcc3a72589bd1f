"""The audit trail: one event per change that took effect, in one verifiable log per
jurisdiction (docs/audit.md).

A jurisdiction is a top-level unit (a county, Yangzonghai); its log holds the events whose
``org_path`` starts at it, numbered by ``leaf_index`` 0, 1, … without gaps. Events of no unit
go to the installation-wide log, jurisdiction 0. Each log is a Merkle tree (RFC 9162) whose
complete subtrees are stored in ``audit_node`` as leaves arrive, and whose signed heads are
kept in ``audit_checkpoint``.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.people import User

FIRST_SEQ = 1
INSTALLATION = 0  # the jurisdiction of events that belong to no unit
# PostgreSQL hands out ``seq`` from this sequence, so that writers in different jurisdictions
# need no common lock; SQLite's single writer takes the next number after the highest.
SEQ_SEQUENCE = "audit_event_seq"
CREATE_SEQ_SEQUENCE = (
    "CREATE SEQUENCE IF NOT EXISTS audit_event_seq AS BIGINT MINVALUE 1;"
    " SELECT setval('audit_event_seq', GREATEST(1, (SELECT COALESCE(MAX(seq), 0)"
    " FROM audit_event)), (SELECT COUNT(*) > 0 FROM audit_event));"
)
NEXT_SEQ = "SELECT nextval('audit_event_seq') AS seq"


class AuditEvent(Model):
    """One leaf of the log of its jurisdiction: ``hash = sha256(prev_hash + canonical event)``
    chains it to the event before it in the same log; its leaf hash (``resolvers.audit``) is
    what the Merkle tree of the log is built of.

    ``seq`` is the event's identity across logs: from 1, unique, increasing within a log, but
    not gapless overall (PostgreSQL sequences skip numbers). The database refuses a seq below
    1 (a CHECK on PostgreSQL, triggers on SQLite: migration 0005), a repeated one (the primary
    key) and a repeated place in a log (``jurisdiction``, ``leaf_index``).
    """

    seq = fields.BigIntField(primary_key=True, generated=False)
    jurisdiction = fields.IntField(default=INSTALLATION, db_default=INSTALLATION)
    leaf_index = fields.BigIntField(default=0, db_default=0)
    at = fields.DatetimeField()
    action = fields.CharField(max_length=64, db_index=True)
    entity_type = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=64)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="audit_events",
        null=True,
        on_delete=fields.RESTRICT,
        db_constraint=False,
    )
    org_path = fields.CharField(max_length=255, default="", db_index=True)
    before: dict[str, Any] | None = fields.JSONField(null=True)
    after: dict[str, Any] | None = fields.JSONField(null=True)
    request_id = fields.CharField(max_length=64, default="")
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    actor_id: int | None

    class Meta:
        table = "audit_event"
        # (org_path, seq): a unit's newest events, so a subtree's history follows the subtree.
        indexes = (("entity_type", "entity_id"), ("actor_id", "seq"), ("org_path", "seq"))
        unique_together = (("jurisdiction", "leaf_index"),)
        constraints = (CheckConstraint(check="seq >= 1", name="audit_event_seq_from_one"),)

    @classmethod
    def in_chain(cls) -> QuerySet[AuditEvent]:
        """The rows a reader may be shown. A row below ``FIRST_SEQ`` is outside the chain
        whatever its hash: verification reports it, and no reader sees it (on a database
        that lacks the constraint, or before migration 0005)."""
        return cls.filter(seq__gte=FIRST_SEQ)


class AuditNode(Model):
    """A complete subtree of a log: the hash of leaves ``[position·2^level,
    (position+1)·2^level)``. Level 0 holds the leaf hashes. Written with the leaf that
    completes it and never changed."""

    id = fields.BigIntField(primary_key=True)
    jurisdiction = fields.IntField()
    level = fields.SmallIntField()
    position = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_node"
        unique_together = (("jurisdiction", "level", "position"),)


class AuditCheckpoint(Model):
    """A signed head of a log, as issued. The note (a C2SP signed note) says it all, and the
    other columns find it."""

    id = fields.BigIntField(primary_key=True)
    jurisdiction = fields.IntField()
    tree_size = fields.BigIntField()
    root_hash = fields.CharField(max_length=64)
    key_name = fields.CharField(max_length=128)
    note = fields.TextField()
    issued_at = fields.DatetimeField()

    class Meta:
        table = "audit_checkpoint"
        unique_together = (("jurisdiction", "tree_size", "key_name"),)


async def create_seq_sequence(client: Any) -> None:
    """The sequence ``seq`` comes from on PostgreSQL, starting after the highest stored seq
    (the schema builder of the tests knows nothing of sequences; migration 0007 calls the
    same statements)."""
    if client.capabilities.dialect != "postgres":
        return
    await client.execute_script(CREATE_SEQ_SEQUENCE)

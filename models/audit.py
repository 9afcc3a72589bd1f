"""The hash-chained audit trail: one event per change that took effect."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.people import User

FIRST_SEQ = 1


class AuditEvent(Model):
    """``hash = sha256(prev_hash + canonical event)``: editing or removing one breaks the chain.

    The chain is the rows with seq 1..n. The database refuses a seq below 1 (a CHECK on
    PostgreSQL, triggers on SQLite: migration 0005) and a repeated one (the primary key).
    """

    seq = fields.BigIntField(primary_key=True, generated=False)
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
        constraints = (CheckConstraint(check="seq >= 1", name="audit_event_seq_from_one"),)

    @classmethod
    def in_chain(cls) -> QuerySet[AuditEvent]:
        """The rows a reader may be shown. A row below ``FIRST_SEQ`` is outside the chain
        whatever its hash: verification reports it, and no reader sees it (on a database
        that lacks the constraint, or before migration 0005)."""
        return cls.filter(seq__gte=FIRST_SEQ)

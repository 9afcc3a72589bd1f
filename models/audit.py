"""The hash-chained audit trail: one event per change that took effect."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.people import User


class AuditEvent(Model):
    """``hash = sha256(prev_hash + canonical event)``: editing or removing one breaks the chain."""

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
        indexes = (("entity_type", "entity_id"), ("actor_id", "seq"))


def with_actor_names(query: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Each event with its actor's username as ``actor_name`` (null for the system), joined
    in the same statement."""
    return query.annotate(actor_name=F("actor__username"))


def actor_name(event: AuditEvent) -> str:
    """The name ``with_actor_names`` fetched ("" if it was not)."""
    return str(getattr(event, "actor_name", None) or "")

"""Accountability records: who patrolled, cleaned, pledged, was assessed, rewarded or found."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import RecordType
from models.org import OrgUnit, WaterBody
from models.people import Person, User
from models.record_shown import shown_details
from models.task import Task


class AccountabilityRecord(Model):
    """Append-only: a correction is a new record whose ``corrects`` points at the old one.

    ``details`` holds the type-specific fields (a patrol's distance and findings, a clean-up's
    participants and garbage, an assessment's criteria scores…).
    """

    id = fields.IntField(primary_key=True)
    type = fields.CharEnumField(RecordType, max_length=24, db_index=True)
    org_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="records", on_delete=fields.RESTRICT
    )
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="records", null=True, on_delete=fields.SET_NULL
    )
    # The unit of the grant the record was filed under (the author's authority); null for
    # records filed before authorities were recorded.
    authority_unit: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="authorised_records", null=True, on_delete=fields.RESTRICT
    )
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="records", null=True, on_delete=fields.SET_NULL
    )
    task: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="records", null=True, on_delete=fields.SET_NULL
    )
    water_body: fields.ForeignKeyNullableRelation[WaterBody] = fields.ForeignKeyField(
        "models.WaterBody", related_name="records", null=True, on_delete=fields.SET_NULL
    )
    corrects: fields.ForeignKeyNullableRelation[AccountabilityRecord] = fields.ForeignKeyField(
        "models.AccountabilityRecord",
        related_name="corrections",
        null=True,
        on_delete=fields.RESTRICT,
    )
    occurred_at = fields.DatetimeField(db_index=True)
    ended_at = fields.DatetimeField(null=True)
    summary = fields.CharField(max_length=500, default="")
    details: dict[str, Any] = fields.JSONField(default=dict)
    # ``details`` as the graph shows it (``models.record_shown``), written with the record.
    details_shown: dict[str, Any] | None = fields.JSONField(null=True)
    flagged = fields.BooleanField(default=False)
    flag_reason = fields.CharField(max_length=400, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    org_unit_id: int
    author_id: int | None
    authority_unit_id: int | None
    person_id: int | None
    task_id: int | None
    water_body_id: int | None
    corrects_id: int | None

    class Meta:
        table = "accountability_record"
        indexes = (("org_unit_id", "occurred_at"),)

    async def save(self, *args: Any, **kwargs: Any) -> None:
        """Records are written once: their shown details are fixed with them."""
        self.details_shown = shown_details(self.details)
        await super().save(*args, **kwargs)

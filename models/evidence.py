"""Evidence: uploaded photos and documents, and the records that cite them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.people import User
from models.record import AccountabilityRecord


class Evidence(Model):
    """One upload: a content and the account that uploaded it.

    The file is kept once under its SHA-256 (``core.evidence_files``) however many upload
    it; the same account uploading the same bytes again gets the same evidence. ``taken_at``,
    ``lon`` and ``lat`` are what the photo's EXIF says, if anything."""

    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, db_index=True)
    content_type = fields.CharField(max_length=64)
    size = fields.IntField()
    taken_at = fields.DatetimeField(null=True)
    lon = fields.FloatField(null=True)
    lat = fields.FloatField(null=True)
    uploader: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="evidence", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    uploader_id: int | None

    class Meta:
        table = "evidence"
        unique_together = (("sha256", "uploader"),)


class RecordEvidence(Model):
    """A record citing an evidence item.

    Cited through ``CreateRecordInput.evidenceIds`` or an assessment criterion's evidence."""

    id = fields.IntField(primary_key=True)
    record: fields.ForeignKeyRelation[AccountabilityRecord] = fields.ForeignKeyField(
        "models.AccountabilityRecord", related_name="evidence_links", on_delete=fields.RESTRICT
    )
    evidence: fields.ForeignKeyRelation[Evidence] = fields.ForeignKeyField(
        "models.Evidence", related_name="citations", on_delete=fields.RESTRICT
    )
    position = fields.IntField(default=0)

    record_id: int
    evidence_id: int

    class Meta:
        table = "record_evidence"
        unique_together = (("record", "evidence"),)

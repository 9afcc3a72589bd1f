"""Complaints from the public (``models.complaint``) and the throttle's count per address."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0018_notifications")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Complaint",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "task",
                    fields.OneToOneField(
                        "models.Task",
                        source_field="task_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="complaint",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "segment",
                    fields.ForeignKeyField(
                        "models.WaterBody",
                        source_field="segment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="complaints",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("receipt_hash", fields.CharField(unique=True, max_length=64)),
                ("description", fields.TextField(unique=False)),
                ("location", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("contact", fields.CharField(default="", max_length=64)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "complaint",
                "app": "models",
                "pk_attr": "id",
                "table_description": "Complaints from the public, each the public side of one task.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ComplaintAttempt",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("address", fields.CharField(max_length=64)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "complaint_attempt",
                "app": "models",
                "indexes": [Index(fields=["address", "at"])],
                "pk_attr": "id",
                "table_description": "Complaints submitted per client address, kept briefly to throttle.",
            },
            bases=["Model"],
        ),
    ]

"""Complaints from the public (群众投诉): what anyone can send from a river sign's QR code.

A complaint is the public side of a task (``origin`` COMPLAINT) held by the unit responsible
for the segment (``resolvers.complaints``): the description, the place and the contact as the
complainant gave them, and the hash of the receipt they hold to follow it. The receipt itself
is never stored. ``ComplaintAttempt`` rows are the throttle's count per client address, kept
only as long as the window they count in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.org import WaterBody
from models.task import Task


class Complaint(Model):
    """One complaint and the task it became. ``contact`` is personal data (masked for
    handlers without ``person_pii:read``, never shown publicly)."""

    id = fields.IntField(primary_key=True)
    task: fields.OneToOneRelation[Task] = fields.OneToOneField(
        "models.Task", related_name="complaint", on_delete=fields.RESTRICT
    )
    segment: fields.ForeignKeyRelation[WaterBody] = fields.ForeignKeyField(
        "models.WaterBody", related_name="complaints", on_delete=fields.RESTRICT
    )
    receipt_hash = fields.CharField(max_length=64, unique=True)  # SHA-256 hex of the receipt
    description = fields.TextField()
    location: dict[str, Any] | None = fields.JSONField(null=True)  # RFC 7946 geometry
    contact = fields.CharField(max_length=64, default="")
    received_at: datetime = fields.DatetimeField()

    task_id: int
    segment_id: int

    class Meta:
        table = "complaint"
        table_description = "Complaints from the public, each the public side of one task."


class ComplaintAttempt(Model):
    """One ``submitComplaint`` from a client address, kept for the throttle's window."""

    id = fields.BigIntField(primary_key=True)
    address = fields.CharField(max_length=64)
    at: datetime = fields.DatetimeField()

    class Meta:
        table = "complaint_attempt"
        table_description = "Complaints submitted per client address, kept briefly to throttle."
        indexes = (("address", "at"),)

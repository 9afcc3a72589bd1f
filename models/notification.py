"""The outbox of reminders and notices: one row per recipient account, written in the
transaction of the change that causes it, and delivered to the webhook afterwards.

A row is read by its recipient (``read_at``) and delivered at least once (``delivered_at``):
``next_attempt_at`` is when a delivery worker may next try it (pushed forward while one is
sending: a lease), null once delivered or given up. ``dedup_key`` makes the periodic reminders
idempotent: the same key is written once, however often the job runs.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.org import OrgUnit
from models.people import User
from models.task import Task


class NotificationKind(StrEnum):
    TASK_ASSIGNED = "TASK_ASSIGNED"
    TASK_URGED = "TASK_URGED"
    TASK_OVERDUE = "TASK_OVERDUE"
    TASK_RETURNED = "TASK_RETURNED"
    COMPLAINT_RECEIVED = "COMPLAINT_RECEIVED"
    CLEANUP_DAY = "CLEANUP_DAY"


class Notification(Model):
    """One notice to one account, and the state of its delivery."""

    id = fields.IntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=24)
    task: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    org_unit: fields.ForeignKeyNullableRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    dedup_key = fields.CharField(max_length=160, null=True, unique=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    delivered_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    recipient_id: int
    task_id: int | None
    org_unit_id: int | None

    class Meta:
        table = "notification"
        table_description = "Reminders and notices to accounts: the outbox the webhook drains."
        # (recipient_id, id): an account's newest notifications, a page at a time.
        indexes = (("recipient_id", "id"), ("task_id", "kind"))

"""Tasks handed down the hierarchy, split level by level (逐级分解)."""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model

from models.enums import CLOSED_STATUSES, RecordType, TaskCategory, TaskStatus
from models.org import OrgUnit
from models.people import Person, User


class Task(Model):
    """A unit of work issued by one unit to another (and optionally to a person).

    ``version`` increases on every change so that two concurrent edits never both apply.
    A quota task (``quota_target``) is fulfilled by records of ``quota_record_type``.
    """

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    category = fields.CharEnumField(TaskCategory, max_length=24, db_index=True)
    status = fields.CharEnumField(
        TaskStatus, max_length=16, default=TaskStatus.ASSIGNED, db_index=True
    )
    org_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="tasks", on_delete=fields.RESTRICT
    )
    issuer_unit: fields.ForeignKeyRelation[OrgUnit] = fields.ForeignKeyField(
        "models.OrgUnit", related_name="issued_tasks", on_delete=fields.RESTRICT
    )
    issued_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="issued_tasks", null=True, on_delete=fields.SET_NULL
    )
    assignee: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    parent: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="subtasks", null=True, on_delete=fields.RESTRICT
    )
    due_at = fields.DatetimeField(null=True, db_index=True)
    quota_target = fields.IntField(null=True)
    quota_record_type = fields.CharEnumField(RecordType, max_length=24, null=True)
    submitted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="submitted_tasks", null=True, on_delete=fields.SET_NULL
    )
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    closed_at = fields.DatetimeField(null=True)

    org_unit_id: int
    issuer_unit_id: int
    issued_by_id: int | None
    assignee_id: int | None
    parent_id: int | None
    submitted_by_id: int | None

    class Meta:
        table = "task"
        indexes = (("org_unit_id", "status"), ("org_unit_id", "due_at"))

    def is_overdue(self, now: datetime) -> bool:
        """Overdue is derived, never stored: due passed and not closed."""
        return self.due_at is not None and self.due_at < now and self.status not in CLOSED_STATUSES

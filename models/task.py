"""Tasks handed down the hierarchy, split level by level (逐级分解)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tortoise import fields
from tortoise.expressions import Q
from tortoise.models import Model

from models.enums import CLOSED_STATUSES, RecordType, TaskCategory, TaskOrigin, TaskStatus
from models.org import OrgUnit
from models.people import Person, User


class Task(Model):
    """A unit of work issued by one unit to another (and optionally to a person).

    ``version`` increases on every change so that two concurrent edits never both apply.
    A quota task (``quota_target``) is fulfilled by records of ``quota_record_type`` that
    occurred from ``quota_from`` to ``quota_to`` (whole days, China Standard Time; see
    ``resolvers.quota`` for which records count).
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
    quota_from: date | None = fields.DateField(null=True)
    quota_to: date | None = fields.DateField(null=True)
    submitted_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="submitted_tasks", null=True, on_delete=fields.SET_NULL
    )
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    closed_at = fields.DatetimeField(null=True)
    # The upward loop (上报 → 交办 → 处置 → 反馈): a REPORTED task is raised by an account of the
    # unit below (``reported_by``, its person ``reporter``), from a record, at a water body or a
    # place, with evidence; the receiving side closes it with ``feedback`` for the reporter.
    origin = fields.CharEnumField(TaskOrigin, max_length=16, default=TaskOrigin.ISSUED)
    reporter: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="reported_tasks", null=True, on_delete=fields.SET_NULL
    )
    reported_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="reported_tasks", null=True, on_delete=fields.SET_NULL
    )
    feedback = fields.TextField(null=True)
    source_record_id = fields.IntField(null=True)  # the patrol or finding it was reported from
    water_body_id = fields.IntField(null=True)
    location: dict[str, Any] | None = fields.JSONField(null=True)  # RFC 7946 geometry
    evidence_ids: list[str] | None = fields.JSONField(null=True)  # global IDs, as given
    # A hand-over (``escalateTask`` with HAND_OVER): the task the unit below asked to be taken
    # over; the new task is held one level above that task's unit.
    hand_over_of: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="hand_overs", null=True, on_delete=fields.RESTRICT
    )

    org_unit_id: int
    issuer_unit_id: int
    issued_by_id: int | None
    assignee_id: int | None
    parent_id: int | None
    submitted_by_id: int | None
    reporter_id: int | None
    reported_by_id: int | None
    hand_over_of_id: int | None

    class Meta:
        table = "task"
        # (org_unit_id, id): a unit's newest tasks, so a subtree's newest page follows the
        # subtree (resolvers/subtree_pages.py), not the whole table.
        indexes = (("org_unit_id", "status"), ("org_unit_id", "due_at"), ("org_unit_id", "id"))

    def is_overdue(self, now: datetime) -> bool:
        """The overdue rule (see ``overdue_q``) for a task in hand."""
        return self.due_at is not None and self.due_at < now and self.status not in CLOSED_STATUSES


# Overdue is derived, never stored: the due date has passed and the task is not closed
# (CLOSED_STATUSES). The rule is written here, once for each place it is evaluated: in Python
# (``Task.is_overdue``), as a Tortoise filter (``overdue_q``) and as SQL for hand-written
# statements (``overdue_sql``). A task without a due date is never overdue, so it is among
# the tasks ``~overdue_q(now)`` finds (a bare ``due_at < now`` would be NULL there).
_CLOSED = sorted(status.value for status in CLOSED_STATUSES)


def overdue_q(now: datetime) -> Q:
    """The overdue rule as a filter on ``Task``."""
    return Q(due_at__isnull=False, due_at__lt=now) & ~Q(status__in=_CLOSED)


def overdue_sql(task: str, now: str) -> str:
    """The overdue rule as a SQL condition on the task table aliased ``task``, with ``now``
    the placeholder bound to the moment (the statuses are our own constants, inlined)."""
    closed = ", ".join(f"'{status}'" for status in _CLOSED)
    return (
        f"({task}.due_at IS NOT NULL AND {task}.due_at < {now} AND {task}.status NOT IN ({closed}))"
    )


class TaskCount(Model):
    """How many tasks a unit holds in one status: the dashboards' counters.

    Kept in the transaction of every task change (``resolvers.task_counters``) by row-level
    ``n = n + delta`` upserts, so concurrent changes add up instead of overwriting each other.
    Rows are per unit, not per subtree: the viewer's scope still applies to each unit, and a
    unit that moves takes its counts along with it.
    """

    id = fields.IntField(primary_key=True)
    org_unit_id = fields.IntField()
    status = fields.CharEnumField(TaskStatus, max_length=16)
    n = fields.IntField(default=0)

    class Meta:
        table = "task_count"
        unique_together = (("org_unit_id", "status"),)


class TaskDueCount(Model):
    """How many open tasks of a unit fall due on one day (UTC): overdue, summed over days.

    Only open tasks with a due date are counted (the overdue rule, see ``overdue_q``), so the
    days before today add up to the tasks overdue since then; today's tasks are counted from
    the task table, against the moment asked about.
    """

    id = fields.IntField(primary_key=True)
    org_unit_id = fields.IntField()
    due_day = fields.DateField()
    n = fields.IntField(default=0)

    class Meta:
        table = "task_due_count"
        unique_together = (("org_unit_id", "due_day"),)
        indexes = (("due_day", "org_unit_id"),)


class TimeLimitEscalation(Model):
    """A REPORTED (or complaint) task that overstayed one stage's time limit, escalated once.

    ``(task_id, stage)`` is unique: however many processes run ``riverchief escalate-due`` at
    once, a task is escalated at most once per stage (``ops.escalate_due``).
    """

    id = fields.IntField(primary_key=True)
    task_id = fields.IntField()
    stage = fields.CharField(max_length=16)
    record_id = fields.IntField()  # the ESCALATION record written for it
    at = fields.DatetimeField()

    class Meta:
        table = "task_time_limit_escalation"
        unique_together = (("task_id", "stage"),)

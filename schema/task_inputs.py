"""Inputs and payloads of the task mutations."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from resolvers.decomposition import Part
from resolvers.task_commands import NewTask
from schema.enums import EscalationMode, TaskAction, TaskCategory
from schema.errors import UserError
from schema.node import optional_pk
from schema.record import Record, RecordType
from schema.task import Task


@strawberry.input(
    description="The days a quota's records are counted in, first and last included, in China "
    "Standard Time (UTC+8); at most five years."
)
class QuotaPeriodInput:
    from_: date = strawberry.field(name="from", description="The first day counted.")
    to: date = strawberry.field(description="The last day counted, not before `from`.")


@strawberry.input(description="A new task. It starts ASSIGNED, issued by the unit above.")
class CreateTaskInput:
    title: str = strawberry.field(description="What is to be done, 1 to 200 characters.")
    description: str = strawberry.field(default="", description="The details.")
    category: TaskCategory = strawberry.field(description="The task's category.")
    org_unit_id: strawberry.ID = strawberry.field(
        description="The unit that is to do it, inside your scope."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A person of that unit, optionally."
    )
    due_at: datetime | None = strawberry.field(default=None, description="The deadline, if any.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Makes this a subtask, issued by the parent's unit."
    )
    quota_target: int | None = strawberry.field(
        default=None, description="How many records fulfil the task (e.g. 6 patrols a year)."
    )
    quota_record_type: RecordType | None = strawberry.field(
        default=None, description="Which records count towards the quota."
    )
    quota_period: QuotaPeriodInput | None = strawberry.field(
        default=None,
        description="When the quota's records must have happened; only with a quota. Default: "
        "the calendar year (China Standard Time) the task is created in.",
    )

    def to_domain(self) -> NewTask:
        return NewTask(
            title=self.title,
            description=self.description,
            category=self.category,
            org_unit_id=optional_pk(self.org_unit_id, "OrgUnit") or -1,
            assignee_id=optional_pk(self.assignee_id, "Person"),
            due_at=self.due_at,
            parent_id=optional_pk(self.parent_id, "Task"),
            quota_target=self.quota_target,
            quota_record_type=self.quota_record_type,
            quota_from=self.quota_period.from_ if self.quota_period else None,
            quota_to=self.quota_period.to if self.quota_period else None,
        )


@strawberry.input(description="Reassign a task to a unit below its issuer and/or a person.")
class AssignTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    org_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The new unit, below the task's issuer."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="The new person, of that unit."
    )
    expected_version: int | None = strawberry.field(
        default=None, description="The version you read; a different one gives CONFLICT."
    )


@strawberry.input(description="Move a task through its workflow.")
class TransitionTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task.")
    action: TaskAction = strawberry.field(description="What to do.")
    note: str | None = strawberry.field(
        default=None, description="Why; required for URGE and REPLY."
    )
    feedback: str | None = strawberry.field(
        default=None,
        description="The answer kept on the task (`Task.feedback`), given only when closing it "
        "(VERIFY, CANCEL); required when closing a REPORTED task, whose reporter reads it.",
    )
    expected_version: int | None = strawberry.field(
        default=None, description="The version you read; a different one gives CONFLICT."
    )


@strawberry.input(description="One subtask of a decomposition.")
class SubtaskInput:
    org_unit_id: strawberry.ID = strawberry.field(description="A unit below the task's unit.")
    title: str | None = strawberry.field(default=None, description="Defaults to the parent's.")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A person of that unit, optionally."
    )
    due_at: datetime | None = strawberry.field(
        default=None, description="Defaults to the parent's; never later."
    )

    def to_domain(self) -> Part:
        return Part(
            org_unit_id=optional_pk(self.org_unit_id, "OrgUnit") or -1,
            title=self.title,
            assignee_id=optional_pk(self.assignee_id, "Person"),
            due_at=self.due_at,
        )


@strawberry.input(description="Split a task into subtasks for units below it (逐级分解).")
class DecomposeTaskInput:
    task_id: strawberry.ID = strawberry.field(description="The task to split.")
    parts: list[SubtaskInput] = strawberry.field(
        description="One part per unit below the task's unit."
    )
    expected_version: int | None = strawberry.field(
        default=None, description="The version you read; a different one gives CONFLICT."
    )


@strawberry.input(
    description="Press an overdue task (督办, PRESS), or ask the level above to take over a "
    "task your unit holds (HAND_OVER)."
)
class EscalateTaskInput:
    task_id: strawberry.ID = strawberry.field(
        description="The task: overdue, for PRESS; open and held by your unit, for HAND_OVER."
    )
    note: str = strawberry.field(description="What is pressed or asked for, kept in the record.")
    mode: EscalationMode = strawberry.field(
        default=EscalationMode.PRESS, description="PRESS (the default) or HAND_OVER."
    )


@strawberry.type(description="The task as it now is, or why the change was refused.")
class TaskPayload:
    task: Task | None = strawberry.field(
        description="The task as it now is; null when the change was refused."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The subtasks created, or why none was.")
class DecomposeTaskPayload:
    subtasks: list[Task] = strawberry.field(description="The subtasks created.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The record written, or why not.")
class RecordPayload:
    record: Record | None = strawberry.field(description="The record written; null when refused.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")

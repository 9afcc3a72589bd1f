"""The task list filter, shared by every task connection (``Query.tasks``, ``OrgUnit.tasks``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.errors import bad_input
from resolvers.tasks import TaskQuery
from schema.enums import TaskCategory, TaskStatus
from schema.node import optional_pk


@strawberry.input(description="Narrows a task list. Every condition given must hold.")
class TaskFilter:
    org_unit_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only tasks of this unit and, by default, of the units below it. "
        "`OrgUnit.tasks` sets it to its own unit.",
    )
    include_descendants: bool = strawberry.field(
        default=True,
        description="With `orgUnitId` (or on `OrgUnit.tasks`): also the tasks of every unit "
        "below it, as `taskStats` counts them (the default); false for the unit's own tasks "
        "only.",
    )
    status: list[TaskStatus] | None = strawberry.field(
        default=None, description="Only tasks in one of these statuses (at most 7)."
    )
    category: list[TaskCategory] | None = strawberry.field(
        default=None,
        description="Only tasks in one of these categories (at most 10). A single value is "
        "read as a list of one.",
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only tasks assigned to this person."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="true: only overdue tasks; false: only tasks not overdue."
    )
    due_after: datetime | None = strawberry.field(
        default=None, description="Only tasks due at or after this time."
    )
    due_before: datetime | None = strawberry.field(
        default=None, description="Only tasks due before this time."
    )


# Every status (category) once: a longer list asks nothing more, and each entry would be a
# bound parameter of the query (half a million of them exceed what the database takes).
MAX_STATUSES = len(TaskStatus)
MAX_CATEGORIES = len(TaskCategory)


def task_query(spec: TaskFilter) -> TaskQuery:
    if spec.status is not None and len(spec.status) > MAX_STATUSES:
        raise bad_input(f"A task filter names at most {MAX_STATUSES} statuses.")
    if spec.category is not None and len(spec.category) > MAX_CATEGORIES:
        raise bad_input(f"A task filter names at most {MAX_CATEGORIES} categories.")
    return TaskQuery(
        org_unit_id=optional_pk(spec.org_unit_id, "OrgUnit"),
        include_descendants=spec.include_descendants,
        statuses=tuple(dict.fromkeys(spec.status or ())),
        categories=tuple(dict.fromkeys(spec.category or ())),
        assignee_id=optional_pk(spec.assignee_id, "Person"),
        overdue=spec.overdue,
        due_after=spec.due_after,
        due_before=spec.due_before,
    )

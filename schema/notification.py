"""``Notification``: a reminder or notice to the viewer's own account (the outbox's rows),
and marking them read."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models.notification import Notification as NotificationModel
from models.notification import NotificationKind
from resolvers import org as org_resolvers
from resolvers.tasks import get_task
from schema.context import ctx
from schema.enums import described
from schema.errors import UserError
from schema.node import Node, to_global_id
from schema.org import OrgUnit
from schema.task import Task

described(
    NotificationKind,
    "What a notification is about.",
    {
        "TASK_ASSIGNED": "A task was handed to you or your unit (新任务): issued, split down "
        "to it, or reassigned.",
        "TASK_URGED": "A task was pressed (督办): the issuing side pressed one you hold, with "
        "its note; or a reported task or complaint that you hold, or that was escalated to your "
        "unit from the unit below, overstayed a stage's time limit (once per stage).",
        "TASK_OVERDUE": "A task you hold passed its due date unfinished (once per due date).",
        "TASK_RETURNED": "A task came back: handed back by the unit it was issued to (to the "
        "issuing side), or a submission sent back by the issuing side (to the holder).",
        "COMPLAINT_RECEIVED": "A complaint from the public reached your unit as a task.",
        "CLEANUP_DAY": "Today is a clean-up day of the weekly schedule (the 1110 mechanism's "
        "Friday clean-ups): a reminder to organise it and file the clean-up record.",
    },
)


@strawberry.type(
    description="A reminder or notice addressed to your account. Only its recipient reads it."
)
class Notification(Node):
    kind: NotificationKind = strawberry.field(description="What it is about.")
    title: str = strawberry.field(description="One line, e.g. `新任务：…` or `督办：…`.")
    body: str = strawberry.field(description="The text, possibly empty.")
    created_at: datetime = strawberry.field(description="When it was written.")
    read_at: datetime | None = strawberry.field(
        description="When you marked it read; null while unread."
    )
    _model: strawberry.Private[NotificationModel]

    @classmethod
    def of(cls, row: NotificationModel) -> Notification:
        return cls(
            id=to_global_id("Notification", row.id),
            kind=row.kind,
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            read_at=row.read_at,
            _model=row,
        )

    @strawberry.field(
        description="The task it is about, when you may read that task (`task:read` at its "
        "unit) — a notification never shows a task you may not read; null otherwise."
    )
    async def task(self, info: Info) -> Task | None:
        return Task.maybe(await get_task(ctx(info), self._model.task_id))

    @strawberry.field(
        description="The unit it concerns (the task's unit, or the unit a clean-up day is "
        "at), when you may read that unit; null otherwise."
    )
    async def org_unit(self, info: Info) -> OrgUnit | None:
        unit_id = self._model.org_unit_id
        if unit_id is None:
            return None
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), unit_id))


@strawberry.type(description="How many notifications were marked read, or why not.")
class MarkNotificationsReadPayload:
    count: int = strawberry.field(
        description="How many of them were unread until now (0 when all already were read)."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")

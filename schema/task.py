"""``Task``: work handed down the hierarchy, and the filter every task list shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.task import Task as TaskModel
from resolvers import org as org_resolvers
from resolvers.chain import chain_above
from resolvers.complaints import complaint_of
from resolvers.loaders import batches, loaders
from resolvers.pagination import page_size
from resolvers.people import visible_person
from resolvers.quota import QuotaTask, quota_done
from resolvers.records import RecordQuery, get_record, list_records
from resolvers.task_chain import progress_loader
from resolvers.tasks import TaskQuery, get_task, list_tasks
from resolvers.water import get_water_body
from schema.audit import AuditEvent
from schema.complaint import Complaint
from schema.connection import AFTER_DESCRIPTION, FIRST_DESCRIPTION, Connection
from schema.context import ctx
from schema.enums import TaskCategory, TaskOrigin, TaskStatus
from schema.geojson import GeoJSON
from schema.node import Node, to_global_id
from schema.org import OrgUnit
from schema.people import Person
from schema.record import Record, RecordType
from schema.water import WaterBody


@strawberry.type(
    description="The days a quota's records are counted in, first and last included, in China "
    "Standard Time (UTC+8), the programmes' time zone."
)
class QuotaPeriod:
    from_: date = strawberry.field(name="from", description="The first day counted.")
    to: date = strawberry.field(description="The last day counted.")


@strawberry.type(description="A quota and how many of the records filed against the task count.")
class Quota:
    target: int = strawberry.field(description="How many records fulfil the task.")
    record_type: RecordType = strawberry.field(description="Which records count.")
    period: QuotaPeriod = strawberry.field(
        description="When the records must have happened: by default the calendar year the "
        "task was created in."
    )
    done: int = strawberry.field(
        description="How many records count: filed against the task, of the quota's type, not "
        "flagged (see `Record.flags`), inside the period, on the water of the unit holding the "
        "task (the water bodies paired with it or running through it or a unit below it, a "
        "grid's through its village; a river with its segments) or, for a record naming no "
        "water body other than a patrol, filed at that unit or below it; a correction counts "
        "in place of the record it corrects. The same number for everyone who reads the task: "
        "the records themselves stay hidden from whoever may not read them. `VERIFY` is "
        "refused until `done` reaches `target`."
    )


@strawberry.type(description="A task issued by one unit to another, possibly split into subtasks.")
class Task(Node):
    title: str = strawberry.field(description="What is to be done, in a line.")
    description: str = strawberry.field(description="The details, possibly empty.")
    status: TaskStatus = strawberry.field(description="Where the task is in its workflow.")
    category: TaskCategory = strawberry.field(
        description="Which of the six actions, or patrol, clean-up, key project, other."
    )
    due_at: datetime | None = strawberry.field(description="The deadline, if there is one.")
    version: int = strawberry.field(description="Increases on every change (optimistic locking).")
    created_at: datetime = strawberry.field(description="When the task was issued.")
    origin: TaskOrigin = strawberry.field(
        description="Handed down (ISSUED), reported up from the unit below (REPORTED), or "
        "raised by a complaint (COMPLAINT)."
    )
    feedback: str | None = strawberry.field(
        description="What the unit that closed the task answered (反馈): given when it was "
        "verified or cancelled; always there for a closed REPORTED task. Its reporter reads it."
    )
    location: GeoJSON | None = strawberry.field(
        description="Where the reported problem is, if the reporter said."
    )
    evidence_ids: list[strawberry.ID] = strawberry.field(
        description="The IDs of the uploaded evidence the reporter attached, as given."
    )
    _model: strawberry.Private[TaskModel]

    @classmethod
    def of(cls, task: TaskModel) -> Task:
        return cls(
            id=to_global_id("Task", task.id),
            title=task.title,
            description=task.description,
            status=task.status,
            category=task.category,
            due_at=task.due_at,
            version=task.version,
            created_at=task.created_at,
            origin=task.origin,
            feedback=task.feedback,
            location=GeoJSON(task.location) if task.location else None,
            evidence_ids=[strawberry.ID(e) for e in task.evidence_ids or []],
            _model=task,
        )

    @classmethod
    def maybe(cls, task: TaskModel | None) -> Task | None:
        return cls.of(task) if task is not None else None

    @strawberry.field(description="Due date passed and the task is neither verified nor cancelled.")
    def overdue(self) -> bool:
        return self._model.is_overdue(datetime.now(UTC))

    @strawberry.field(description="The unit the task is assigned to.")
    async def org_unit(self, info: Info) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), self._model.org_unit_id))

    @strawberry.field(description="The unit that issued the task (the side that verifies it).")
    async def issuer(self, info: Info) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), self._model.issuer_unit_id))

    @strawberry.field(description="The person the task is assigned to, if any.")
    async def assignee(self, info: Info) -> Person | None:
        if self._model.assignee_id is None:
            return None
        found = await loaders(ctx(info)).person.load(self._model.assignee_id)
        return Person.maybe(await visible_person(ctx(info), found))

    @strawberry.field(description="The task this one was split from.")
    async def parent(self, info: Info) -> Task | None:
        return Task.maybe(await get_task(ctx(info), self._model.parent_id))

    @strawberry.field(
        description="Who reported the task (REPORTED): their person, null where you may not "
        "read that person (the ordinary personal-data rules apply)."
    )
    async def reporter(self, info: Info) -> Person | None:
        if self._model.reporter_id is None:
            return None
        found = await loaders(ctx(info)).person.load(self._model.reporter_id)
        return Person.maybe(await visible_person(ctx(info), found))

    @strawberry.field(
        description="The patrol or finding the issue was reported from, if you may read it."
    )
    async def reported_from(self, info: Info) -> Record | None:
        return Record.maybe(await get_record(ctx(info), self._model.source_record_id))

    @strawberry.field(description="The water body the reported problem is at, if you may read it.")
    async def water_body(self, info: Info) -> WaterBody | None:
        return WaterBody.maybe(await get_water_body(ctx(info), self._model.water_body_id))

    @strawberry.field(
        description="The complaint from the public this task was raised by (COMPLAINT); null "
        "for any other task."
    )
    async def complaint(self, info: Info) -> Complaint | None:
        found = await complaint_of(ctx(info), self._model)
        return Complaint.of(found, self._model) if found is not None else None

    @strawberry.field(
        description="For a hand-over (`escalateTask` HAND_OVER): the task the unit below asked "
        "the level above to take over, if you may read it."
    )
    async def hand_over_of(self, info: Info) -> Task | None:
        return Task.maybe(await get_task(ctx(info), self._model.hand_over_of_id))

    @strawberry.field(
        description="The chain of tasks this one was split from, its parent first: each "
        "one's title, issuing unit's name, due date and status, which whoever reads this task "
        "reads, and the task itself only where your scope reaches it (`task`). The rest of the "
        "units above stays closed."
    )
    async def chain_above(self, info: Info) -> list[TaskContext]:
        links = await chain_above(ctx(info), self._model)
        return [
            TaskContext(
                title=link.title,
                issuer_name=link.issuer_name,
                due_at=link.due_at,
                status=link.status,
                task=Task.maybe(link.task),
            )
            for link in links
        ]

    @strawberry.field(description="The tasks this one was split into.")
    async def subtasks(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> Connection[Task]:
        context = ctx(info)
        if after is None:
            page_size(first)
            page = await batches(context).subtasks.load((self._model.id, first))
        else:
            page = await list_tasks(
                context, TaskQuery(parent_id=self._model.id), first=first, after=after
            )
        return Connection.of(page, [Task.of(t) for t in page.rows])

    @strawberry.field(
        description="Every change to the task, oldest first: assignments, transitions, urges, "
        "replies and escalations, with who made them. Units, people, tasks and records you may "
        "not read are not named (see `AuditEvent`)."
    )
    async def history(self, info: Info) -> list[AuditEvent]:
        context = ctx(info)
        events = await batches(context).task_histories.load(self._model.id)
        return await AuditEvent.shown(context, events)

    @strawberry.field(
        description="How far the task has got over its whole chain of subtasks, from 0 to 1: "
        "1 once verified; otherwise the mean of its parts, which are its subtasks that are not "
        "cancelled (each by its own progress, or 1 if verified and 0 if not where it has "
        "nothing to count) and, for a quota task, its quota (`done` over `target`, at most 1). "
        "Null where there is nothing to count (no subtask left and no quota). Every "
        "descendant counts, whether or not you may read it: the figure is the same for "
        "everyone who reads the task, while `subtasks` lists only the ones you may read."
    )
    async def progress(self, info: Info) -> float | None:
        return await progress_loader(ctx(info)).load(self._model.id)

    @strawberry.field(description="The quota, for a task fulfilled by a number of records.")
    async def quota(self, info: Info) -> Quota | None:
        found = QuotaTask.of(self._model)
        if found is None:
            return None
        return Quota(
            target=found.target,
            record_type=found.record_type,
            period=QuotaPeriod(from_=found.start, to=found.end),
            done=await quota_done(ctx(info)).load(found),
        )

    @strawberry.field(description="Records filed against this task, newest first.")
    async def records(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> Connection[Record]:
        context = ctx(info)
        if after is None:
            page_size(first)
            page = await batches(context).task_records.load((self._model.id, first))
        else:
            page = await list_records(
                context, RecordQuery(task_id=self._model.id), first=first, after=after
            )
        return Connection.of(page, [Record.of(r) for r in page.rows])


@strawberry.type(
    description="A task above yours in its chain, as its holders below may know it: what it "
    "is, who issued it, when it is due and where it stands."
)
class TaskContext:
    title: str = strawberry.field(description="The task's title.")
    issuer_name: str = strawberry.field(description="The name of the unit that issued it.")
    due_at: datetime | None = strawberry.field(description="Its deadline, if it has one.")
    status: TaskStatus = strawberry.field(description="Where it is in its workflow.")
    task: Task | None = strawberry.field(
        description="The task itself, where your scope reaches its unit; null otherwise."
    )

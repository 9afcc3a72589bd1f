"""The write side of the graph. Each mutation returns its object and ``errors``."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, TypeVar

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core import task_events
from core.errors import DomainError, ErrorCode
from policies.authority import RECORD_SENTENCE
from policies.engine import Role
from policies.guard import guard, open_to_anyone, signed_in
from policies.rights import (
    GRANT_GRANT,
    INDICATOR_REPORT,
    RECORD_CREATE_RIGHTS,
    TASK_ASSIGN,
    TASK_CREATE,
    TASK_DECOMPOSE,
    TASK_HAND_OVER,
    TASK_MANAGE,
    TASK_REPORT,
)
from resolvers import accounts, grants, task_commands
from resolvers.complaints import submit_complaint
from resolvers.decomposition import decompose_task
from resolvers.escalation import escalate_task
from resolvers.evidence import upload_evidence
from resolvers.handover import EscalationMode, hand_over
from resolvers.inbox import mark_read
from resolvers.observations import NewObservation, report_observation
from resolvers.records import NewRecord, create_record
from resolvers.reporting import report_issue
from resolvers.workflow import TRANSITION_RIGHTS, TRANSITION_SENTENCE
from schema.complaint import SubmitComplaintInput, SubmitComplaintPayload
from schema.context import ctx
from schema.errors import UserError
from schema.evidence import Evidence, UploadEvidencePayload, chunks_of
from schema.indicator import Observation, ReportObservationInput, ReportObservationPayload
from schema.node import optional_pk, pk_of
from schema.notification import MarkNotificationsReadPayload
from schema.people import RoleGrant
from schema.record import CreateRecordInput, Record
from schema.reporting import EscalateTaskPayload, ReportIssueInput
from schema.task import Task
from schema.task_inputs import (
    AssignTaskInput,
    CreateTaskInput,
    DecomposeTaskInput,
    DecomposeTaskPayload,
    EscalateTaskInput,
    RecordPayload,
    TaskPayload,
    TransitionTaskInput,
)

T = TypeVar("T")
ESCALATE_SENTENCE = (
    f"Requires, by mode: PRESS {TASK_MANAGE.sentence}; HAND_OVER {TASK_HAND_OVER.sentence}."
)
UPLOAD_SENTENCE = "Requires the right to file some kind of record (`record.<type>:create`)."
# A mutation's one argument: ``input: Input[CreateTaskInput]``.
Input = Annotated[T, strawberry.argument(description="What to do; see the input type.")]


async def attempt(info: Info, work: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's work; a domain error becomes the payload's ``errors``, except
    ``FORBIDDEN``, which refuses the whole operation as a top-level error (README, Errors):
    the work's transaction has rolled back either way.

    Live updates it announced go out only once the work has returned (committed).
    """
    context = ctx(info)
    try:
        done = await work
    except DomainError as error:
        task_events.discard(context)
        if error.code is ErrorCode.FORBIDDEN:
            raise
        return None, [UserError.of(error)]
    except BaseException:
        task_events.discard(context)
        raise
    task_events.release(context)
    return done, []


@strawberry.type(description="A bearer token on success, or why the login failed.")
class LoginPayload:
    token: str | None = strawberry.field(
        description="Send it as `Authorization: Bearer <token>`; null on failure."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="Who gets which role, at which unit (covering its subtree).")
class GrantRoleInput:
    user_id: strawberry.ID = strawberry.field(
        description="The account: one in your scope (its person at a unit where you read "
        "people, a grant at a unit in your scope, or a new account placed nowhere yet). Any "
        "other account is `NOT_FOUND`, as is an id of no account."
    )
    role: Role = strawberry.field(description="The role to grant or revoke.")
    org_unit_id: strawberry.ID = strawberry.field(description="The unit at which the role applies.")


@strawberry.type(description="The grant made or removed, or why not.")
class RoleGrantPayload:
    grant: RoleGrant | None = strawberry.field(description="The grant made or removed.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


def _grant_args(input: GrantRoleInput) -> tuple[int, str, int]:
    user, unit = pk_of(input.user_id, "User") or -1, pk_of(input.org_unit_id, "OrgUnit") or -1
    return user, input.role.value, unit


@strawberry.type(
    description="The write side of the graph. Each mutation returns its object and `errors` "
    "(validation and workflow problems, and NOT_FOUND for what you cannot see); an operation "
    "you may not perform is refused as a whole with a top-level FORBIDDEN error, and nothing "
    "is written."
)
class Mutation:
    @strawberry.mutation(
        extensions=open_to_anyone(), description="Exchange a password for a token."
    )
    async def login(
        self,
        info: Info,
        username: Annotated[str, strawberry.argument(description="The account's login name.")],
        password: Annotated[str, strawberry.argument(description="Its password.")],
    ) -> LoginPayload:
        token, errors = await attempt(info, accounts.login(ctx(info), username, password))
        return LoginPayload(token=token, errors=errors)

    @strawberry.mutation(
        extensions=guard(GRANT_GRANT),
        description="Grant a role at a unit: only inside your scope, only to an account in "
        "your scope and only rights you hold.",
    )
    async def grant_role(self, info: Info, input: Input[GrantRoleInput]) -> RoleGrantPayload:
        row, errors = await attempt(info, grants.grant_role(ctx(info), *_grant_args(input)))
        return RoleGrantPayload(grant=RoleGrant.of(row) if row else None, errors=errors)

    @strawberry.mutation(
        extensions=guard(GRANT_GRANT),
        description="Revoke a role at a unit, under the same rules as granting it.",
    )
    async def revoke_role(self, info: Info, input: Input[GrantRoleInput]) -> RoleGrantPayload:
        row, errors = await attempt(info, grants.revoke_role(ctx(info), *_grant_args(input)))
        return RoleGrantPayload(grant=RoleGrant.of(row) if row else None, errors=errors)

    @strawberry.mutation(
        extensions=guard(TASK_CREATE),
        description="Hand a task to a unit in your scope; it starts ASSIGNED.",
    )
    async def create_task(self, info: Info, input: Input[CreateTaskInput]) -> TaskPayload:
        task, errors = await attempt(info, task_commands.create_task(ctx(info), input.to_domain()))
        return TaskPayload(task=Task.maybe(task), errors=errors)

    @strawberry.mutation(
        extensions=guard(TASK_ASSIGN),
        description="Reassign a task to another unit below its issuer, or to a person. A task "
        "moves only with its open subtasks: while one of them sits outside the new unit's "
        "subtree the move is refused (INVALID_TRANSITION on `orgUnitId`; close or move the "
        "subtask first), and a subtask stays at or below its parent task's unit (VALIDATION).",
    )
    async def assign_task(self, info: Info, input: Input[AssignTaskInput]) -> TaskPayload:
        task, errors = await attempt(
            info,
            task_commands.assign_task(
                ctx(info),
                optional_pk(input.task_id, "Task") or -1,
                optional_pk(input.org_unit_id, "OrgUnit"),
                optional_pk(input.assignee_id, "Person"),
                input.expected_version,
            ),
        )
        return TaskPayload(task=Task.maybe(task), errors=errors)

    @strawberry.mutation(
        extensions=guard(*TRANSITION_RIGHTS, sentence=TRANSITION_SENTENCE),
        description="Move a task through its workflow. Only the issuing side verifies, and "
        "nobody verifies what they submitted.",
    )
    async def transition_task(self, info: Info, input: Input[TransitionTaskInput]) -> TaskPayload:
        task, errors = await attempt(
            info,
            task_commands.transition_task(
                ctx(info),
                optional_pk(input.task_id, "Task") or -1,
                input.action,
                input.note,
                input.expected_version,
                input.feedback,
            ),
        )
        return TaskPayload(task=Task.maybe(task), errors=errors)

    @strawberry.mutation(
        extensions=guard(TASK_DECOMPOSE),
        description="Split a task into subtasks for units below it, all or none.",
    )
    async def decompose_task(
        self, info: Info, input: Input[DecomposeTaskInput]
    ) -> DecomposeTaskPayload:
        created, errors = await attempt(
            info,
            decompose_task(
                ctx(info),
                optional_pk(input.task_id, "Task") or -1,
                [part.to_domain() for part in input.parts],
                input.expected_version,
            ),
        )
        return DecomposeTaskPayload(subtasks=[Task.of(t) for t in created or []], errors=errors)

    @strawberry.mutation(
        extensions=guard(TASK_MANAGE, TASK_HAND_OVER, sentence=ESCALATE_SENTENCE),
        description="PRESS: press an overdue task (督办): writes an ESCALATION record against "
        "the responsible unit. HAND_OVER: the holding side asks the level above to take the "
        "task over: a REPORTED task for the unit above the task's unit (`handOver`, linked by "
        "`handOverOf`), with an ESCALATION record; one open hand-over per task.",
    )
    async def escalate_task(
        self, info: Info, input: Input[EscalateTaskInput]
    ) -> EscalateTaskPayload:
        task_id = optional_pk(input.task_id, "Task") or -1
        if input.mode is EscalationMode.HAND_OVER:
            done, errors = await attempt(info, hand_over(ctx(info), task_id, input.note))
            record, taken = done if done is not None else (None, None)
        else:
            record, errors = await attempt(info, escalate_task(ctx(info), task_id, input.note))
            taken = None
        return EscalateTaskPayload(
            record=Record.maybe(record), hand_over=Task.maybe(taken), errors=errors
        )

    @strawberry.mutation(
        extensions=guard(TASK_REPORT),
        description="Report an issue found at a unit to the unit above it (上报): a REPORTED "
        "task held and issued by that unit, ASSIGNED, with you as its `reporter`. That unit "
        "dispatches it (assignTask, decomposeTask) and closes it with `feedback`, which you "
        "read on the task; nothing else of that unit opens to you.",
    )
    async def report_issue(self, info: Info, input: Input[ReportIssueInput]) -> TaskPayload:
        task, errors = await attempt(info, report_issue(ctx(info), input.to_domain()))
        return TaskPayload(task=Task.maybe(task), errors=errors)

    @strawberry.mutation(
        extensions=open_to_anyone(),
        description="Complain about a river segment or lake (群众投诉), as anyone, with no "
        "account: it becomes a COMPLAINT task at the village (else township, else county) the "
        "water runs through, and you get a receipt to follow it with `complaintStatus`. "
        "Throttled per client address (`RIVERCHIEF_COMPLAINT_LIMIT`).",
    )
    async def submit_complaint(
        self, info: Info, input: Input[SubmitComplaintInput]
    ) -> SubmitComplaintPayload:
        receipt, errors = await attempt(info, submit_complaint(ctx(info), input.to_domain()))
        return SubmitComplaintPayload(receipt=receipt, errors=errors)

    @strawberry.mutation(
        extensions=guard(*RECORD_CREATE_RIGHTS, sentence=RECORD_SENTENCE),
        description="File an accountability record. Records are never edited: to correct one, "
        "file a new record with `correctsId`.",
    )
    async def create_record(self, info: Info, input: Input[CreateRecordInput]) -> RecordPayload:
        spec = NewRecord(
            type=input.type,
            org_unit_id=optional_pk(input.org_unit_id, "OrgUnit") or -1,
            occurred_at=input.occurred_at,
            ended_at=input.ended_at,
            summary=input.summary,
            details=input.details(),
            task_id=optional_pk(input.task_id, "Task"),
            water_body_id=optional_pk(input.water_body_id, "WaterBody"),
            corrects_id=optional_pk(input.corrects_id, "Record"),
            raise_task=input.raise_task.to_domain() if input.raise_task else None,
            track=input.track(),
            evidence_ids=input.cited(),
        )
        record, errors = await attempt(info, create_record(ctx(info), spec))
        return RecordPayload(record=Record.maybe(record), errors=errors)

    @strawberry.mutation(
        extensions=guard(*RECORD_CREATE_RIGHTS, sentence=UPLOAD_SENTENCE),
        description="Upload a photo or document as evidence, for records to cite "
        "(`evidenceIds`). Sent as a multipart request by the GraphQL multipart request spec "
        "(`operations`, `map` and the file), over HTTP only, with the bearer token. The kind "
        "is told from the bytes (JPEG, PNG, WebP or PDF); a photo's EXIF time and GPS "
        "position are read. The same bytes uploaded again by you give the same evidence.",
    )
    async def upload_evidence(
        self,
        info: Info,
        file: Annotated[
            Upload,
            strawberry.argument(
                description="The file: at most `RIVERCHIEF_EVIDENCE_MAX_BYTES` (10 MiB by default)."
            ),
        ],
    ) -> UploadEvidencePayload:
        evidence, errors = await attempt(info, upload_evidence(ctx(info), chunks_of(file)))
        return UploadEvidencePayload(evidence=Evidence.maybe(evidence), errors=errors)

    @strawberry.mutation(
        extensions=guard(INDICATOR_REPORT),
        description="Report a metric's value at a unit for a period: stored with its audit "
        "event, and rolled up at once by `indicatorRollup`. An unknown metric is NOT_FOUND; a "
        "period ending before it starts, a value out of range or a dimension the indicator "
        "does not take is VALIDATION.",
    )
    async def report_observation(
        self, info: Info, input: Input[ReportObservationInput]
    ) -> ReportObservationPayload:
        spec = NewObservation(
            metric=input.metric,
            org_unit_id=optional_pk(input.org_unit_id, "OrgUnit") or -1,
            period_start=input.period_start,
            period_end=input.period_end,
            value=input.value,
            dimension=input.dimension,
        )
        stored, errors = await attempt(info, report_observation(ctx(info), spec))
        observation = None
        if stored is not None:
            observation = Observation.of(stored.observation, stored.indicator, stored.unit)
        return ReportObservationPayload(observation=observation, errors=errors)

    @strawberry.mutation(
        extensions=signed_in(),
        description="Mark your own notifications read: those of `ids`, or every unread one "
        "with `all: true` (give one of the two). An id that is not one of your notifications "
        "is NOT_FOUND, and nothing is marked.",
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="The notifications' global IDs (at most 100)."),
        ] = None,
        all: Annotated[
            bool, strawberry.argument(description="Mark every unread notification of yours.")
        ] = False,
    ) -> MarkNotificationsReadPayload:
        pks = None if ids is None else [pk_of(i, "Notification") or -1 for i in ids]
        count, errors = await attempt(info, mark_read(ctx(info), pks, all))
        return MarkNotificationsReadPayload(count=count or 0, errors=errors)

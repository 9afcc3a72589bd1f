"""The read side of the graph. Every field carries the guard."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.errors import bad_input
from models.indicator import Indicator as IndicatorModel
from policies.guard import guard, open_to_anyone, signed_in
from policies.rights import (
    AUDIT_READ,
    GRANT_READ,
    INDICATOR_READ,
    ORG_READ,
    PERSON_READ,
    RECORD_READ,
    TASK_READ,
)
from resolvers import access as access_resolvers
from resolvers import org as org_resolvers
from resolvers import water as water_resolvers
from resolvers.assessment_ranking import assessment_ranking
from resolvers.audit_log import checkpoint_for, event_inclusion, log_consistency, public_key_of
from resolvers.audit_queries import Anchor, get_event, list_events, verify_logs
from resolvers.complaints import complaint_status
from resolvers.inbox import list_notifications
from resolvers.indicators import rollup
from resolvers.loaders import loaders
from resolvers.monthly_report import REPORT_RIGHTS, monthly_report
from resolvers.nodes import load_node
from resolvers.people import PeopleQuery, list_people
from resolvers.records import list_records
from resolvers.reporting import list_my_reports
from resolvers.tasks import get_task, list_my_tasks, list_tasks
from schema.arguments import After, At, FilterArgument, First, OrderArgument
from schema.audit import AuditChainReport, AuditEvent, AuditFilter, audit_query
from schema.audit_log import AuditCheckpoint, InclusionProof
from schema.complaint import ComplaintStatus
from schema.connection import Connection
from schema.context import ctx
from schema.enums import OrgLevel, PolicyAction, TaskOrder, WaterKind
from schema.indicator import IndicatorRollup
from schema.node import Node, from_global_id, pk_of
from schema.nodes import as_node
from schema.notification import Notification
from schema.org import OrgUnit
from schema.people import AccessHolder, Person, PersonFilter, RoleGrant, User
from schema.record import Record, RecordFilter, record_query
from schema.report import AssessmentRanking, MonthlyReport
from schema.task import Task
from schema.task_filter import TaskFilter, task_query
from schema.water import Indicator, WaterBody

UnitId = Annotated[strawberry.ID, strawberry.argument(description="The unit's global ID.")]


@strawberry.type(description="Whether a user may act, and the grant and rule that allow it.")
class AccessExplanation:
    allowed: bool = strawberry.field(description="Whether the action is allowed.")
    grant: RoleGrant | None = strawberry.field(
        description="The grant that allows it, among the user's grants at units in your scope "
        "(not the units you see only from below). Null when it is not allowed, or allowed only "
        "by a grant you may not see."
    )
    rule: str | None = strawberry.field(
        description="The permission line, as in roles.csv; null whenever `grant` is."
    )
    _basin_id: strawberry.Private[int | None] = None

    @strawberry.field(
        description="When `grant` is a basin committee's (流域大党委) and reaches the unit only "
        "through the committee's basin (the unit lies outside the committee's subtree, on a "
        "water body of the basin): that basin. Null otherwise, or when you may not read it."
    )
    async def basin(self, info: Info) -> WaterBody | None:
        if self._basin_id is None:
            return None
        return WaterBody.maybe(await water_resolvers.get_water_body(ctx(info), self._basin_id))


@strawberry.type(
    description="The read side of the graph. Objects outside your scope read as null (or are "
    "left out of lists); a field you may not use at all is a top-level FORBIDDEN error."
)
class Query:
    @strawberry.field(
        extensions=open_to_anyone(),
        description="How a complaint from the public stands, for anyone holding its receipt "
        "(no account needed): its status, the feedback once closed, when it was received and "
        "the segment's name — nothing else. Null for a receipt nobody holds.",
    )
    async def complaint_status(
        self,
        info: Info,
        receipt: Annotated[
            str, strawberry.argument(description="The receipt `submitComplaint` returned.")
        ],
    ) -> ComplaintStatus | None:
        return ComplaintStatus.maybe(await complaint_status(receipt))

    @strawberry.field(extensions=open_to_anyone(), description="The logged-in account, or null.")
    async def me(self, info: Info) -> User | None:
        viewer = ctx(info).viewer
        if viewer is None:
            return None
        if viewer.account is not None:  # read by this request's token check
            return User.of(viewer.account)
        user = await loaders(ctx(info)).user.load(viewer.id)
        return User.of(user) if user is not None else None

    @strawberry.field(
        extensions=signed_in(),
        description="Any object by its global ID, or null when it does not exist or you may not "
        "read it (each type's own read right applies).",
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="A global ID from any `id` field.")
        ],
    ) -> Node | None:
        type_name, pk = from_global_id(id)
        context = ctx(info)
        return await as_node(context, await load_node(context, type_name, pk))

    @strawberry.field(extensions=guard(ORG_READ), description="One unit, or null.")
    async def org_unit(self, info: Info, id: UnitId) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), pk_of(id, "OrgUnit")))

    @strawberry.field(
        extensions=guard(ORG_READ),
        description="The unit with this code, or null when there is none or you may not read "
        "it (as `orgUnit`).",
    )
    async def org_unit_by_code(
        self,
        info: Info,
        code: Annotated[
            str, strawberry.argument(description="The unit's code, e.g. `ZX` (`OrgUnit.code`).")
        ],
    ) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit_by_code(ctx(info), code))

    @strawberry.field(
        extensions=guard(ORG_READ),
        description="The water body with this code, or null when there is none or you may not "
        "read it (as `node`: a water body is read where a unit it runs through, or a unit "
        "paired with it, is read).",
    )
    async def water_body_by_code(
        self,
        info: Info,
        code: Annotated[
            str, strawberry.argument(description="The water body's code (`WaterBody.code`).")
        ],
    ) -> WaterBody | None:
        return WaterBody.maybe(await water_resolvers.water_body_by_code(ctx(info), code))

    @strawberry.field(
        extensions=guard(ORG_READ),
        description="The water bodies you can see, oldest first: those that run through a unit "
        "you read (the units above yours included), e.g. your village's segment and its river.",
    )
    async def water_bodies(
        self,
        info: Info,
        kind: Annotated[
            WaterKind | None, strawberry.argument(description="Only water bodies of this kind.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[WaterBody]:
        page = await water_resolvers.list_water_bodies(
            ctx(info), kind=kind, first=first, after=after
        )
        return Connection.of(page, [WaterBody.of(w) for w in page.rows])

    @strawberry.field(
        extensions=guard(PERSON_READ),
        description="The people you can see (`person:read` at their unit), oldest first. Phone "
        "and ID numbers are masked as on any person.",
    )
    async def people(
        self,
        info: Info,
        filter: Annotated[
            PersonFilter | None,
            strawberry.argument(description="Narrows the list; every condition given must hold."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Person]:
        spec = filter.query() if filter is not None else PeopleQuery()
        page = await list_people(ctx(info), spec, first=first, after=after)
        return Connection.of(page, [Person.of(p) for p in page.rows])

    @strawberry.field(extensions=guard(ORG_READ), description="Units you can see, in path order.")
    async def org_units(
        self,
        info: Info,
        level: Annotated[
            OrgLevel | None, strawberry.argument(description="Only units of this level.")
        ] = None,
        parent_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the units directly below this one."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[OrgUnit]:
        parent = (pk_of(parent_id, "OrgUnit") or -1) if parent_id is not None else None
        page = await org_resolvers.list_units(
            ctx(info), level=level, parent_id=parent, first=first, after=after
        )
        return Connection.of(page, [OrgUnit.of(u) for u in page.rows])

    @strawberry.field(extensions=guard(TASK_READ), description="One task, or null.")
    async def task(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The task's global ID.")],
    ) -> Task | None:
        return Task.maybe(await get_task(ctx(info), pk_of(id, "Task")))

    @strawberry.field(extensions=guard(TASK_READ), description="Tasks you can see, newest first.")
    async def tasks(
        self,
        info: Info,
        filter: FilterArgument = None,
        order_by: OrderArgument = TaskOrder.NEWEST,
        first: First = None,
        after: After = None,
    ) -> Connection[Task]:
        spec = task_query(filter or TaskFilter())
        page = await list_tasks(ctx(info), spec, first=first, after=after, order=order_by)
        return Connection.of(page, [Task.of(t) for t in page.rows])

    @strawberry.field(
        extensions=guard(TASK_READ),
        description="The tasks assigned to you: to the person of your account (`me.person`), "
        "among the tasks you can see, with the arguments and defaults of `tasks` (an "
        "`assigneeId` other than your person matches nothing). Empty for an account with no "
        "person.",
    )
    async def my_tasks(
        self,
        info: Info,
        filter: FilterArgument = None,
        order_by: OrderArgument = TaskOrder.NEWEST,
        first: First = None,
        after: After = None,
    ) -> Connection[Task]:
        spec = task_query(filter or TaskFilter())
        page = await list_my_tasks(ctx(info), spec, first=first, after=after, order=order_by)
        return Connection.of(page, [Task.of(t) for t in page.rows])

    @strawberry.field(
        extensions=signed_in(),
        description="The issues you reported (上报, `reportIssue`), newest first, wherever they "
        "are held now: their status, and the `feedback` they were closed with. Each reads as "
        "`task` reads it for you; nothing else of the receiving unit opens. Empty for an "
        "account that reported nothing.",
    )
    async def my_reports(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Task]:
        page = await list_my_reports(ctx(info), first=first, after=after)
        return Connection.of(page, [Task.of(t) for t in page.rows])

    @strawberry.field(
        extensions=signed_in(),
        description="Your own notifications (reminders and notices to your account), newest "
        "first. Every account reads only its own, whatever its roles; anonymous is "
        "UNAUTHENTICATED.",
    )
    async def notifications(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only those not yet marked read.")
        ] = False,
    ) -> Connection[Notification]:
        page = await list_notifications(
            ctx(info), first=first, after=after, unread_only=unread_only
        )
        return Connection.of(page, [Notification.of(n) for n in page.rows])

    @strawberry.field(
        extensions=guard(RECORD_READ),
        description="Accountability records you can see, newest first.",
    )
    async def records(
        self,
        info: Info,
        filter: Annotated[
            RecordFilter | None,
            strawberry.argument(description="Narrows the list; every condition given must hold."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Record]:
        page = await list_records(ctx(info), record_query(filter), first=first, after=after)
        return Connection.of(page, [Record.of(r) for r in page.rows])

    @strawberry.field(
        extensions=guard(AUDIT_READ),
        description="The audit trail of the units you oversee, newest first.",
    )
    async def audit_events(
        self,
        info: Info,
        filter: Annotated[
            AuditFilter | None,
            strawberry.argument(description="Narrows the trail; every condition given must hold."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[AuditEvent]:
        page = await list_events(ctx(info), audit_query(filter), first=first, after=after)
        return Connection.of(page, await AuditEvent.shown(ctx(info), page.rows))

    @strawberry.field(
        extensions=guard(AUDIT_READ),
        description="Recompute the audit log of `orgUnitId`'s jurisdiction (a county, "
        "Yangzonghai) — or, without it, of every jurisdiction whose log you may read — from its "
        "stored events, and report the first break: a missing, inserted, reordered or edited "
        "event, a tree node that does not recompute, or a root that no longer matches a "
        "checkpoint issued before. `checkpoint`: a note from `auditCheckpoint` written down "
        "earlier (with `orgUnitId`), which the log must still agree with. With an anchor (a "
        "`headSeq` and `headHash` recorded earlier), also check that the log still passes "
        "through it. Needs `audit:read` at the jurisdiction's top unit.",
    )
    async def verify_audit_chain(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="A unit of the jurisdiction to check; every one you may read "
                "when omitted."
            ),
        ] = None,
        checkpoint: Annotated[
            str | None,
            strawberry.argument(
                description="A signed note from `auditCheckpoint`, which the log must still "
                "agree with."
            ),
        ] = None,
        anchor_seq: Annotated[
            int | None,
            strawberry.argument(description="An anchor's `headSeq`, given with `anchorHash`."),
        ] = None,
        anchor_hash: Annotated[
            str | None,
            strawberry.argument(description="An anchor's `headHash`, given with `anchorSeq`."),
        ] = None,
    ) -> AuditChainReport:
        if (anchor_seq is None) != (anchor_hash is None):
            raise bad_input("Give both anchorSeq and anchorHash, or neither.")
        anchor = None
        if anchor_seq is not None and anchor_hash is not None:
            anchor = Anchor(anchor_seq, anchor_hash)
        unit = (pk_of(org_unit_id, "OrgUnit") or -1) if org_unit_id is not None else None
        report = await verify_logs(ctx(info), unit, note=checkpoint, anchor=anchor)
        return AuditChainReport.of(report)

    @strawberry.field(
        extensions=guard(AUDIT_READ),
        description="The signed checkpoint of the audit log of `orgUnitId`'s jurisdiction at "
        "its current size (issued now if none was at that size), or null when you may not read "
        "that log. Needs `audit:read` at the jurisdiction's top unit.",
    )
    async def audit_checkpoint(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID, strawberry.argument(description="A unit of the jurisdiction.")
        ],
    ) -> AuditCheckpoint | None:
        row = await checkpoint_for(ctx(info), pk_of(org_unit_id, "OrgUnit"))
        return AuditCheckpoint.of(row) if row is not None else None

    @strawberry.field(
        extensions=guard(AUDIT_READ),
        description="The Ed25519 public key that signs audit checkpoints now: base64 of the raw "
        "32 bytes. Its key name in notes is `riverchief-audit-` and the first 8 hex digits of "
        "its SHA-256.",
    )
    def audit_public_key(self, info: Info) -> str:
        return public_key_of(ctx(info))

    @strawberry.field(
        extensions=guard(AUDIT_READ),
        description="The proof that an audit event is in its log at `treeSize` (default: the "
        "log's current size; take it from a checkpoint), or null when you may not read that "
        "log.",
    )
    async def audit_inclusion_proof(
        self,
        info: Info,
        event_id: Annotated[
            strawberry.ID, strawberry.argument(description="The audit event's global ID.")
        ],
        tree_size: Annotated[
            int | None,
            strawberry.argument(
                description="The log size to prove it at (a checkpoint's `treeSize`); now if "
                "omitted."
            ),
        ] = None,
    ) -> InclusionProof | None:
        seq = pk_of(event_id, "AuditEvent")
        event = await get_event(ctx(info), seq) if seq is not None else None
        proof = await event_inclusion(ctx(info), event, tree_size)
        return InclusionProof.of(proof) if proof is not None else None

    @strawberry.field(
        extensions=guard(AUDIT_READ),
        description="The proof that the audit log of `orgUnitId`'s jurisdiction at size `to` "
        "extends the log at size `from` (RFC 9162 §2.1.4), hex, at most about 2·log2(to) "
        "hashes. Needs `audit:read` at the jurisdiction's top unit.",
    )
    async def audit_consistency_proof(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID, strawberry.argument(description="A unit of the jurisdiction.")
        ],
        from_: Annotated[int, strawberry.argument(name="from", description="The older tree size.")],
        to: Annotated[
            int, strawberry.argument(description="The newer tree size, at most the log's size now.")
        ],
    ) -> list[str]:
        unit = pk_of(org_unit_id, "OrgUnit")
        return await log_consistency(ctx(info), unit, from_, to)

    @strawberry.field(
        extensions=guard(INDICATOR_READ),
        description="The metric catalogue: what `indicatorRollup` can roll up.",
    )
    async def indicators(self) -> list[Indicator]:
        return [Indicator.of(row) for row in await IndicatorModel.all().order_by("code")]

    @strawberry.field(
        extensions=guard(INDICATOR_READ),
        description="A metric over a unit's subtree (within your scope), by dimension and child.",
    )
    async def indicator_rollup(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID, strawberry.argument(description="The unit whose subtree is rolled up.")
        ],
        metric: Annotated[
            str,
            strawberry.argument(
                description="The indicator's code (`Indicator.code`, listed by `indicators`), e.g. "
                "`fish_fry_released`. The catalogue is data, so the code is a string."
            ),
        ],
        since: Annotated[
            date | None, strawberry.argument(name="from", description="First period included.")
        ] = None,
        until: Annotated[
            date | None, strawberry.argument(name="to", description="Last period included.")
        ] = None,
    ) -> IndicatorRollup | None:
        context = ctx(info)
        unit = await org_resolvers.get_unit(context, pk_of(org_unit_id, "OrgUnit"))
        if unit is None:
            return None
        return IndicatorRollup.of(await rollup(context, unit, metric, since, until))

    @strawberry.field(
        extensions=guard(
            *REPORT_RIGHTS, sentence="Requires `task:read` and `record:read` at the unit."
        ),
        description="A unit's month (月报) by child unit, each section counted within your "
        "scope: patrols against patrol quotas, tasks closed and overdue, complaints received "
        "and closed in time, rewards and penalties, and the totals. A unit you may not read is "
        "NOT_FOUND; a malformed month, or one not begun yet, is VALIDATION. The same report is "
        "`GET /reports/monthly.xlsx?orgUnitId=…&month=YYYY-MM`.",
    )
    async def monthly_report(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID, strawberry.argument(description="The unit whose children are rows.")
        ],
        month: Annotated[
            str,
            strawberry.argument(description="The month, `YYYY-MM` (China Standard Time)."),
        ],
    ) -> MonthlyReport:
        unit = pk_of(org_unit_id, "OrgUnit")
        return MonthlyReport.of(await monthly_report(ctx(info), unit, month))

    @strawberry.field(
        extensions=guard(RECORD_READ, sentence="Requires `record:read` at the unit."),
        description="The villages below a unit ranked by their six-goods (六个好) assessment in "
        "a period, within your scope. A unit you may not read is NOT_FOUND; a malformed period "
        "is VALIDATION.",
    )
    async def assessment_ranking(
        self,
        info: Info,
        org_unit_id: Annotated[
            strawberry.ID, strawberry.argument(description="The unit whose villages are ranked.")
        ],
        period: Annotated[
            str,
            strawberry.argument(
                description="A year `YYYY`, a quarter `YYYY-Qn` (n 1 to 4) or a month "
                "`YYYY-MM`, China Standard Time."
            ),
        ],
    ) -> AssessmentRanking:
        unit = pk_of(org_unit_id, "OrgUnit")
        return AssessmentRanking.of(await assessment_ranking(ctx(info), unit, period))

    @strawberry.field(
        extensions=guard(GRANT_READ),
        description="Whether a user may do `action` on `resource` at a unit, and why. Null "
        "when the unit or the user is not found: a user outside your scope (whose person is "
        "not at a unit where you read people, who holds no grant at a unit in your scope and "
        "is not a new account placed nowhere yet) reads as not found.",
    )
    async def explain_access(
        self,
        info: Info,
        user_id: Annotated[
            strawberry.ID, strawberry.argument(description="The account asked about.")
        ],
        resource: Annotated[
            str,
            strawberry.argument(
                description="The resource, as the role policy names it: org, person, "
                "person_pii, task, record, record.patrol, record.cleanup, record.pledge, "
                "record.assessment, record.reward, record.penalty, record.finding, indicator, "
                "audit or grant (a string: `record.patrol` is not a GraphQL name)."
            ),
        ],
        action: Annotated[PolicyAction, strawberry.argument(description="The action on it.")],
        org_unit_id: Annotated[
            strawberry.ID, strawberry.argument(description="The unit at which it is asked.")
        ],
        at: At = None,
    ) -> AccessExplanation | None:
        found = await access_resolvers.explain_access(
            ctx(info),
            pk_of(user_id, "User"),
            resource,
            action.value,
            pk_of(org_unit_id, "OrgUnit"),
            at,
        )
        if found is None:
            return None
        return AccessExplanation(
            allowed=found.allowed,
            grant=RoleGrant.of(found.grant) if found.grant is not None else None,
            rule=found.rule,
            _basin_id=found.basin_id,
        )

    @strawberry.field(
        extensions=guard(
            GRANT_READ,
            sentence="Requires `grant:read`; the object is read with its own read right.",
        ),
        description="Who held the right `action` (`<resource>:<action>`, e.g. `task:verify`) on "
        "an object (a task, an org unit or a record) at a moment: each grant in force then that "
        "allowed it, decided at the unit the right is checked at (a task's issuing unit for "
        "`task:verify`, `task:update` and `task:assign`, its own unit otherwise), by account "
        "name. Only grants at units in your scope are listed. An object you may not read is "
        "NOT_FOUND.",
    )
    async def access_holders(
        self,
        info: Info,
        object_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="A task's, an org unit's or a record's global ID."),
        ],
        action: Annotated[
            str,
            strawberry.argument(
                description="The right as `<resource>:<action>` (e.g. `task:verify`): a "
                "resource and a `PolicyAction` of the role policy, as `explainAccess` takes "
                "them. Anything else is VALIDATION."
            ),
        ],
        at: At = None,
    ) -> list[AccessHolder]:
        type_name, pk = from_global_id(object_id)
        rows = await access_resolvers.access_holders(ctx(info), type_name, pk, action, at)
        return [AccessHolder.of(row) for row in rows]

"""The read side of the graph. Every field carries the guard."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from core.errors import DomainError
from models.indicator import Indicator as IndicatorModel
from models.people import User as UserModel
from policies.guard import Anyone, Can, LoggedIn, guard, holds_anywhere
from resolvers import org as org_resolvers
from resolvers.audit_queries import Anchor, get_event, list_events, usernames, verify_chain
from resolvers.explain import explain
from resolvers.indicators import rollup
from resolvers.loaders import loaders
from resolvers.people import visible_person
from resolvers.records import get_record, list_records
from resolvers.tasks import TaskQuery, get_task, list_tasks
from schema.audit import AuditChainReport, AuditEvent, AuditFilter, audit_query
from schema.connection import AFTER_DESCRIPTION, FIRST_DESCRIPTION, Connection
from schema.context import ctx
from schema.enums import OrgLevel
from schema.indicator import IndicatorRollup
from schema.node import Node, from_global_id, pk_of
from schema.org import OrgUnit
from schema.people import Person, RoleGrant, User
from schema.record import Record, RecordFilter, record_query
from schema.task import Task, TaskFilter, TaskOrder, task_query
from schema.water import Indicator, WaterBody

First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]


@strawberry.type(description="Whether a user may act, and the grant and rule that allow it.")
class AccessExplanation:
    allowed: bool = strawberry.field(description="Whether the action is allowed.")
    grant: RoleGrant | None = strawberry.field(description="The grant that allows it, if one does.")
    rule: str | None = strawberry.field(description="The permission line, as in roles.csv.")


@strawberry.type
class Query:
    @strawberry.field(extensions=guard(Anyone()), description="The logged-in account, or null.")
    async def me(self, info: Info) -> User | None:
        viewer = ctx(info).viewer
        if viewer is None:
            return None
        user = await loaders(ctx(info)).user.load(viewer.id)
        return User.of(user) if user is not None else None

    @strawberry.field(extensions=guard(LoggedIn()), description="Any object by its global ID.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = from_global_id(id)
        context = ctx(info)
        if type_name == "OrgUnit":
            return OrgUnit.maybe(await org_resolvers.get_unit(context, pk))
        if type_name == "Task":
            return Task.maybe(await get_task(context, pk))
        if type_name == "AuditEvent":
            event = await get_event(context, pk)
            return AuditEvent.of(event, await usernames([event])) if event else None
        if type_name == "WaterBody" and holds_anywhere(context, ("org", "read")):
            return WaterBody.maybe(await loaders(context).water_body.load(pk))
        if type_name == "Indicator" and holds_anywhere(context, ("indicator", "read")):
            metric = await IndicatorModel.get_or_none(id=pk)
            return Indicator.of(metric) if metric else None
        if type_name == "Record":
            return Record.maybe(await get_record(context, pk))
        if type_name == "Person":
            return Person.maybe(
                await visible_person(context, await loaders(context).person.load(pk))
            )
        if type_name == "User" and context.viewer is not None and pk == context.viewer.id:
            user = await loaders(context).user.load(pk)
            return User.of(user) if user is not None else None
        return None

    @strawberry.field(extensions=guard(Can("org", "read")), description="One unit, or null.")
    async def org_unit(self, info: Info, id: strawberry.ID) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), pk_of(id, "OrgUnit")))

    @strawberry.field(
        extensions=guard(Can("org", "read")), description="Units you can see, in path order."
    )
    async def org_units(
        self,
        info: Info,
        level: OrgLevel | None = None,
        parent_id: strawberry.ID | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[OrgUnit]:
        parent = (pk_of(parent_id, "OrgUnit") or -1) if parent_id is not None else None
        page = await org_resolvers.list_units(
            ctx(info), level=level, parent_id=parent, first=first, after=after
        )
        return Connection.of(page, [OrgUnit.of(u) for u in page.rows])

    @strawberry.field(extensions=guard(Can("task", "read")), description="One task, or null.")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        return Task.maybe(await get_task(ctx(info), pk_of(id, "Task")))

    @strawberry.field(
        extensions=guard(Can("task", "read")), description="Tasks you can see, newest first."
    )
    async def tasks(
        self,
        info: Info,
        filter: TaskFilter | None = None,
        order_by: Annotated[
            TaskOrder, strawberry.argument(description="NEWEST when omitted.")
        ] = TaskOrder.NEWEST,
        first: First = None,
        after: After = None,
    ) -> Connection[Task]:
        spec = task_query(filter) if filter is not None else TaskQuery()
        page = await list_tasks(ctx(info), spec, first=first, after=after, order=order_by)
        return Connection.of(page, [Task.of(t) for t in page.rows])

    @strawberry.field(
        extensions=guard(Can("record", "read")),
        description="Accountability records you can see, newest first.",
    )
    async def records(
        self,
        info: Info,
        filter: RecordFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Record]:
        page = await list_records(ctx(info), record_query(filter), first=first, after=after)
        return Connection.of(page, [Record.of(r) for r in page.rows])

    @strawberry.field(
        extensions=guard(Can("audit", "read")),
        description="The audit trail of the units you oversee, newest first.",
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[AuditEvent]:
        page = await list_events(ctx(info), audit_query(filter), first=first, after=after)
        names = await usernames(page.rows)
        return Connection.of(page, [AuditEvent.of(e, names) for e in page.rows])

    @strawberry.field(
        extensions=guard(Can("audit", "read")),
        description="Recompute every stored audit event (their seqs must run 1..n) and report "
        "the first break. With "
        "an anchor (a `headSeq` and `headHash` recorded earlier), also check that the chain "
        "still passes through it: events removed from the end show up there.",
    )
    async def verify_audit_chain(
        self, anchor_seq: int | None = None, anchor_hash: str | None = None
    ) -> AuditChainReport:
        if (anchor_seq is None) != (anchor_hash is None):
            raise GraphQLError(
                "Give both anchorSeq and anchorHash, or neither.",
                extensions={"code": "VALIDATION"},
            )
        anchor = None
        if anchor_seq is not None and anchor_hash is not None:
            anchor = Anchor(anchor_seq, anchor_hash)
        return AuditChainReport.of(await verify_chain(anchor))

    @strawberry.field(
        extensions=guard(Can("indicator", "read")),
        description="The metric catalogue: what `indicatorRollup` can roll up.",
    )
    async def indicators(self) -> list[Indicator]:
        return [Indicator.of(row) for row in await IndicatorModel.all().order_by("code")]

    @strawberry.field(
        extensions=guard(Can("indicator", "read")),
        description="A metric over a unit's subtree (within your scope), by dimension and child.",
    )
    async def indicator_rollup(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        metric: str,
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
        try:
            found = await rollup(context, unit, metric, since, until)
        except DomainError as error:
            raise GraphQLError(error.message, extensions={"code": error.code.value}) from None
        return IndicatorRollup.of(found)

    @strawberry.field(
        extensions=guard(Can("grant", "read")),
        description="Whether a user may do `action` on `resource` at a unit, and why.",
    )
    async def explain_access(
        self,
        info: Info,
        user_id: strawberry.ID,
        resource: str,
        action: str,
        org_unit_id: strawberry.ID,
    ) -> AccessExplanation | None:
        context = ctx(info)
        unit = await org_resolvers.get_unit(context, pk_of(org_unit_id, "OrgUnit"))
        user_pk = pk_of(user_id, "User")
        if unit is None or user_pk is None or not await UserModel.exists(id=user_pk):
            return None
        found = explain(context.policy, user_pk, resource, action, unit)
        grant_unit = None
        if found.grant is not None:
            grant_unit = await org_resolvers.get_unit_by_path(context, found.grant.prefix)
        return AccessExplanation(
            allowed=found.allowed,
            grant=RoleGrant(role=found.grant.role, org_unit=OrgUnit.of(grant_unit))
            if found.grant is not None and grant_unit is not None
            else None,
            rule=found.rule,
        )

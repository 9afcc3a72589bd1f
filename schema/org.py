"""``OrgUnit``: a unit of the party-committee hierarchy."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.types import Info

from models.org import OrgUnit as OrgUnitModel
from resolvers import org as org_resolvers
from resolvers.loaders import batches
from resolvers.pagination import page_size
from resolvers.tasks import list_tasks
from resolvers.water import unit_links
from schema.arguments import After, FilterArgument, First, OrderArgument
from schema.connection import Connection
from schema.context import ctx
from schema.enums import OrgLevel, TaskOrder, TaskStatus
from schema.geojson import GeoJSON
from schema.lazy import link_type, task_type
from schema.node import Node, to_global_id
from schema.task_filter import TaskFilter, task_query

if TYPE_CHECKING:
    from schema.links import OrgLink
    from schema.task import Task


@strawberry.type(description="How many tasks of one status.")
class StatusCount:
    status: TaskStatus = strawberry.field(description="The status counted.")
    count: int = strawberry.field(description="How many tasks have it.")


@strawberry.type(description="Task counts for a unit's whole subtree, within the viewer's scope.")
class TaskStats:
    total: int = strawberry.field(description="Tasks in the subtree that you can see.")
    overdue: int = strawberry.field(description="Of those, past due and not closed.")
    by_status: list[StatusCount] = strawberry.field(
        description="Counts per status, in workflow order; statuses with none are left out."
    )


@strawberry.type(
    description="A party organisation or administrative unit: county, township, "
    "village, grid, county department or enterprise."
)
class OrgUnit(Node):
    code: str = strawberry.field(description="A stable code, unique across the system.")
    name: str = strawberry.field(description="The unit's name, e.g. 扎西镇.")
    level: OrgLevel = strawberry.field(description="Where the unit sits in the hierarchy.")
    path: str = strawberry.field(description="The ids from the root down to this unit.")
    geometry: GeoJSON | None = strawberry.field(
        description="Where the unit lies (its outline or seat); null where it is not known; "
        "illustrative in the demo."
    )
    _model: strawberry.Private[OrgUnitModel]

    @classmethod
    def of(cls, unit: OrgUnitModel) -> OrgUnit:
        return cls(
            id=to_global_id("OrgUnit", unit.id),
            code=unit.code,
            name=unit.name,
            level=unit.level,
            path=unit.path,
            geometry=cast("GeoJSON | None", unit.geometry),
            _model=unit,
        )

    @classmethod
    def maybe(cls, unit: OrgUnitModel | None) -> OrgUnit | None:
        return cls.of(unit) if unit is not None else None

    @strawberry.field(description="The unit above, or null at a root or outside your scope.")
    async def parent(self, info: Info) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), self._model.parent_id))

    @strawberry.field(description="The units directly below, in path order.")
    async def children(
        self,
        info: Info,
        first: First = None,
        after: After = None,
    ) -> Connection[OrgUnit]:
        context = ctx(info)
        if after is None:
            page_size(first)  # a bad `first` fails here, not for the whole batch
            page = await batches(context).child_units.load((self._model.id, first))
        else:
            page = await org_resolvers.list_units(
                context, level=None, parent_id=self._model.id, first=first, after=after
            )
        return Connection.of(page, [OrgUnit.of(u) for u in page.rows])

    @strawberry.field(
        description="The tasks of this unit's subtree you can see, as root `tasks` lists them "
        "with `filter.orgUnitId` set to this unit: the same arguments and defaults, so "
        "`tasks(filter: {overdue: true}).totalCount` equals `taskStats.overdue`. "
        "`includeDescendants: false` keeps the unit's own tasks only."
    )
    async def tasks(
        self,
        info: Info,
        filter: FilterArgument = None,
        order_by: OrderArgument = TaskOrder.NEWEST,
        first: First = None,
        after: After = None,
    ) -> Connection[Annotated[Task, strawberry.lazy("schema.task")]]:
        base = task_query(filter or TaskFilter())
        spec = replace(base, org_unit_id=self._model.id)
        page = await list_tasks(ctx(info), spec, first=first, after=after, order=order_by)
        return Connection.of(page, [task_type().of(t) for t in page.rows])

    @strawberry.field(
        description="Task counts over this unit's subtree: what `tasks` lists, by status."
    )
    async def task_stats(self, info: Info) -> TaskStats:
        by_status, overdue = await batches(ctx(info)).task_stats.load(
            (self._model.id, self._model.path)
        )
        return TaskStats(
            total=sum(by_status.values()),
            overdue=overdue,
            by_status=[
                StatusCount(status=s, count=by_status[s]) for s in TaskStatus if s in by_status
            ],
        )

    @strawberry.field(
        description="This unit's pairings (支部联建, 挂钩联系, an enterprise's responsibility "
        "segment), oldest first. Each partner and water body reads as null where you may not "
        "read it."
    )
    async def links(self, info: Info) -> list[Annotated[OrgLink, strawberry.lazy("schema.links")]]:
        rows = await unit_links(ctx(info)).load(self._model.id)
        return [link_type().of(link) for link in rows]

"""Water bodies and pairings, read through the one scope filter.

A water body belongs to the units it runs through (``water_body_unit``) and to the units
paired with it (``OrgLink``): a viewer reads it where they read (``org:read``, the units
above their grant included) any of those units. A county's administrator reads its rivers
and segments, a grid leader those of its village, township and county, a department the
segments it is paired with, an enterprise chief its responsibility segment; nobody reads
another county's, and a water body that runs through no unit and is paired with none is
read by nobody.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from core.context import RequestContext
from models.enums import WaterKind
from models.org import CODE_LENGTH, OrgLink, OrgUnit, WaterBody
from policies.rights import ORG_READ
from policies.scope import scope
from resolvers.dataloader import DataLoader
from resolvers.org import PATH_ORDER
from resolvers.pagination import Page, paginate


def readable_water_bodies(context: RequestContext) -> QuerySet[WaterBody]:
    """Every water body the viewer reads: one that runs through a unit they read, or one a
    unit they read is paired with (a department's river, an enterprise's responsibility
    segment, which its patrols name)."""
    through = scope(
        WaterBody.all(), context, ORG_READ, path_field="units__path", level_field="units__level"
    )
    paired = scope(
        OrgLink.filter(water_body_id__isnull=False),
        context,
        ORG_READ,
        path_field="unit__path",
        level_field="unit__level",
    )
    return WaterBody.filter(
        Q(id__in=Subquery(through.values("id")))
        | Q(id__in=Subquery(paired.values("water_body_id")))
    )


async def get_water_body(context: RequestContext, pk: int | None) -> WaterBody | None:
    """One water body, or None when there is none or the viewer may not read it."""
    if pk is None:
        return None
    return await readable_water_bodies(context).get_or_none(id=pk)


async def water_body_by_code(context: RequestContext, code: str) -> WaterBody | None:
    if len(code) > CODE_LENGTH:  # no water body has it (and the ORM refuses to look)
        return None
    return await readable_water_bodies(context).get_or_none(code=code)


async def list_water_bodies(
    context: RequestContext, *, kind: WaterKind | None, first: int | None, after: str | None
) -> Page[WaterBody]:
    query = readable_water_bodies(context)
    if kind is not None:
        query = query.filter(kind=kind)
    return await paginate(query, first=first, after=after)


async def units_of_water_body(
    context: RequestContext, body_id: int, *, first: int | None, after: str | None
) -> Page[OrgUnit]:
    """The units a water body runs through that the viewer reads, in path order."""
    query = scope(
        OrgUnit.filter(water_bodies__id=body_id),
        context,
        ORG_READ,
        path_field="path",
        level_field="level",
    )
    return await paginate(query, first=first, after=after, order=PATH_ORDER)


class UnitLinks(DataLoader[int, list[OrgLink]]):
    """The request's pairings by unit, one statement per level of a query."""


def unit_links(context: RequestContext) -> DataLoader[int, list[OrgLink]]:
    """A unit's pairings (``OrgLink``), oldest first. Whoever reads the unit reads them; the
    partner unit and the water body each stay under their own read rule."""

    async def load(unit_ids: Sequence[int]) -> list[list[OrgLink]]:
        found: dict[int, list[OrgLink]] = defaultdict(list)
        for link in await OrgLink.filter(unit_id__in=list(set(unit_ids))).order_by("id"):
            found[link.unit_id].append(link)
        return [found.get(unit_id, []) for unit_id in unit_ids]

    return context.memo.get(UnitLinks, lambda: UnitLinks(load_fn=load))

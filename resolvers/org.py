"""Reading the hierarchy, always through the viewer's scope."""

from __future__ import annotations

from core.context import RequestContext
from models.enums import OrgLevel
from models.org import CODE_LENGTH, OrgUnit
from policies.rights import ORG_READ
from policies.scope import scope, scope_for
from resolvers.loaders import loaders
from resolvers.pagination import OrderKey, Page, paginate

PATH_ORDER = OrderKey(field="path", kind=str)


def visible(context: RequestContext, unit: OrgUnit | None) -> OrgUnit | None:
    """``unit`` if the viewer may read it, else None (out of scope reads as not found)."""
    if unit is None:
        return None
    return unit if scope_for(context, ORG_READ).allows(unit.path, unit.level.value) else None


async def get_unit(context: RequestContext, unit_id: int | None) -> OrgUnit | None:
    if unit_id is None:
        return None
    return visible(context, await loaders(context).unit.load(unit_id))


async def list_units(
    context: RequestContext,
    *,
    level: OrgLevel | None,
    parent_id: int | None,
    first: int | None,
    after: str | None,
) -> Page[OrgUnit]:
    query = scope(OrgUnit.all(), context, ORG_READ, path_field="path", level_field="level")
    if level is not None:
        query = query.filter(level=level)
    if parent_id is not None:
        query = query.filter(parent_id=parent_id)
    return await paginate(query, first=first, after=after, order=PATH_ORDER)


async def get_unit_by_code(context: RequestContext, code: str) -> OrgUnit | None:
    """The unit with this code, if the viewer may read it: a hidden unit reads as missing."""
    if len(code) > CODE_LENGTH:  # no unit has it (and the ORM refuses to look)
        return None
    return visible(context, await OrgUnit.get_or_none(code=code))


async def get_unit_by_path(context: RequestContext, path: str) -> OrgUnit | None:
    return visible(context, await OrgUnit.get_or_none(path=path))

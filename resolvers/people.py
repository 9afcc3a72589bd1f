"""People, listed through the one scope filter, with personal data masked outside the
viewer's management scope."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import RequestContext
from models.org import OrgUnit
from models.paths import upper_bound
from models.people import Person
from policies.rights import PERSON_PII_READ, PERSON_READ
from policies.scope import scope, scope_for
from resolvers.loaders import loaders
from resolvers.org import get_unit
from resolvers.pagination import Page, paginate


async def _unit_of(context: RequestContext, person: Person) -> OrgUnit | None:
    return await loaders(context).unit.load(person.org_unit_id)


async def visible_person(context: RequestContext, person: Person | None) -> Person | None:
    if person is None:
        return None
    unit = await _unit_of(context, person)
    if unit is None or not scope_for(context, PERSON_READ).allows(unit.path, unit.level.value):
        return None
    return person


async def may_see_pii(context: RequestContext, person: Person) -> bool:
    unit = await _unit_of(context, person)
    return unit is not None and scope_for(context, PERSON_PII_READ).allows(
        unit.path, unit.level.value
    )


def mask(value: str, keep_start: int, keep_end: int) -> str:
    """``13812345678`` → ``138****5678``: enough to recognise, not enough to use."""
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


@dataclass(frozen=True)
class PeopleQuery:
    """What ``people`` narrows by; every condition given must hold."""

    org_unit_id: int | None = None  # the unit's subtree (or the unit alone)
    include_descendants: bool = True
    party_member: bool | None = None


async def list_people(
    context: RequestContext, spec: PeopleQuery, *, first: int | None, after: str | None
) -> Page[Person]:
    """The people the viewer reads (``person:read`` at their unit), oldest first. A unit the
    viewer may not read narrows to nothing, as if it did not exist."""
    query = scope(Person.all(), context, PERSON_READ)
    if spec.org_unit_id is not None:
        unit = await get_unit(context, spec.org_unit_id)
        if unit is None:
            query = query.filter(pk__in=[])
        elif spec.include_descendants:
            query = query.filter(
                org_unit__path__gte=unit.path, org_unit__path__lt=upper_bound(unit.path)
            )
        else:
            query = query.filter(org_unit_id=unit.id)
    if spec.party_member is not None:
        query = query.filter(party_member=spec.party_member)
    return await paginate(query, first=first, after=after)

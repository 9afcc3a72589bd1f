"""People, with personal data masked outside the viewer's management scope."""

from __future__ import annotations

from core.context import RequestContext
from models.org import OrgUnit
from models.people import Person
from policies.rights import PERSON_PII_READ, PERSON_READ
from policies.scope import scope_for
from resolvers.loaders import loaders


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

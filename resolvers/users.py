"""Accounts as a viewer may know of them: one rule for every field that takes a user id.

An account outside the viewer's scope reads exactly like one that does not exist, so that a
user id never tells whether an account exists elsewhere (``explainAccess`` answers null,
``grantRole`` and ``revokeRole`` ``NOT_FOUND`` on ``userId``, with the same message).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.context import RequestContext
from core.policy import Grant
from models.org import OrgUnit
from models.people import User
from policies.rights import ORG_READ, PERSON_READ
from policies.scope import scope_for
from resolvers.dataloader import DataLoader
from resolvers.loaders import loaders

NO_SUCH_USER = "No such user."


async def _units_at(paths: Sequence[str]) -> list[OrgUnit | None]:
    units = {u.path: u for u in await OrgUnit.filter(path__in=list(set(paths)))}
    return [units.get(path) for path in paths]


class UnitsByPath(DataLoader[str, OrgUnit | None]):
    """The units grants are held at, looked up once per level of a query: the actors of a
    page of audit events cost one statement, not one each."""

    def __init__(self) -> None:
        super().__init__(load_fn=_units_at)


async def user_in_scope(context: RequestContext, user_id: int | None) -> User | None:
    """The account, if it exists and is in the viewer's scope; ``None`` otherwise, alike.

    In scope: the viewer's own account; an account whose person belongs to a unit where the
    viewer reads people (``person:read``); one holding a grant at a unit of the viewer's scope
    (``grants_in_scope``); and one not yet placed anywhere (no person and no grant: a new
    account, which any granter may place).
    """
    if user_id is None or context.viewer is None:
        return None
    user = await loaders(context).user.load(user_id)
    if user is None:
        return None
    if user.id == context.viewer.id:
        return user
    person = None
    if user.person_id is not None:
        person = await loaders(context).person.load(user.person_id)
    grants = context.policy.grants_of(f"user:{user.id}")
    if person is None and not grants:
        return user
    if person is not None:
        unit = await loaders(context).unit.load(person.org_unit_id)
        people = scope_for(context, PERSON_READ)
        if unit is not None and people.allows(unit.path, unit.level.value):
            return user
    return user if await grants_in_scope(context, grants) else None


async def grants_in_scope(context: RequestContext, grants: list[Grant]) -> list[Grant]:
    """Those of ``grants`` held at units of the viewer's scope (``org:read``), not counting
    the units the viewer sees only from below: a village secretary knows its county, not who
    holds which role there."""
    if not grants:
        return []
    units = await context.memo.get(UnitsByPath, UnitsByPath).load_many([g.prefix for g in grants])
    reach = scope_for(context, ORG_READ)
    return [
        g
        for g, unit in zip(grants, units, strict=True)
        if unit is not None and reach.reaches(unit.path, unit.level.value)
    ]

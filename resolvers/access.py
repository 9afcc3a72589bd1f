"""Who held a right on an object at a moment, and why an account may act: decided with the
role policy and the grants of that moment (``policies.history``), shown within the viewer's
scope.

The object must be one the viewer may read now (otherwise ``NOT_FOUND``, as for any object
asked for by id); the grants shown are those at units of the viewer's scope
(``resolvers.users.grants_in_scope``: the rule that decides which accounts a viewer may ask
about), as ``explainAccess`` names only such grants.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.policy import Grant, Policy
from models.org import OrgUnit
from models.people import User
from policies.engine import ACTIONS, RESOURCES
from policies.explain import explain
from policies.guard import Site
from policies.history import Holding, holdings_of, policy_at
from policies.rights import Right, policy_right, right_named
from resolvers.grants import RoleGrantRow
from resolvers.loaders import loaders
from resolvers.org import get_unit, get_unit_by_path
from resolvers.records import get_record
from resolvers.tasks import get_task
from resolvers.users import grants_in_scope, user_in_scope

NO_SUCH_OBJECT = "No such object."
BAD_RIGHT = "Name the right as <resource>:<action>, e.g. task:verify."
RIGHT_NAME = re.compile(r"[a-z][a-z_.]{0,63}")
SiteLoader = Callable[[RequestContext, int], Awaitable[Site | None]]


@dataclass(frozen=True)
class HolderRow:
    user: User
    unit: OrgUnit
    holding: Holding


@dataclass(frozen=True)
class ExplainRow:
    allowed: bool
    grant: RoleGrantRow | None
    rule: str | None
    basin_id: int | None = None  # a basin committee's grant: the basin that reaches the unit


def parse_right(text: str) -> Right:
    """``<resource>:<action>`` (``task:verify``), checked at the unit the catalogue says."""
    resource, colon, action = text.partition(":")
    if not colon or not RIGHT_NAME.fullmatch(resource) or not RIGHT_NAME.fullmatch(action):
        raise DomainError(ErrorCode.VALIDATION, BAD_RIGHT, "action")
    if resource not in RESOURCES or action not in ACTIONS:
        raise DomainError(ErrorCode.VALIDATION, f"No right {text!r} in the role policy.", "action")
    return right_named(resource, action)


async def _task_site(context: RequestContext, pk: int) -> Site | None:
    task = await get_task(context, pk)
    if task is None:
        return None
    unit = await loaders(context).unit.load(task.org_unit_id)
    issuer = await loaders(context).unit.load(task.issuer_unit_id)
    return Site(unit, issuer) if unit is not None else None


async def _unit_site(context: RequestContext, pk: int) -> Site | None:
    unit = await get_unit(context, pk)
    return Site(unit) if unit is not None else None


async def _record_site(context: RequestContext, pk: int) -> Site | None:
    record = await get_record(context, pk)
    if record is None:
        return None
    unit = await loaders(context).unit.load(record.org_unit_id)
    return Site(unit) if unit is not None else None


# The objects a right is asked about, by the type name their global IDs carry.
SITES: dict[str, SiteLoader] = {
    "Task": _task_site,
    "OrgUnit": _unit_site,
    "Record": _record_site,
}


async def site_of(context: RequestContext, type_name: str, pk: int) -> Site:
    """Where the object sits, if the viewer may read it; ``NOT_FOUND`` otherwise."""
    load = SITES.get(type_name)
    if load is None:
        raise DomainError(
            ErrorCode.VALIDATION, "Ask about a task, an org unit or a record.", "objectId"
        )
    site = await load(context, pk)
    if site is None:
        raise DomainError(ErrorCode.NOT_FOUND, NO_SUCH_OBJECT, "objectId")
    return site


async def access_holders(
    context: RequestContext, type_name: str, pk: int, action: str, at: datetime | None
) -> list[HolderRow]:
    """Each grant in force at ``at`` (now when None) that allowed the right on the object, at
    units of the viewer's scope: by account name, then grant time."""
    right = parse_right(action)
    unit = (await site_of(context, type_name, pk)).unit_for(right)
    state = await policy_at(at)
    found = await state.holders(right, unit)
    shown = set(await grants_in_scope(context, [h.grant for h in found]))
    held = [h for h in found if h.grant in shown]
    users = {u.id: u for u in await User.filter(id__in={h.user_id for h in held})}
    units = {u.path: u for u in await OrgUnit.filter(path__in={h.path for h in held})}
    rows = [HolderRow(users[h.user_id], units[h.path], h) for h in held if h.user_id in users]
    return sorted(rows, key=lambda r: (r.user.username, r.holding.granted_at, r.holding.id))


async def explain_access(
    context: RequestContext,
    user_id: int | None,
    resource: str,
    action: str,
    unit_id: int | None,
    at: datetime | None,
) -> ExplainRow | None:
    """Whether the account may do ``action`` on ``resource`` at the unit (at the moment
    ``at``, now when None), and the grant and rule that allow it among its grants at units of
    the viewer's scope. None when the unit or the account is not found."""
    if resource not in RESOURCES:
        raise DomainError(
            ErrorCode.VALIDATION, f"No resource {resource!r} in the role policy.", "resource"
        )
    unit = await get_unit(context, unit_id)
    user = await user_in_scope(context, user_id)
    if unit is None or user is None:
        return None
    engine: Policy
    if at is None:
        engine = context.policy
        held = await holdings_of(user.id)
    else:
        state = await policy_at(at)
        own = [h for h in state.holdings if h.user_id == user.id]
        engine = await state.engine([h.grant for h in own])
        held = {(h.role, h.path): h for h in own}
    shown = await grants_in_scope(context, engine.grants_of(f"user:{user.id}"))
    found = explain(engine, user.id, policy_right(resource, action), unit, shown.__contains__)
    grant = await _grant_row(context, found.grant, held)
    basin = found.basin if grant is not None else None
    return ExplainRow(found.allowed, grant, found.rule if grant is not None else None, basin)


async def _grant_row(
    context: RequestContext, grant: Grant | None, held: dict[tuple[str, str], Holding]
) -> RoleGrantRow | None:
    if grant is None:
        return None
    unit = await get_unit_by_path(context, grant.prefix)
    if unit is None:
        return None
    return RoleGrantRow(grant.role, unit, held.get((grant.role, grant.prefix)))

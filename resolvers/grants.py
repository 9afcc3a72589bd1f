"""Granting and revoking roles: never beyond the granter's own scope or rights.

Each grant and revocation changes the ``g`` row, the grant's history (``grant_history``, at
the time of its audit event) and the audit trail in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from core.policy import Grant
from models.enums import AuditAction, AuditEntity, OrgLevel
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from policies.bootstrap import FIRST_GRANT_ONLY, first_grant_allowed
from policies.engine import ALL_LEVELS, ROLES, through_pairings
from policies.guard import AtLevel, Site, allowed, log_denial, require
from policies.history import Holding, holding_of, holdings_of
from policies.rights import GRANT_GRANT, policy_right
from policies.store import record_grant, record_revoke
from resolvers.audit import append_event
from resolvers.org import get_unit
from resolvers.users import NO_SUCH_USER, user_in_scope


@dataclass(frozen=True)
class RoleGrantRow:
    role: str
    unit: OrgUnit
    holding: Holding | None = None  # its history; None for a grant loaded without one


async def grants_of_user(context: RequestContext, user_id: int) -> list[RoleGrantRow]:
    """The roles an account holds, at units the viewer may see."""
    rows = []
    held = await holdings_of(user_id)
    for grant in context.policy.grants_of(f"user:{user_id}"):
        unit = await OrgUnit.get_or_none(path=grant.prefix)
        visible_unit = await get_unit(context, unit.id) if unit else None
        if visible_unit is not None:
            history = held.get((grant.role, grant.prefix))
            rows.append(RoleGrantRow(grant.role, visible_unit, history))
    return rows


async def authorize_grant(
    context: RequestContext, user_id: int, role: str, unit_id: int
) -> tuple[User, OrgUnit]:
    """Whether the viewer may grant (or revoke) ``role`` at the unit to the account: the
    account and unit, or the ``DomainError`` that refuses it. Only accounts in the viewer's
    scope (``resolvers.users.user_in_scope``). ``riverchief policy check`` asks the same
    question of each grant's granter."""
    if role not in ROLES:
        raise DomainError(ErrorCode.VALIDATION, f"Unknown role {role!r}.", "role")
    unit = await get_unit(context, unit_id)
    if unit is None:
        log_denial(context, GRANT_GRANT, f"unit:{unit_id}")
        raise DomainError(ErrorCode.NOT_FOUND, "No such org unit.", "orgUnitId")
    # Outside the viewer's scope reads as missing (resolvers.users): no oracle of accounts.
    user = await user_in_scope(context, user_id)
    if user is None:
        raise DomainError(ErrorCode.NOT_FOUND, NO_SUCH_USER, "userId")
    if context.viewer is not None and user.id == context.viewer.id:
        log_denial(context, GRANT_GRANT, unit.path)
        raise DomainError(
            ErrorCode.FORBIDDEN, "Nobody grants or revokes their own roles.", "userId"
        )
    require(context, GRANT_GRANT, Site(unit), field="orgUnitId")
    _require_rights_of(context, role, unit)
    await _require_reach(context, role, unit)
    return user, unit


async def _require_reach(context: RequestContext, role: str, unit: OrgUnit) -> None:
    """A role held at ``unit`` also reaches the units it is paired with (OrgLink), with the
    rights that pass through pairings, and at a basin committee the units its basin runs
    through, with every right: the granter must govern those units too and hold those rights
    there, or the grant would reach past them."""
    covered = set(context.policy.covers(unit.path))
    beyond = [p for p in context.policy.reach(unit.path) if not p.startswith(unit.path)]
    if not beyond:
        return
    for partner in await OrgUnit.filter(path__in=beyond).order_by("path"):
        if not allowed(context, GRANT_GRANT, partner):
            log_denial(context, GRANT_GRANT, partner.path)
            raise DomainError(
                ErrorCode.FORBIDDEN,
                "This unit is paired with units outside your scope: a role here would reach them.",
                "orgUnitId",
            )
        _require_rights_of(context, role, partner, paired_only=partner.path not in covered)


def _require_rights_of(
    context: RequestContext, role: str, unit: OrgUnit, *, paired_only: bool = False
) -> None:
    """No escalation: the granter must itself hold, at ``unit``, every right of ``role``
    (those that pass through pairings only, at a partner)."""
    for level, resource, action in context.policy.permissions_of_role(role):
        if paired_only and not through_pairings(resource, action):
            continue
        levels = [lvl.value for lvl in OrgLevel] if level == ALL_LEVELS else [level]
        for lvl in levels:
            right = policy_right(resource, action)
            if not allowed(context, right, AtLevel(unit.path, lvl)):
                log_denial(context, right, unit.path)
                raise DomainError(
                    ErrorCode.FORBIDDEN,
                    f"{role} may {action} {resource}, which you may not do here.",
                    "role",
                )


async def grant_role(
    context: RequestContext, user_id: int, role: str, unit_id: int
) -> RoleGrantRow:
    user, unit = await authorize_grant(context, user_id, role, unit_id)
    return await _write_grant(context, user, role, unit)


async def bootstrap_grant(
    context: RequestContext, username: str, role: str, code: str
) -> RoleGrantRow:
    """The first grant of a new installation, by the operator, acting as nobody
    (``policies.bootstrap``): refused once any account holds any role."""
    if role not in ROLES:
        raise DomainError(ErrorCode.VALIDATION, f"Unknown role {role!r}.", "role")
    user = await User.get_or_none(username=username)
    if user is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No account named {username!r}.", "username")
    unit = await OrgUnit.get_or_none(code=code)
    if unit is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No org unit has the code {code!r}.", "unitCode")
    return await _write_grant(context, user, role, unit, first=True)


async def _write_grant(
    context: RequestContext, user: User, role: str, unit: OrgUnit, *, first: bool = False
) -> RoleGrantRow:
    grant = Grant(f"user:{user.id}", role, unit.path)
    async with in_transaction() as conn:
        if first and not await first_grant_allowed(conn):
            raise DomainError(ErrorCode.FORBIDDEN, FIRST_GRANT_ONLY, "role")
        _, created = await CasbinRule.get_or_create(
            ptype="g", v0=grant.subject, v1=role, v2=grant.domain, using_db=conn
        )
        if not created:
            raise DomainError(ErrorCode.CONFLICT, "That role is already granted there.", "role")
        await context.policy.announce_change(conn)
        event = await append_event(
            conn,
            context,
            action=AuditAction.ROLE_GRANT,
            entity_type=AuditEntity.USER,
            entity_id=user.id,
            org_path=unit.path,
            after={"user_id": user.id, "role": role, "unit": unit.path}
            | ({"bootstrap": True} if first else {}),
        )
        held = await record_grant(
            conn, user_id=user.id, role=role, unit=unit, at=event.at, by=event.actor_id
        )
    await context.policy.apply_grant(grant)
    return RoleGrantRow(role, unit, holding_of(held))


async def revoke_role(
    context: RequestContext, user_id: int, role: str, unit_id: int
) -> RoleGrantRow:
    user, unit = await authorize_grant(context, user_id, role, unit_id)
    grant = Grant(f"user:{user.id}", role, unit.path)
    async with in_transaction() as conn:
        deleted = (
            await CasbinRule.filter(ptype="g", v0=grant.subject, v1=role, v2=grant.domain)
            .using_db(conn)
            .delete()
        )
        if not deleted:
            raise DomainError(ErrorCode.NOT_FOUND, "That role is not granted there.", "role")
        await context.policy.announce_change(conn)
        event = await append_event(
            conn,
            context,
            action=AuditAction.ROLE_REVOKE,
            entity_type=AuditEntity.USER,
            entity_id=user.id,
            org_path=unit.path,
            before={"user_id": user.id, "role": role, "unit": unit.path},
        )
        ended = await record_revoke(
            conn, user_id=user.id, role=role, path=unit.path, at=event.at, by=event.actor_id
        )
    await context.policy.apply_revoke(grant)
    return RoleGrantRow(role, unit, holding_of(ended) if ended is not None else None)

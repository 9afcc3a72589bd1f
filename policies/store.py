"""Writing the policy: each change to the ``casbin_rule`` rows and to their history together.

Called inside the transaction that makes the change (with its audit event, whose time the
history takes): the role policy's lines (``p``) with ``role_policy_history``, a grant's
holding with ``grant_history``. ``policies.history`` reads them back for a past moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from models.audit import AuditEvent
from models.org import OrgUnit
from models.policy import CasbinRule, GrantHistory, RolePolicyHistory

SEED_LOCK_KEY = 0x72636864  # serialises first-start seeding across processes (PostgreSQL)
GRANT_EVENTS = ("role.grant", "role.revoke")

Line = tuple[str, str, str, str]  # a permission line: role, level (or *), resource, action


async def policy_is_empty(conn: BaseDBAsyncClient) -> bool:
    """Whether no permission line exists yet; on PostgreSQL, processes starting together on
    an empty database take turns here (until the transaction ends), so one of them seeds."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [SEED_LOCK_KEY])
    return not await CasbinRule.filter(ptype="p").using_db(conn).exists()


async def lines_in_force(conn: BaseDBAsyncClient) -> set[Line]:
    rows = await CasbinRule.filter(ptype="p").using_db(conn).values_list("v0", "v1", "v2", "v3")
    return {(role, level, resource, action) for role, level, resource, action in rows}


async def add_lines(
    conn: BaseDBAsyncClient, lines: Sequence[Line], *, at: datetime, by: int | None
) -> None:
    """Put permission lines in force from ``at`` (none of them may be in force already)."""
    await CasbinRule.bulk_create(
        [
            CasbinRule(ptype="p", v0=role, v1=level, v2=resource, v3=action)
            for role, level, resource, action in lines
        ],
        using_db=conn,
    )
    await RolePolicyHistory.bulk_create(
        [
            RolePolicyHistory(
                role=role,
                level=level,
                resource=resource,
                action=action,
                added_at=at,
                added_by_id=by,
            )
            for role, level, resource, action in lines
        ],
        using_db=conn,
    )


async def remove_lines(
    conn: BaseDBAsyncClient, lines: Sequence[Line], *, at: datetime, by: int | None
) -> None:
    """End permission lines at ``at`` (each must be in force)."""
    for role, level, resource, action in lines:
        await (
            CasbinRule.filter(ptype="p", v0=role, v1=level, v2=resource, v3=action)
            .using_db(conn)
            .delete()
        )
        await (
            RolePolicyHistory.filter(
                role=role, level=level, resource=resource, action=action, removed_at=None
            )
            .using_db(conn)
            .update(removed_at=at, removed_by_id=by)
        )


async def record_grant(
    conn: BaseDBAsyncClient, *, user_id: int, role: str, unit: OrgUnit, at: datetime, by: int | None
) -> GrantHistory:
    """The holding a new grant starts (its ``g`` row written in the same transaction)."""
    return await GrantHistory.create(
        user_id=user_id,
        role=role,
        unit_id=unit.id,
        path=unit.path,
        granted_at=at,
        granted_by_id=by,
        using_db=conn,
    )


async def record_revoke(
    conn: BaseDBAsyncClient, *, user_id: int, role: str, path: str, at: datetime, by: int | None
) -> GrantHistory | None:
    """End the holding of a grant whose ``g`` row was deleted in the same transaction; None
    when no history was kept of it (a grant loaded straight into the database)."""
    held = GrantHistory.filter(user_id=user_id, role=role, path=path, revoked_at=None)
    await held.using_db(conn).update(revoked_at=at, revoked_by_id=by)
    return (
        await GrantHistory.filter(user_id=user_id, role=role, path=path, revoked_at=at)
        .using_db(conn)
        .order_by("-id")
        .first()
    )


async def adopt_untracked_grants(conn: BaseDBAsyncClient, *, at: datetime) -> int:
    """Give every ``g`` row that has no holding in force one (data loaded straight into the
    database, as the demo and the test fixtures do): granted when its ``role.grant`` audit
    event says, where the latest event about that account, role and unit is one, else at
    ``at`` by nobody. Migration 0008 applies the same rule to the grants it finds. The number
    of holdings recorded."""
    held = {
        (user_id, role, path)
        for user_id, role, path in await GrantHistory.filter(revoked_at=None)
        .using_db(conn)
        .values_list("user_id", "role", "path")
    }
    rows = await CasbinRule.filter(ptype="g").using_db(conn).order_by("id")
    untracked: list[tuple[int, str, str]] = []
    for rule in rows:
        kind, _, number = rule.v0.partition(":")
        if kind != "user" or not number.isdigit() or not rule.v2.endswith("*"):
            continue  # names no account: ``riverchief policy check`` reports it
        key = (int(number), rule.v1, rule.v2[:-1])
        if key not in held:
            untracked.append(key)
    if not untracked:
        return 0
    latest = await _latest_grant_events(conn)
    units = dict(
        await OrgUnit.filter(path__in=sorted({path for _, _, path in untracked}))
        .using_db(conn)
        .values_list("path", "id")
    )
    holdings = []
    for user_id, role, path in untracked:
        action, granted_at, granted_by = latest.get((user_id, role, path), ("", at, None))
        if action != "role.grant":
            granted_at, granted_by = at, None
        holdings.append(
            GrantHistory(
                user_id=user_id,
                role=role,
                unit_id=units.get(path),
                path=path,
                granted_at=granted_at,
                granted_by_id=granted_by,
            )
        )
    await GrantHistory.bulk_create(holdings, using_db=conn)
    return len(holdings)


async def _latest_grant_events(
    conn: BaseDBAsyncClient,
) -> dict[tuple[int, str, str], tuple[str, datetime, int | None]]:
    """The latest role.grant or role.revoke event per (account id, role, unit path)."""
    latest: dict[tuple[int, str, str], tuple[str, datetime, int | None]] = {}
    events = (
        await AuditEvent.filter(action__in=GRANT_EVENTS, entity_type="user")
        .using_db(conn)
        .order_by("seq")
        .values_list("action", "at", "actor_id", "before", "after")
    )
    for action, at, actor_id, before, after in events:
        facts = after if action == "role.grant" else before
        if not isinstance(facts, dict):
            continue
        try:
            key = (int(facts["user_id"]), str(facts["role"]), str(facts["unit"]))
        except (KeyError, TypeError, ValueError):
            continue
        latest[key] = (action, at, actor_id)
    return latest

"""Who holds a right at a unit by a grant made there: the accounts a notice about the unit's
work goes to (``resolvers.outbox``).

Read from the role policy and the grants as stored, inside the caller's transaction, so a
notice follows the grants of the moment it is written and needs no policy engine (a periodic
job or a public complaint has none of its own).
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import RecordType
from models.org import OrgUnit
from models.paths import path_ids
from models.people import User
from models.policy import CasbinRule
from policies.engine import ALL_LEVELS, grant_prefix
from policies.rights import RECORD_RIGHTS, TASK_PROGRESS, Right

# Who works a unit's tasks: the holders of `task:transition` there.
RESPONSIBLE = TASK_PROGRESS
# Who a clean-up day reminds: the holders of `record.cleanup:create`.
CLEANS_UP = RECORD_RIGHTS[RecordType.CLEANUP]


async def _roles_with(conn: BaseDBAsyncClient, right: Right) -> dict[str, set[str]]:
    """Each role with a permission line for ``right``, with its levels (or ``*``)."""
    lines = (
        await CasbinRule.filter(ptype="p", v2=right.resource, v3=right.action)
        .using_db(conn)
        .values_list("v0", "v1")
    )
    roles: dict[str, set[str]] = {}
    for role, level in lines:
        roles.setdefault(role, set()).add(level)
    return roles


def _account_of(subject: str) -> int | None:
    kind, _, raw = subject.partition(":")
    return int(raw) if kind == "user" and raw.isdigit() else None


async def _active(conn: BaseDBAsyncClient, ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found = await User.filter(id__in=wanted, is_active=True).using_db(conn).values_list("id")
    return sorted(int(row[0]) for row in found)


async def responsible_accounts(conn: BaseDBAsyncClient, unit: OrgUnit) -> list[int]:
    """The active accounts granted a role that works tasks (``RESPONSIBLE``) at ``unit``; where
    none is, at the nearest unit above it that has one."""
    level = unit.level.value
    roles = [
        role
        for role, levels in (await _roles_with(conn, RESPONSIBLE)).items()
        if ALL_LEVELS in levels or level in levels
    ]
    ids = path_ids(unit.path)
    paths = ["/" + "".join(f"{i}/" for i in ids[:n]) for n in range(len(ids), 0, -1)]
    if not roles or not paths:
        return []
    grants = (
        await CasbinRule.filter(ptype="g", v1__in=roles, v2__in=[f"{p}*" for p in paths])
        .using_db(conn)
        .values_list("v0", "v2")
    )
    by_path: dict[str, list[int]] = {}
    for subject, domain in grants:
        account = _account_of(subject)
        if account is not None:
            by_path.setdefault(grant_prefix(domain), []).append(account)
    for path in paths:  # the unit itself first, then upwards
        found = await _active(conn, by_path.get(path, ()))
        if found:
            return found
    return []


async def cleanup_holders(conn: BaseDBAsyncClient, levels: Iterable[str]) -> list[tuple[int, int]]:
    """(account, unit) for every active account granted, at a unit of one of ``levels``, a
    role that files clean-ups there (``CLEANS_UP``): one unit per account, the first by id."""
    wanted = set(levels)
    roles = await _roles_with(conn, CLEANS_UP)
    if not roles or not wanted:
        return []
    grants = (
        await CasbinRule.filter(ptype="g", v1__in=sorted(roles))
        .using_db(conn)
        .values_list("v0", "v1", "v2")
    )
    paths = sorted({grant_prefix(domain) for _, _, domain in grants})
    units = {
        path: (unit_id, level)
        for unit_id, path, level in await OrgUnit.filter(path__in=paths, level__in=sorted(wanted))
        .using_db(conn)
        .values_list("id", "path", "level")
    }
    held: dict[int, int] = {}
    for subject, role, domain in grants:
        account = _account_of(subject)
        unit = units.get(grant_prefix(domain))
        if account is None or unit is None:
            continue
        unit_id, level = unit
        level_name = getattr(level, "value", level)
        if ALL_LEVELS in roles[role] or level_name in roles[role]:
            held[account] = min(held.get(account, unit_id), unit_id)
    active = set(await _active(conn, held))
    return sorted((account, unit) for account, unit in held.items() if account in active)

"""Changes to the role policy (the ``p`` lines): each one an audit event, and each line's
history (``role_policy_history``, at the event's time), so that a past decision is reproduced
with the policy of its day (``policies.history``).

The events: ``policy.add`` (``after``) and ``policy.remove`` (``before``), each holding
``{"rules": [[role, level, resource, action], …]}``; the first start's seeding is one
``policy.add`` of the shipped lines. They belong to no unit (``org_path`` is empty).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import AuditAction, AuditEntity
from policies.engine import ROLES_PATH, Permission, known_permission, read_role_policy
from policies.store import Line, add_lines, lines_in_force, policy_is_empty, remove_lines
from resolvers.audit import append_event

log = logging.getLogger("riverchief.policy")

ENTITY = AuditEntity.ROLE_POLICY


@dataclass(frozen=True)
class PolicyChange:
    added: list[Permission]
    removed: list[Permission]


async def seed_role_policy(context: RequestContext | None = None) -> bool:
    """The shipped role policy (``roles.csv``) into an empty rule table, on first start: one
    ``policy.add`` event. False, and nothing written, once any line exists."""
    async with in_transaction() as conn:
        if not await policy_is_empty(conn):
            return False
        lines = [rule.line for rule in read_role_policy()]
        await _record(conn, context, AuditAction.POLICY_ADD, lines, entity_id=ROLES_PATH.name)
    log.info("seeded the role policy from %s", ROLES_PATH.name)
    return True


async def change_role_policy(
    context: RequestContext,
    *,
    add: Sequence[Permission] = (),
    remove: Sequence[Permission] = (),
) -> PolicyChange:
    """Add and remove permission lines in one transaction (an event for each kind of change),
    then reload the policy; every server process hears of it when it commits. The operator's
    power: what may be granted at all is not a grant's to decide."""
    unknown = [rule for rule in (*add, *remove) if not known_permission(rule)]
    if unknown:
        raise DomainError(ErrorCode.VALIDATION, f"Not a permission line: {unknown[0]}.", "rules")
    async with in_transaction() as conn:
        current = await lines_in_force(conn)
        present = [rule for rule in add if rule.line in current]
        if present:
            raise DomainError(
                ErrorCode.CONFLICT, f"Already in the role policy: {_text(present[0])}.", "rules"
            )
        missing = [rule for rule in remove if rule.line not in current]
        if missing:
            raise DomainError(
                ErrorCode.NOT_FOUND, f"Not in the role policy: {_text(missing[0])}.", "rules"
            )
        if add:
            await _record(conn, context, AuditAction.POLICY_ADD, [r.line for r in add])
        if remove:
            await _record(conn, context, AuditAction.POLICY_REMOVE, [r.line for r in remove])
        await context.policy.announce_change(conn)
    await context.policy.reload()
    return PolicyChange(list(add), list(remove))


async def _record(
    conn: BaseDBAsyncClient,
    context: RequestContext | None,
    action: AuditAction,
    lines: list[Line],
    *,
    entity_id: str = "*",
) -> None:
    facts = {"rules": [list(line) for line in lines]}
    adding = action == AuditAction.POLICY_ADD
    event = await append_event(
        conn,
        context,
        action=action,
        entity_type=ENTITY,
        entity_id=entity_id,
        after=facts if adding else None,
        before=None if adding else facts,
    )
    if adding:
        await add_lines(conn, lines, at=event.at, by=event.actor_id)
    else:
        await remove_lines(conn, lines, at=event.at, by=event.actor_id)


def _text(rule: Permission) -> str:
    return f"p, {rule.role}, {rule.level}, {rule.resource}, {rule.action}"

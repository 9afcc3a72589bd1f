"""The policy of a past moment, rebuilt from its history and decided by the live engine's
own construction (``PolicyEngine``: the same ``model.conf`` and matcher functions).

A grant is in force from the instant it was granted up to, not including, the instant it was
revoked; a permission line likewise from its addition to its removal. What has no history
is taken as it is now: the pairings (``OrgLink`` rows carry no times) and the org tree (a
grant is decided at the unit path recorded when it was made, an object at its unit's path
today).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q

from core.policy import Grant
from models.policy import GrantHistory, RolePolicyHistory
from policies.adapter import RulesAdapter
from policies.engine import PolicyEngine
from policies.guard import UnitLike
from policies.rights import Right
from policies.store import Line

HOLDING_FIELDS = (
    "id",
    "user_id",
    "role",
    "path",
    "unit_id",
    "granted_at",
    "granted_by_id",
    "revoked_at",
    "revoked_by_id",
)


@dataclass(frozen=True)
class Holding:
    """One grant over its life (a ``grant_history`` row)."""

    id: int
    user_id: int
    role: str
    path: str
    unit_id: int | None
    granted_at: datetime
    granted_by_id: int | None
    revoked_at: datetime | None
    revoked_by_id: int | None

    @property
    def grant(self) -> Grant:
        return Grant(f"user:{self.user_id}", self.role, self.path)

    @property
    def alone(self) -> Grant:
        """The same grant under a subject of its own, so that ``enforce`` decides for this
        grant alone: every term of the matcher asks about one grant of the subject at a time,
        so an account is allowed exactly when one of its grants is."""
        return Grant(f"holding:{self.id}", self.role, self.path)


def _holding(row: dict[str, object]) -> Holding:
    return Holding(**{name: row[name] for name in HOLDING_FIELDS})  # type: ignore[arg-type]


def as_instant(at: datetime | None) -> datetime:
    """``at`` in UTC (stored times compare as UTC); now when omitted."""
    return datetime.now(UTC) if at is None else at.astimezone(UTC)


@dataclass(frozen=True)
class PolicyAt:
    """The permission lines and the grants in force at ``at``."""

    at: datetime
    lines: list[Line]
    holdings: list[Holding]

    async def engine(self, grants: Iterable[Grant] | None = None) -> PolicyEngine:
        """An engine deciding with these lines and ``grants`` (default: the holdings, under
        their accounts' subjects)."""
        held = grants if grants is not None else [h.grant for h in self.holdings]
        rules = [["p", *line] for line in self.lines]
        rules += [["g", g.subject, g.role, g.domain] for g in held]
        engine = PolicyEngine(RulesAdapter(rules))
        await engine.load()
        return engine

    async def holders(self, right: Right, unit: UnitLike) -> list[Holding]:
        """The holdings whose grant alone allows ``right`` at ``unit``."""
        engine = await self.engine([h.alone for h in self.holdings])
        roles = engine.roles_with(right.resource, right.action)
        level = unit.level.value if hasattr(unit.level, "value") else str(unit.level)
        return [
            h
            for h in self.holdings
            if h.role in roles  # no line of the policy names the role: nothing to ask
            and engine.enforce(h.alone.subject, unit.path, level, right.resource, right.action)
        ]


def _in_force(at: datetime, start: str, end: str) -> Q:
    """Started at or before ``at``, and not ended by then."""
    began: dict[str, Any] = {f"{start}__lte": at}
    open_: dict[str, Any] = {f"{end}__isnull": True}
    later: dict[str, Any] = {f"{end}__gt": at}
    return Q(**began) & (Q(**open_) | Q(**later))


async def policy_at(at: datetime | None) -> PolicyAt:
    """The role policy and the grants as they stood at ``at`` (now when None)."""
    at = as_instant(at)
    lines = (
        await RolePolicyHistory.filter(_in_force(at, "added_at", "removed_at"))
        .order_by("id")
        .values_list("role", "level", "resource", "action")
    )
    rows = (
        await GrantHistory.filter(_in_force(at, "granted_at", "revoked_at"))
        .order_by("id")
        .values(*HOLDING_FIELDS)
    )
    return PolicyAt(
        at=at,
        lines=[(role, level, resource, action) for role, level, resource, action in lines],
        holdings=[_holding(row) for row in rows],
    )


async def holdings_of(user_id: int, at: datetime | None = None) -> dict[tuple[str, str], Holding]:
    """The account's holdings in force at ``at`` (now when omitted), by role and unit path."""
    query = GrantHistory.filter(user_id=user_id)
    if at is None:
        query = query.filter(revoked_at=None)
    else:
        query = query.filter(_in_force(as_instant(at), "granted_at", "revoked_at"))
    rows = await query.order_by("id").values(*HOLDING_FIELDS)
    return {(h.role, h.path): h for h in map(_holding, rows)}


def holding_of(row: GrantHistory) -> Holding:
    return _holding({name: getattr(row, name) for name in HOLDING_FIELDS})

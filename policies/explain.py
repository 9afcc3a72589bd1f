"""Why a decision came out as it did: the grant and the rule that decided it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.policy import Grant, Policy
from models.org import OrgUnit
from policies.engine import ALL_LEVELS, through_pairings
from policies.rights import ORG_READ, Right


@dataclass(frozen=True)
class Explanation:
    allowed: bool
    grant: Grant | None
    rule: str | None


def explain(
    engine: Policy,
    user_id: int,
    right: Right,
    unit: OrgUnit,
    shown: Callable[[Grant], bool] = lambda grant: True,
) -> Explanation:
    """The decision, and the first grant that makes it among those ``shown`` (the ones the
    asker may see). Allowed by none of those: allowed, with no grant and no rule named."""
    resource, action = right.resource, right.action
    subject = f"user:{user_id}"
    level = unit.level.value
    allowed = engine.enforce(subject, unit.path, level, resource, action)
    if not allowed:
        return Explanation(False, None, None)
    roles = engine.roles_with(resource, action)
    paired = through_pairings(resource, action)
    for grant in engine.grants_of(subject):
        if not shown(grant):
            continue
        levels = roles.get(grant.role, frozenset())
        rule_level = ALL_LEVELS if ALL_LEVELS in levels else level if level in levels else None
        if rule_level is None:
            continue
        prefixes = engine.reach(grant.prefix) if paired else (grant.prefix,)
        covers = any(unit.path.startswith(p) for p in prefixes)
        seen_from_below = (
            (resource, action) == (ORG_READ.resource, ORG_READ.action)
            and rule_level == ALL_LEVELS
            and grant.prefix.startswith(unit.path)
        )
        if covers or seen_from_below:
            return Explanation(True, grant, f"p, {grant.role}, {rule_level}, {resource}, {action}")
    return Explanation(True, None, None)

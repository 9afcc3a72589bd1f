"""Why a decision came out as it did: the grant and the rule that decided it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.policy import Grant, Policy
from models.org import OrgUnit
from models.paths import path_ids
from policies.engine import ALL_LEVELS, through_pairings
from policies.rights import ORG_READ, Right


@dataclass(frozen=True)
class Explanation:
    allowed: bool
    grant: Grant | None
    rule: str | None
    basin: int | None = None  # the water body through which a basin committee's grant reaches


def rule_of(engine: Policy, grant: Grant, right: Right, path: str, level: str) -> str | None:
    """The permission line by which ``grant`` allows ``right`` at the unit (``path``,
    ``level``), or None: the matcher's question asked of one grant."""
    resource, action = right.resource, right.action
    levels = engine.roles_with(resource, action).get(grant.role, frozenset())
    rule_level = ALL_LEVELS if ALL_LEVELS in levels else level if level in levels else None
    if rule_level is None:
        return None
    paired = through_pairings(resource, action)
    prefixes = engine.reach(grant.prefix) if paired else engine.covers(grant.prefix)
    covers = any(path.startswith(p) for p in prefixes)
    seen_from_below = (
        (resource, action) == (ORG_READ.resource, ORG_READ.action)
        and rule_level == ALL_LEVELS
        and grant.prefix.startswith(path)
    )
    if covers or seen_from_below:
        return f"p, {grant.role}, {rule_level}, {resource}, {action}"
    return None


def deciding_grants(
    engine: Policy, subject: str, right: Right, path: str, level: str
) -> list[Grant]:
    """Every grant of ``subject`` that allows ``right`` at the unit, the lowest unit first
    (ties in path order): the grants under whose authority the subject may act there."""
    found = [g for g in engine.grants_of(subject) if rule_of(engine, g, right, path, level)]
    return sorted(found, key=lambda g: (-len(path_ids(g.prefix)), g.prefix, g.role))


def explain(
    engine: Policy,
    user_id: int,
    right: Right,
    unit: OrgUnit,
    shown: Callable[[Grant], bool] = lambda grant: True,
) -> Explanation:
    """The decision, and the first grant that makes it among those ``shown`` (the ones the
    asker may see). Allowed by none of those: allowed, with no grant and no rule named."""
    subject = f"user:{user_id}"
    level = unit.level.value
    if not engine.enforce(subject, unit.path, level, right.resource, right.action):
        return Explanation(False, None, None)
    for grant in engine.grants_of(subject):
        if not shown(grant):
            continue
        rule = rule_of(engine, grant, right, unit.path, level)
        if rule is not None:
            return Explanation(True, grant, rule, engine.basin_of(grant.prefix, unit.path))
    return Explanation(True, None, None)

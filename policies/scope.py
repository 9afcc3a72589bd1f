"""The one scope filter: a viewer's grants, turned once per request into path ranges.

The same ``Scope`` narrows SQL (``scope(query, …)``) and checks rows already loaded
(``Scope.allows``), so a list, its ``totalCount``, a nested field and a rollup can never
disagree. A property test holds it equal to ``enforce`` row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core.context import RequestContext
from core.policy import Policy
from models.paths import upper_bound
from policies.engine import ALL_LEVELS, ancestors, through_pairings
from policies.rights import ORG_READ, Right

M = TypeVar("M")


@dataclass(frozen=True)
class PathRange:
    prefix: str
    levels: frozenset[str] | None  # None: every level

    def allows(self, path: str, level: str) -> bool:
        return path.startswith(self.prefix) and (self.levels is None or level in self.levels)


@dataclass(frozen=True)
class Scope:
    ranges: tuple[PathRange, ...]
    exact_paths: frozenset[str] = frozenset()  # units seen from below (org/read only)

    @property
    def empty(self) -> bool:
        return not self.ranges and not self.exact_paths

    def allows(self, path: str, level: str) -> bool:
        return path in self.exact_paths or any(r.allows(path, level) for r in self.ranges)

    def reaches(self, path: str, level: str) -> bool:
        """``allows``, not counting the units seen only from below (a village's county)."""
        return any(r.allows(path, level) for r in self.ranges)

    def q(self, path_field: str, level_field: str | None) -> Q:
        """The SQL form: index-friendly half-open ranges, never ``LIKE``.

        Without a ``level_field`` (rows that carry only a path, like audit events), a range
        limited to some levels is left out: it could not be checked.
        """
        parts = []
        for r in self.ranges:
            if r.levels is not None and level_field is None:
                continue
            bounds: dict[str, Any] = {
                f"{path_field}__gte": r.prefix,
                f"{path_field}__lt": upper_bound(r.prefix),
            }
            condition = Q(**bounds)
            if r.levels is not None and level_field is not None:
                levels: dict[str, Any] = {f"{level_field}__in": sorted(r.levels)}
                condition &= Q(**levels)
            parts.append(condition)
        if self.exact_paths:
            exact: dict[str, Any] = {f"{path_field}__in": sorted(self.exact_paths)}
            parts.append(Q(**exact))
        return Q(*parts, join_type="OR")


class Params:
    """Numbered parameters for hand-written SQL (``$n`` on PostgreSQL, ``?n`` on SQLite), so
    the text may use them in any order."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.postgres else f"?{len(self.values)}"


def scope_sql(found: Scope, params: Params, path_column: str, level_column: str | None) -> str:
    """``Scope.q`` for hand-written SQL on hot paths; the same ranges, levels and paths
    (without a ``level_column``, the ranges limited to some levels are left out, as there)."""
    parts = []
    for r in found.ranges:
        if r.levels is not None and level_column is None:
            continue
        low, high = params(r.prefix), params(upper_bound(r.prefix))
        condition = f"({path_column} >= {low} AND {path_column} < {high}"
        if r.levels is not None and level_column is not None:
            levels = ", ".join(params(level) for level in sorted(r.levels))
            condition += f" AND {level_column} IN ({levels})"
        parts.append(condition + ")")
    if found.exact_paths:
        paths = ", ".join(params(path) for path in sorted(found.exact_paths))
        parts.append(f"{path_column} IN ({paths})")
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


def compile_scope(engine: Policy, subject: str, resource: str, action: str) -> Scope:
    if not subject:
        return Scope(ranges=())
    roles = engine.roles_with(resource, action)
    paired = through_pairings(resource, action)
    ranges: dict[tuple[str, frozenset[str] | None], PathRange] = {}
    exact: set[str] = set()
    for grant in engine.grants_of(subject):
        levels = roles.get(grant.role)
        if levels is None:
            continue
        allowed = None if ALL_LEVELS in levels else levels
        prefixes = engine.reach(grant.prefix) if paired else engine.covers(grant.prefix)
        for prefix in prefixes:
            ranges[(prefix, allowed)] = PathRange(prefix, allowed)
        if (resource, action) == (ORG_READ.resource, ORG_READ.action) and allowed is None:
            exact.update(ancestors(grant.prefix))
    return Scope(ranges=_without_nested(list(ranges.values())), exact_paths=frozenset(exact))


def _without_nested(ranges: list[PathRange]) -> tuple[PathRange, ...]:
    """Drop a range that a wider one with at least its levels already covers."""
    kept = []
    for r in ranges:
        covered = any(
            o is not r
            and r.prefix.startswith(o.prefix)
            and (o.levels is None or (r.levels is not None and r.levels <= o.levels))
            and (o.prefix != r.prefix or o.levels != r.levels)
            for o in ranges
        )
        if not covered:
            kept.append(r)
    return tuple(sorted(kept, key=lambda r: r.prefix))


class Scopes(dict[Right, Scope]):
    """The viewer's scopes compiled in one request, by right."""


def scope_for(context: RequestContext, right: Right) -> Scope:
    """Memoised per request."""
    scopes = context.memo.get(Scopes, Scopes)
    found = scopes.get(right)
    if found is None:
        subject = context.viewer.subject if context.viewer else ""
        found = scopes[right] = compile_scope(context.policy, subject, right.resource, right.action)
    return found


def scope(
    query: QuerySet[Any],
    context: RequestContext,
    right: Right,
    *,
    path_field: str = "org_unit__path",
    level_field: str | None = "org_unit__level",
) -> QuerySet[Any]:
    """Narrow ``query`` to the rows on which the viewer holds ``right``."""
    found = scope_for(context, right)
    condition = found.q(path_field, level_field)
    if not condition.children:
        return query.filter(pk__in=[])
    return query.filter(condition)

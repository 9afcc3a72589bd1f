"""``Query.orgUnits`` in path order, read as ``resolvers.org.list_units`` reads it (the units
the viewer's ``org:read`` scope holds, the ones seen from below included)."""

from __future__ import annotations

from typing import Any

from compiled.arguments import page_arguments
from compiled.objects import Render, Row, subtree_end
from compiled.pages import PageSpec
from compiled.selection import NotCompilable
from core.errors import DomainError
from policies.rights import ORG_READ
from resolvers.org import PATH_ORDER
from schema.node import pk_of


def all_units(values: dict[str, Any], r: Render) -> PageSpec:
    """``Query.orgUnits``: a ``parentId`` naming no unit (or another type) lists nothing."""
    level, parent_id = values.get("level"), values.get("parent_id")
    try:
        parent = (pk_of(parent_id, "OrgUnit") or -1) if parent_id is not None else None
    except DomainError as exc:
        raise NotCompilable("an ID the resolvers refuse") from exc

    def where(row: Row, r: Render) -> list[str]:
        found = [r.scope(ORG_READ, row.unit)]
        if level is not None:
            found.append(f"{row.alias}.level = {r.params(level.value)}")
        if parent is not None:
            found.append(f"{row.alias}.parent_id = {r.params(parent)}")
        return found

    return PageSpec("OrgUnit", where, PATH_ORDER, page_arguments(values, PATH_ORDER))


def unit_children(owner: Row, values: dict[str, Any], r: Render) -> PageSpec:
    """``OrgUnit.children``, as ``owned_by`` lists a parent's rows (batched first pages
    included), read through the path index: a unit's children lie in its subtree's range,
    where the parent's id alone has no index to read by."""

    def where(row: Row, r: Render) -> list[str]:
        return [
            r.scope(ORG_READ, row.unit),
            f"{row.alias}.path > {owner.alias}.path",
            f"{row.alias}.path < {subtree_end(owner.alias + '.path')}",
            f"{row.alias}.parent_id = {owner.alias}.id",
        ]

    return PageSpec(
        "OrgUnit",
        where,
        PATH_ORDER,
        page_arguments(values, PATH_ORDER),
        fetch_at_zero=values.get("after") is None,
    )

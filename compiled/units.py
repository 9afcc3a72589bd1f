"""``Query.orgUnits`` in path order, read as ``resolvers.org.list_units`` reads it (the units
the viewer's ``org:read`` scope holds, the ones seen from below included)."""

from __future__ import annotations

from typing import Any

from compiled.arguments import page_arguments
from compiled.objects import Render, Row
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

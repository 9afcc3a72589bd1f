"""A Relay connection's shape, planned: which of ``edges``, ``pageInfo`` and ``totalCount``
are asked for, under which keys, and the page assembled from the statement's rows.

The nodes' JSON comes from the database; each edge adds its cursor, computed from the row's
sort key exactly as ``resolvers.pagination`` encodes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from graphql import FragmentDefinitionNode, SelectionSetNode

from compiled.objects import ObjectPlan
from compiled.selection import NotCompilable, collect, merged

PAGE_INFO_FIELDS = ("hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename")


@dataclass(frozen=True)
class ConnectionPlan:
    type_name: str  # e.g. TaskConnection
    node_type: str
    # (key, name) in response order: edges, pageInfo, totalCount, __typename
    entries: tuple[tuple[str, str], ...]
    edge_entries: tuple[tuple[str, str], ...]  # cursor, node, __typename
    page_info: tuple[tuple[str, str], ...]
    node_selection: SelectionSetNode | None

    @property
    def counts(self) -> bool:
        return any(name == "totalCount" for _, name in self.entries)

    @property
    def needs_nodes(self) -> bool:
        return self.node_selection is not None

    @property
    def shows_cursors(self) -> bool:
        """Whether any cursor is written: an edge's, or the page's first or last."""
        return any(name == "cursor" for _, name in self.edge_entries) or any(
            name in ("startCursor", "endCursor") for _, name in self.page_info
        )

    @property
    def needs_rows(self) -> bool:
        return any(name in ("edges", "pageInfo") for _, name in self.entries)


@dataclass(frozen=True)
class ListPlan:
    """A root list: its connection's shape and what to build of each node."""

    connection: ConnectionPlan
    node: ObjectPlan | None


def plan_connection(
    node_type: str,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
) -> ConnectionPlan:
    type_name = f"{node_type}Connection"
    entries: list[tuple[str, str]] = []
    edge_entries: list[tuple[str, str]] = []
    page_info: list[tuple[str, str]] = []
    node_parts: list[SelectionSetNode] = []
    for entry in collect(selection_set, frozenset({type_name}), fragments):
        if entry.arguments:
            raise NotCompilable("arguments on a connection's field")
        if entry.name in ("totalCount", "__typename"):
            entries.append((entry.key, entry.name))
        elif entry.name == "pageInfo":
            for info in collect(merged(entry), frozenset({"PageInfo"}), fragments):
                if info.name not in PAGE_INFO_FIELDS or info.arguments:
                    raise NotCompilable(f"PageInfo.{info.name}")
                page_info.append((info.key, info.name))
            entries.append((entry.key, entry.name))
        elif entry.name == "edges":
            if edge_entries:
                raise NotCompilable("edges under two keys")
            for edge in collect(merged(entry), frozenset({f"{node_type}Edge"}), fragments):
                if edge.arguments or edge.name not in ("cursor", "node", "__typename"):
                    raise NotCompilable(f"Edge.{edge.name}")
                if edge.name == "node":
                    if node_parts:
                        raise NotCompilable("node under two keys")
                    node_parts.append(merged(edge))
                edge_entries.append((edge.key, edge.name))
            entries.append((entry.key, entry.name))
        else:
            raise NotCompilable(f"{type_name}.{entry.name}")
    return ConnectionPlan(
        type_name,
        node_type,
        tuple(entries),
        tuple(edge_entries),
        tuple(page_info),
        node_parts[0] if node_parts else None,
    )


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def assemble(
    plan: ConnectionPlan,
    cursors: Sequence[str],
    nodes: Sequence[str],
    has_next_page: bool,
    total: int | None,
) -> str:
    """The connection's JSON text: the nodes' JSON as the database built it. ``cursors`` may
    be blanks when the plan shows none (``shows_cursors``)."""
    edge_type = _dumps(f"{plan.node_type}Edge")
    parts = []
    for key, name in plan.entries:
        if name == "__typename":
            value = _dumps(plan.type_name)
        elif name == "totalCount":
            value = str(total)
        elif name == "pageInfo":
            value = _page_info(plan, cursors, has_next_page)
        else:
            edges = []
            for cursor, node in zip(cursors, nodes, strict=True):
                fields = []
                for edge_key, edge_name in plan.edge_entries:
                    if edge_name == "cursor":
                        shown = _dumps(cursor)
                    elif edge_name == "node":
                        shown = node
                    else:
                        shown = edge_type
                    fields.append(f'"{edge_key}":{shown}')
                edges.append("{" + ",".join(fields) + "}")
            value = "[" + ",".join(edges) + "]"
        parts.append(f'"{key}":{value}')
    return "{" + ",".join(parts) + "}"


def _page_info(plan: ConnectionPlan, cursors: Sequence[str], has_next_page: bool) -> str:
    values = {
        "hasNextPage": has_next_page,
        "hasPreviousPage": False,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
        "__typename": "PageInfo",
    }
    return "{" + ",".join(f'"{key}":{_dumps(values[name])}' for key, name in plan.page_info) + "}"

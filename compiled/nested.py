"""Connection fields of objects (``OrgUnit.children``, ``OrgUnit.tasks``, ``Task.subtasks``,
``Task.records``): each a correlated subquery of its parent's row, so the statement count
stays one per root field whatever the page sizes.

The field's arguments are read when the statement is rendered (they may be variables);
which rows it lists, in which order, comes from its ``Lister``, written after the resolver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from graphql import FieldNode

from compiled.arguments import given_only, page_arguments
from compiled.connection import ConnectionPlan, plan_connection
from compiled.objects import Entry, Fragments, ObjectPlan, Render, Row, Types, plan_object
from compiled.pages import PageSpec, page_select
from compiled.selection import Field, NotCompilable, merged
from compiled.stats import PlannedStats, RolledStats
from policies.rights import Right
from resolvers.pagination import OrderKey

# The page of one parent: from its row and the field's arguments (by Python name).
Lister = Callable[[Row, dict[str, Any], Render], PageSpec]


def plan_list(
    node_type: str, entry: Field, fragments: Fragments, types: Types, *, rolls_up: bool = False
) -> tuple[ConnectionPlan, ObjectPlan | None]:
    """A connection's shape and what to build of each node.

    Counted per row, ``taskStats`` below the nodes of a list would add up each unit's subtree
    of counters again, which measured slower than the resolvers' one grouped statement (the
    county dashboard, Q3: 111-120 against 93 ms at p50; docs/performance.md). So a list
    refuses it, but for the units a ``children`` list shows (``rolls_up``): their own
    ``taskStats`` is looked up in the statement's roll-up, which ``compiled.rollup`` adds
    when the list hangs below a root ``orgUnit`` and refuses anywhere else."""
    connection = plan_connection(node_type, merged(entry), fragments)
    node = None
    if connection.node_selection is not None:
        node = plan_object(types[node_type], connection.node_selection, fragments, types)
        if rolls_up:
            node = replace(node, entries=tuple(_rolled(e) for e in node.entries))
        elif counts_stats(node):
            raise NotCompilable("taskStats below the nodes of a list")
    return connection, node


def _rolled(entry: Entry) -> Entry:
    if isinstance(entry.nested, PlannedStats):
        return replace(entry, nested=RolledStats(entry.nested))
    return entry


def counts_stats(plan: ObjectPlan) -> bool:
    """Whether ``taskStats`` is read on the object or on one it links to."""
    return any(
        isinstance(e.nested, PlannedStats | RolledStats)
        or (e.child is not None and counts_stats(e.child))
        or (isinstance(e.nested, PlannedList) and e.nested.plan and counts_stats(e.nested.plan))
        for e in plan.entries
    )


def owned_by(type_name: str, right: Right, column: str, order: OrderKey) -> Lister:
    """The rows of ``type_name`` whose ``column`` holds the parent's id and whose unit the
    viewer holds ``right`` on, in ``order``: a connection that ``resolvers.batches`` answers
    for a level of parents at once when there is no ``after`` (its first page says
    ``hasNextPage`` even for ``first: 0``) and ``paginate`` otherwise."""

    def lister(owner: Row, values: dict[str, Any], r: Render) -> PageSpec:
        return PageSpec(
            type_name,
            lambda row, r: [r.scope(right, row.unit), f"{row.alias}.{column} = {owner.alias}.id"],
            order,
            page_arguments(values, order),
            fetch_at_zero=values.get("after") is None,
        )

    return lister


@dataclass(frozen=True)
class ListField:
    """A connection field: its node type, its arguments (GraphQL names) and its lister."""

    node_type: str
    arguments: frozenset[str]
    lister: Lister
    rolls_up: bool = False  # the units of ``OrgUnit.children``: see ``plan_list``

    def plan(self, owner: str, entry: Field, fragments: Fragments, types: Types) -> PlannedList:
        given_only(entry.node, self.arguments, f"{owner}.{entry.name}")
        connection, node = plan_list(
            self.node_type, entry, fragments, types, rolls_up=self.rolls_up
        )
        return PlannedList(self, owner, entry.name, entry.node, connection, node)


@dataclass(frozen=True)
class PlannedList:
    field: ListField
    owner: str
    name: str
    node: FieldNode
    connection: ConnectionPlan
    plan: ObjectPlan | None

    def render(self, row: Row, r: Render) -> str:
        values = r.arguments.read(self.owner, self.name, self.node, self.field.arguments)
        spec = self.field.lister(row, values, r)
        return r.dialect.nested(page_select(self.connection, self.plan, spec, r))

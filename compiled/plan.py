"""Compiling an operation into a plan, once per document, operation and set of roles.

The root fields' guards are decided here, from the viewer's roles: an operation whose guard
would refuse (an anonymous viewer, a role set without the right) is not compiled, so its
error comes from the resolvers, as always. The plan is cached under the document's text, the
operation's name, the roles and the policy's generation (a reloaded role policy may change
what a role allows).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from strawberry import Schema
from tortoise.exceptions import OperationalError

from compiled.arguments import ArgumentReader, given_only
from compiled.dialect import connection_for_plans
from compiled.graph import TYPES
from compiled.objects import Render
from compiled.response import CompiledData
from compiled.roots import ROOTS, RootPlan
from compiled.selection import NotCompilable, collect
from core.context import RequestContext
from policies.guard import holds_anywhere
from policies.scope import Params

CACHE_SIZE = 1024
# What SQLite and PostgreSQL say of a statement nested deeper than they parse or plan: an
# operation deep enough is left to the resolvers.
TOO_DEEP = ("parser stack overflow", "stack depth limit exceeded")


@dataclass(frozen=True)
class Root:
    key: str
    name: str
    node: FieldNode
    plan: RootPlan | None = None  # None for ``__typename``


@dataclass(frozen=True)
class Plan:
    operation: OperationDefinitionNode
    roots: tuple[Root, ...]


def compile_plan(
    document: DocumentNode, operation_name: str | None, context: RequestContext
) -> Plan:
    """The plan of the operation, or ``NotCompilable``."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise NotCompilable("not a query")
    if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
        raise NotCompilable("a directive")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    roots = []
    for entry in collect(operation.selection_set, frozenset({"Query"}), fragments):
        if entry.name == "__typename":
            roots.append(Root(entry.key, entry.name, entry.node))
        elif entry.name in ROOTS:
            root = ROOTS[entry.name]
            if len(entry.selections) != 1:
                raise NotCompilable("a root field under one key twice")
            if context.viewer is None or (
                root.right is not None and not holds_anywhere(context, root.right)
            ):
                raise NotCompilable("the guard refuses")  # the resolvers say how
            given_only(entry.node, root.arguments, f"Query.{entry.name}")
            planned = root.plan(entry, fragments, TYPES)
            roots.append(Root(entry.key, entry.name, entry.node, planned))
        else:
            raise NotCompilable(f"Query.{entry.name}")
    return Plan(operation, tuple(roots))


class PlanCache:
    """Plans (or the knowledge that there is none) by operation and roles, least recently
    used dropped first."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[Any, ...], Plan | None] = OrderedDict()

    def plan(
        self,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
        context: RequestContext,
    ) -> Plan | None:
        subject = context.viewer.subject if context.viewer else ""
        roles = frozenset(g.role for g in context.policy.grants_of(subject))
        key = (query, operation_name, roles, getattr(context.policy, "generation", 0))
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        try:
            found: Plan | None = compile_plan(document, operation_name, context)
        except NotCompilable:
            found = None
        self._plans[key] = found
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return found


async def run_plan(
    plan: Plan, schema: Schema, variables: dict[str, Any] | None, context: RequestContext
) -> CompiledData:
    """The operation's ``data`` as JSON text; ``NotCompilable`` when an argument is one the
    resolvers would refuse (they answer with their own error)."""
    graphql_schema = schema._schema
    coerced = get_variable_values(
        graphql_schema, plan.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):
        raise NotCompilable("variables the executor refuses")
    query_type = graphql_schema.query_type
    assert query_type is not None
    reader = ArgumentReader(schema, coerced)
    conn, dialect = await connection_for_plans()
    moment = datetime.now(UTC)
    parts = []
    for root in plan.roots:
        if root.plan is None:
            parts.append(f'"{root.key}":"Query"')
            continue
        values = reader.read(query_type.name, root.name, root.node, ROOTS[root.name].arguments)
        r = Render(dialect, Params(dialect.postgres), context, moment, reader)
        try:
            text = await root.plan.run(values, r, conn)
        except OperationalError as exc:
            if not any(sign in str(exc) for sign in TOO_DEEP):
                raise
            raise NotCompilable("a statement nested deeper than the database parses") from exc
        parts.append(f'"{root.key}":{text}')
    return CompiledData("{" + ",".join(parts) + "}")

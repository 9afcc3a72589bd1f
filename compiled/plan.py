"""Compiling an operation into a plan, once per document, operation and set of roles.

The root fields' guards are decided here, from the viewer's roles: an operation whose guard
would refuse (an anonymous viewer, a role set without the right) is not compiled, so its
error comes from the resolvers, as always. The plan is cached under the document's text, the
operation's name, the roles and the policy's generation (a reloaded role policy may change
what a role allows).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry import Schema
from strawberry.types.arguments import convert_arguments
from tortoise.backends.base.client import BaseDBAsyncClient

from compiled.audit import AUDIT_EVENT, run_audit
from compiled.connection import ListPlan, plan_connection
from compiled.dialect import Dialect, connection_for_plans
from compiled.objects import TYPES, ObjectType, plan_object
from compiled.response import CompiledData
from compiled.selection import NotCompilable, collect
from compiled.tasks import run_tasks
from core.context import RequestContext
from policies.guard import holds_anywhere
from policies.rights import AUDIT_READ, TASK_READ, Right

CACHE_SIZE = 1024


Runner = Callable[
    [ListPlan, dict[str, Any], RequestContext, BaseDBAsyncClient, Dialect], Awaitable[str]
]


@dataclass(frozen=True)
class RootList:
    """A root field the plan answers: the right its guard needs, its node type, its runner."""

    right: Right
    node: ObjectType
    run: Runner


ROOTS: dict[str, RootList] = {
    "tasks": RootList(TASK_READ, TYPES["Task"], run_tasks),
    "auditEvents": RootList(AUDIT_READ, AUDIT_EVENT, run_audit),
}


@dataclass(frozen=True)
class Root:
    key: str
    name: str
    node: FieldNode
    list: ListPlan | None = None


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
            if context.viewer is None or not holds_anywhere(context, root.right):
                raise NotCompilable("the guard refuses")  # the resolvers say how
            connection = plan_connection(root.node.name, entry.selections[0], fragments)
            node = (
                plan_object(root.node, connection.node_selection, fragments)
                if connection.node_selection is not None
                else None
            )
            roots.append(Root(entry.key, entry.name, entry.node, ListPlan(connection, node)))
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
    conn, dialect = await connection_for_plans()
    parts = []
    for root in plan.roots:
        if root.list is None:
            parts.append(f'"{root.key}":"Query"')
            continue
        try:
            raw = get_argument_values(query_type.fields[root.name], root.node, coerced)
        except GraphQLError as exc:
            raise NotCompilable("arguments the executor refuses") from exc
        field = schema.get_field_for_type(root.name, query_type.name)
        assert field is not None
        values = convert_arguments(
            raw,
            field.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
        )
        text = await ROOTS[root.name].run(root.list, values, context, conn, dialect)
        parts.append(f'"{root.key}":{text}')
    return CompiledData("{" + ",".join(parts) + "}")

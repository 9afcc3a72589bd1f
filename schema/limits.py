"""Limits on what one document may ask for: depth, aliases and an estimated cost.

One validation rule walks each operation once, expanding fragments with memoisation, so
fragment bombs and circular fragments cost nothing to reject (cycles are reported by
GraphQL's own ``NoFragmentCycles`` rule; here they simply stop the walk). The cost of a
field that returns an object is 1 plus its children's cost, multiplied by its page size when
it takes ``first`` (scalars are free): roughly how many objects the query can resolve.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIMIT_EXCEEDED = "QUERY_TOO_COMPLEX"


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 15
    max_aliases: int = 30
    max_cost: int = 50_000
    max_tokens: int = 5_000


@dataclass(frozen=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0

    def __add__(self, other: Measure) -> Measure:
        return Measure(
            max(self.depth, other.depth), self.aliases + other.aliases, self.cost + other.cost
        )


def _multiplier(field: FieldNode, variables: Mapping[str, Any]) -> int:
    """How many times a field's selection repeats: its page size, written or by default."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value: Any = MAX_PAGE_SIZE  # unknown: assume the most it could be
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = variables.get(argument.value.name.value, MAX_PAGE_SIZE)
            if isinstance(value, bool) or not isinstance(value, int):
                value = MAX_PAGE_SIZE
            return int(max(0, min(value, MAX_PAGE_SIZE)))
    selections = field.selection_set.selections if field.selection_set else ()
    if any(isinstance(s, FieldNode) and s.name.value == "edges" for s in selections):
        return DEFAULT_PAGE_SIZE  # a connection asked for without `first`
    return 1


class _Walker:
    def __init__(
        self,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.fragments = fragments
        self.variables = variables or {}
        self.memo: dict[str, Measure] = {}
        self.visiting: set[str] = set()

    def selection_set(self, selections: SelectionSetNode | None) -> Measure:
        total = Measure()
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                total = total + self.field(node)
            elif isinstance(node, InlineFragmentNode):
                total = total + self.selection_set(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total = total + self.fragment(node.name.value)
        return total

    def fragment(self, name: str) -> Measure:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return Measure()
        self.visiting.add(name)
        found = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = found
        return found

    def field(self, node: FieldNode) -> Measure:
        inner = self.selection_set(node.selection_set)
        composite = node.selection_set is not None
        return Measure(
            depth=inner.depth + 1,
            aliases=inner.aliases + (1 if node.alias is not None else 0),
            cost=(1 + _multiplier(node, self.variables) * inner.cost) if composite else 0,
        )


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _too_complex(problem: str) -> GraphQLError:
    return GraphQLError(
        f"The query is too complex: {problem}.", extensions={"code": LIMIT_EXCEEDED}
    )


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """Depth and aliases: they do not depend on variables, so validation (cached) checks them."""

    class OperationLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            walker = _Walker(_fragments(context.document))
            for operation in _operations(context.document):
                measure = walker.selection_set(operation.selection_set)
                if measure.depth > limits.max_depth:
                    context.report_error(
                        _too_complex(f"depth {measure.depth} exceeds {limits.max_depth}")
                    )
                if measure.aliases > limits.max_aliases:
                    context.report_error(
                        _too_complex(f"{measure.aliases} aliases exceed {limits.max_aliases}")
                    )

    return OperationLimits


def cost_limit(limits: QueryLimits) -> type[SchemaExtension]:
    """The estimated cost, with the request's variables (page sizes are often variables)."""

    class CostLimit(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None:
                variables = context.variables or {}
                walker = _Walker(_fragments(document), variables)
                for operation in _operations(document):
                    name = operation.name.value if operation.name else None
                    if context.operation_name is not None and name != context.operation_name:
                        continue
                    with_defaults = {
                        v.variable.name.value: value_from_ast_untyped(v.default_value)
                        for v in operation.variable_definitions or ()
                        if v.default_value is not None
                    }
                    walker.variables = {**with_defaults, **variables}
                    cost = walker.selection_set(operation.selection_set).cost
                    if cost > limits.max_cost:
                        raise _too_complex(f"estimated cost {cost} exceeds {limits.max_cost}")
            yield

    return CostLimit

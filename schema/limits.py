"""Limits on what one document may ask for: depth, aliases and an estimated cost.

One validation rule walks each operation once, expanding fragments with memoisation, so
fragment bombs and circular fragments cost nothing to reject (cycles are reported by
GraphQL's own ``NoFragmentCycles`` rule; here they simply stop the walk). The cost of a
field that returns an object is 1 plus its children's cost, multiplied by its page size when
it takes ``first`` (scalars are free): roughly how many objects the query can resolve.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
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
)

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


def _multiplier(field: FieldNode) -> int:
    """How many times a field's selection repeats: its page size, written or by default."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return max(0, min(int(argument.value.value), MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE  # a variable: assume the most it could be
    selections = field.selection_set.selections if field.selection_set else ()
    if any(isinstance(s, FieldNode) and s.name.value == "edges" for s in selections):
        return DEFAULT_PAGE_SIZE  # a connection asked for without `first`
    return 1


class _Walker:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
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
            cost=(1 + _multiplier(node) * inner.cost) if composite else 0,
        )


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    class OperationLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            walker = _Walker(
                {
                    d.name.value: d
                    for d in document.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
            )
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self.check(context, walker.selection_set(definition.selection_set))

        @staticmethod
        def check(context: ValidationContext, measure: Measure) -> None:
            problems = []
            if measure.depth > limits.max_depth:
                problems.append(f"depth {measure.depth} exceeds {limits.max_depth}")
            if measure.aliases > limits.max_aliases:
                problems.append(f"{measure.aliases} aliases exceed {limits.max_aliases}")
            if measure.cost > limits.max_cost:
                problems.append(f"estimated cost {measure.cost} exceeds {limits.max_cost}")
            for problem in problems:
                context.report_error(
                    GraphQLError(
                        f"The query is too complex: {problem}.",
                        extensions={"code": LIMIT_EXCEEDED},
                    )
                )

    return OperationLimits

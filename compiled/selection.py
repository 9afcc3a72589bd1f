"""A selection set as the plan reads it: fields by response key, fragments expanded.

Only what is certain is accepted. A directive anywhere (``@skip``, ``@include`` or one we do
not know), a fragment on a type other than the object's own or ``Node``, or a field with
arguments the plan does not read make the operation ``NotCompilable``; it then runs through
the resolvers, whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)


class NotCompilable(Exception):
    """The operation leaves the compiled subset: it runs through the resolvers."""


@dataclass
class Field:
    """One response key: the field it names and every selection merged under it."""

    key: str
    name: str
    arguments: tuple[ArgumentNode, ...]
    node: FieldNode
    selections: list[SelectionSetNode] = field(default_factory=list)


def collect(
    selection_set: SelectionSetNode | None,
    type_names: frozenset[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> list[Field]:
    """The fields of ``selection_set`` on an object of one of ``type_names`` (its own name
    and its interfaces), in response order, same keys merged (GraphQL's CollectFields)."""
    found: dict[str, Field] = {}
    _collect(selection_set, type_names, fragments, found, set())
    return list(found.values())


def _collect(
    selection_set: SelectionSetNode | None,
    type_names: frozenset[str],
    fragments: dict[str, FragmentDefinitionNode],
    found: dict[str, Field],
    spread: set[str],
) -> None:
    if selection_set is None:
        raise NotCompilable("a composite field without a selection")
    for selection in selection_set.selections:
        if selection.directives:
            raise NotCompilable("a directive")
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            entry = found.get(key)
            if entry is None:
                entry = found[key] = Field(
                    key, selection.name.value, tuple(selection.arguments or ()), selection
                )
            elif entry.name != selection.name.value:
                raise NotCompilable("one key for two fields")  # validation refuses it anyway
            if selection.selection_set is not None:
                entry.selections.append(selection.selection_set)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value not in type_names:
                raise NotCompilable("a fragment on another type")
            _collect(selection.selection_set, type_names, fragments, found, spread)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in spread:
                continue  # a fragment already spread at this level adds nothing (CollectFields)
            spread.add(name)  # shared by the whole level: spreads nested twice expand once
            definition = fragments.get(name)
            if definition is None or definition.directives:
                raise NotCompilable("an unknown fragment")
            if definition.type_condition.name.value not in type_names:
                raise NotCompilable("a fragment on another type")
            _collect(definition.selection_set, type_names, fragments, found, spread)
        else:
            raise NotCompilable("an unknown selection")


def merged(entry: Field) -> SelectionSetNode:
    """Every selection set given under one key, as one."""
    if not entry.selections:
        raise NotCompilable("a composite field without a selection")
    if len(entry.selections) == 1:
        return entry.selections[0]
    return SelectionSetNode(
        selections=tuple(s for part in entry.selections for s in part.selections)
    )

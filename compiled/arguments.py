"""A field's arguments as its resolver receives them, read at run time from the operation's
variables; and the page arguments (``first``, ``after``) every connection reads alike.

Argument handling is strict: a field compiles only with the arguments the plan knows. An
argument the schema gains later (given, or defaulted into the values) makes the operation
``NotCompilable``, so it runs through the resolvers rather than with the argument ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import FieldNode, GraphQLError, GraphQLObjectType
from graphql.execution.values import VariableValues, get_argument_values
from strawberry import Schema
from strawberry.types.arguments import convert_arguments

from compiled.selection import NotCompilable
from core.errors import DomainError
from resolvers.pagination import OrderKey, decode_cursor, page_size


def given_only(node: FieldNode, known: Iterable[str], where: str) -> None:
    """At compile time: every argument written on ``node`` is one the plan reads (GraphQL
    names)."""
    names = {argument.name.value for argument in node.arguments or ()}
    if not names <= set(known):
        raise NotCompilable(f"an argument of {where} the plan does not read")


@dataclass(frozen=True)
class ArgumentReader:
    """Reads a field's arguments with the operation's coerced variables."""

    schema: Schema
    variables: VariableValues

    def read(
        self, type_name: str, field_name: str, node: FieldNode, known: frozenset[str]
    ) -> dict[str, Any]:
        """The field's arguments by Python name (``parent_id``), converted to the resolver's
        types; ``NotCompilable`` if the executor would refuse them or one is not among the
        ``known`` (GraphQL names)."""
        graphql_type = self.schema._schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        try:
            raw = get_argument_values(graphql_type.fields[field_name], node, self.variables)
        except GraphQLError as exc:
            raise NotCompilable("arguments the executor refuses") from exc
        field = self.schema.get_field_for_type(field_name, type_name)
        assert field is not None
        values = convert_arguments(
            raw,
            field.arguments,
            scalar_registry=self.schema.schema_converter.scalar_registry,
            config=self.schema.config,
        )
        if not set(values) <= {python_name(name) for name in known}:
            raise NotCompilable(f"an argument of {type_name}.{field_name} the plan does not read")
        return values


Filter = TypeVar("Filter")
Spec = TypeVar("Spec")


def read_filter(
    values: dict[str, Any], kind: type[Filter], convert: Callable[[Filter | None], Spec]
) -> Spec:
    """The ``filter`` argument (an input of ``kind``, or none) as the resolver converts it;
    one it refuses is not ours."""
    given = values.get("filter")
    if given is not None and not isinstance(given, kind):
        raise NotCompilable("an unexpected filter")
    try:
        return convert(given)
    except DomainError as exc:
        raise NotCompilable("a filter the resolvers refuse") from exc


def python_name(name: str) -> str:
    """``parentId`` → ``parent_id``: how Strawberry names a GraphQL argument in Python."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True)
class PageArguments:
    size: int
    after: list[Any] | None  # the cursor's sort key, decoded and typed


def page_arguments(values: dict[str, Any], order: OrderKey) -> PageArguments:
    """``first`` and ``after`` as ``resolvers.pagination`` reads them; what it refuses is not
    ours (the resolvers answer with their own error)."""
    after = values.get("after")
    try:
        size = page_size(values.get("first"))
        key = decode_cursor(after, len(order.keys), order) if after else None
    except DomainError as exc:
        raise NotCompilable("a page argument the resolvers refuse") from exc
    return PageArguments(size, key)

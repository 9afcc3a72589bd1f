"""Validating operations, cached, and keeping the schema's names to ourselves when it is private.

GraphQL's validation rules name what a misspelt name might have meant ("Cannot query field
'taks' on type 'Query'. Did you mean 'task' or 'tasks'?"), and so do the checks of variables
at execution (an enum value, an input field). With introspection off, a client could still
map the schema out through them, a guess at a time. There, both run with graphql-core's
``hide_suggestions``: the message says what is wrong and names nothing else. The schema
applies it to every operation, over HTTP and over graphql-transport-ws alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    Executor,
    GraphQLError,
    GraphQLSchema,
    validate,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

Rules = tuple[type[ASTValidationRule], ...]
# The rules Strawberry adds to the ones an operation carries (its ``validate_document``).
STRAWBERRY_RULES: Rules = (MaybeNullValidationRule, OneOfInputValidationRule)


def validation(*, hide_suggestions: bool, maxsize: int) -> Callable[[], SchemaExtension]:
    """An extension validating each operation, with the results of the last ``maxsize``
    documents kept (in place of Strawberry's ``ValidationCache``)."""

    @lru_cache(maxsize=maxsize)
    def validated(
        schema: GraphQLSchema, document: DocumentNode, rules: Rules
    ) -> list[GraphQLError]:
        return validate(
            schema, document, (*rules, *STRAWBERRY_RULES), hide_suggestions=hide_suggestions
        )

    class Validation(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            assert context.graphql_document is not None
            context.pre_execution_errors = validated(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
            yield

    return Validation


class SuggestionFreeExecution(StrawberryGraphQLCoreExecutionContext):
    """Execution whose checks of the variables name nothing the client did not send."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor[Any]:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})

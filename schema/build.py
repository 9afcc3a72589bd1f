"""The Schema object, with the limits, caches and bookkeeping every operation goes through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from policies.guard import CAN_RIGHTS_DESCRIPTION
from schema.evidence import Evidence
from schema.limits import QueryLimits, cost_limit, limits_rule
from schema.mutation import Mutation
from schema.observation import Observation
from schema.org import OrgUnit
from schema.people import Person, User
from schema.persisted import OperationStore, persisted_operations
from schema.query import Query
from schema.record import Record
from schema.safe_text import SafeText
from schema.scalars import SCALARS
from schema.subscription import Subscription
from schema.task import Task
from schema.telemetry import OperationTelemetry
from schema.validation import SuggestionFreeExecution, validation
from schema.water import Indicator, WaterBody

CACHE_SIZE = 1024
DIRECTIVE_ARGUMENTS = {"can": {"rights": CAN_RIGHTS_DESCRIPTION}}


@dataclass(frozen=True)
class SchemaOptions:
    limits: QueryLimits = field(default_factory=QueryLimits)
    # Off, the schema is private: no introspection, and no error message suggests a name.
    introspection: bool = True
    operations: OperationStore = field(default_factory=OperationStore)
    # Entered just before ``Observation``, so they see its checked errors (tracing).
    observers: tuple[Callable[[], SchemaExtension], ...] = ()


class RiverchiefSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Unexpected errors are logged (and masked) by ``Observation``, with the request id."""


def build_schema(options: SchemaOptions | None = None) -> RiverchiefSchema:
    options = options or SchemaOptions()
    # Factories: a fresh extension per operation. The parser and validation caches live at
    # module level, keyed by the (same) rule classes, so they are shared across operations.
    rules: list[type[ASTValidationRule]] = [limits_rule(options.limits)]
    max_tokens = options.limits.max_tokens
    private = not options.introspection
    extensions: list[Callable[[], SchemaExtension]] = [
        SafeText,
        persisted_operations(options.operations),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        validation(hide_suggestions=private, maxsize=CACHE_SIZE),
        cost_limit(options.limits),
    ]
    if private:
        extensions.append(DisableIntrospection)
    # Last, so entered last: Strawberry does not unwind the hooks already entered when one
    # refuses the operation before its ``yield`` (SafeText, persisted operations). Entered
    # earlier, Observation would be left suspended and finished by the garbage collector in
    # whatever context it runs, which crashed the interpreter. Errors raised inside the
    # operation (parsing, validation, execution) still pass through it. The telemetry and
    # tracing extensions come just before it, for the same reason, and exit after it.
    extensions.append(OperationTelemetry)
    extensions.extend(options.observers)
    extensions.append(Observation)
    built = RiverchiefSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[OrgUnit, Task, Person, User, Record, WaterBody, Indicator, Evidence],
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=SuggestionFreeExecution if private else None,
    )
    describe_directive_arguments(built)
    return built


def describe_directive_arguments(built: strawberry.Schema) -> None:
    """Strawberry's schema directives take no argument descriptions: given here, once."""
    for directive, arguments in DIRECTIVE_ARGUMENTS.items():
        found = built._schema.get_directive(directive)
        assert found is not None, directive
        for name, text in arguments.items():
            found.args[name].description = text


schema = build_schema()

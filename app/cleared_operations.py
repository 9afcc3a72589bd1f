"""A compiled operation asked again is answered from its plan without the operation pipeline.

Strawberry's pipeline (the hooks of ten extensions entered and left, the parser cache, the
cached validation, the limits) is the largest part of the CPU of a request the compiled read
path answers. Every check it makes before the plan runs depends on the document's text alone
when the request has no variables and no extensions: the text check (``schema.safe_text``),
the token limit, parsing, validation with the depth and alias limits, introspection, the cost
(page sizes then come from the document) and whether the operation is a query. So once an
operation's text and name have passed all of them and the compiled path has answered it, the
same text and name pass them again, and later requests go straight to the plan.

What is not a property of the text is still decided on every request: the token and the
account (``app.authentication``), the plan for the viewer's roles under the current policy
(``compiled.plan.PlanCache``: none for a viewer the guard refuses), the scope inside the
statement, and the arguments the plan reads. Anything else — variables, a persisted operation,
a plan the viewer has not got, an argument the resolvers would refuse, a failing statement —
goes through the whole pipeline as before, which answers it exactly as it always did. The
request's record learns the operation's name and type as the telemetry extension tells it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from graphql import DocumentNode, OperationDefinitionNode, OperationType, parse
from strawberry.http import GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from compiled.extension import COMPILED, PLANS
from compiled.plan import run_plan
from compiled.response import CompiledData
from core import telemetry
from core.context import RequestContext
from core.instrumentation import start_counting, stop_counting

CLEARED_SIZE = 1024  # distinct (text, name) pairs remembered, the oldest dropped first


@dataclass(frozen=True)
class Cleared:
    """A document that passed every check of the pipeline, and its operation's name."""

    document: DocumentNode
    name: str  # as the document has it ('' for an unnamed operation)


def plain_query(request_data: object, context: object) -> GraphQLRequestData | None:
    """The request if it is one the shortcut may take: an HTTP request's one operation given
    as text, without variables or extensions, for a context that reads compiled."""
    if (
        isinstance(request_data, GraphQLRequestData)
        and request_data.protocol == "http"
        and isinstance(request_data.query, str)
        and not request_data.variables
        and not request_data.extensions
        and isinstance(context, RequestContext)
        and context.compiled_reads
        and not context.debug
    ):
        return request_data
    return None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        found = [d for d in found if d.name is not None and d.name.value == name]
    return found[0] if len(found) == 1 else None


class ClearedOperations:
    """The operations (text and name) the compiled path answered after the whole pipeline."""

    def __init__(self, size: int = CLEARED_SIZE) -> None:
        self.size = size
        self._found: OrderedDict[tuple[str, str | None], Cleared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._found)

    def learn(self, request_data: GraphQLRequestData, result: object, context: object) -> None:
        """Remember the operation if this request was one the shortcut may take and the
        compiled path answered it without an error."""
        if (
            plain_query(request_data, context) is None
            or not isinstance(result, ExecutionResult)
            or result.errors
            or not isinstance(result.data, CompiledData)
            or getattr(context, "executor", None) != COMPILED
        ):
            return
        key = (str(request_data.query), request_data.operation_name)
        if key in self._found:
            return
        document = parse(key[0])
        operation = _operation(document, key[1])
        if operation is None or operation.operation != OperationType.QUERY:
            return
        self._found[key] = Cleared(document, operation.name.value if operation.name else "")
        if len(self._found) > self.size:
            self._found.popitem(last=False)

    async def answer(
        self, request_data: GraphQLRequestData, schema: BaseSchema, context: RequestContext
    ) -> ExecutionResult | None:
        """The operation's result from its plan, or None when the pipeline must answer."""
        key = (str(request_data.query), request_data.operation_name)
        cleared = self._found.get(key)
        if cleared is None:
            return None
        plan = PLANS.plan(key[0], cleared.document, key[1], context)
        if plan is None:
            return None
        started = time.perf_counter()
        statements = start_counting()
        try:
            data = await run_plan(plan, schema, None, context)  # type: ignore[arg-type]
        except Exception:  # NotCompilable, or a failure the pipeline reports as it always did
            return None
        finally:
            stop_counting(statements)
        telemetry.operation_validated(OperationType.QUERY.value)
        telemetry.operation_parsed(key[1] or cleared.name)
        context.executor = COMPILED
        context.sql_statements = (context.request_statements or statements).value
        context.elapsed_ms = (time.perf_counter() - started) * 1000
        return ExecutionResult(data=data, errors=None)

"""Per-operation bookkeeping: timing, SQL statement counts, and masking of unexpected errors.

An unexpected exception never reaches the client as itself (its text can hold SQL, paths or
data): the client gets ``INTERNAL_SERVER_ERROR`` and the request id, and the log gets the
exception under the same id. A document that does not parse or validate gets
``GRAPHQL_PARSE_FAILED`` or ``GRAPHQL_VALIDATION_FAILED``, so every error carries a code.
Errors raised by an extension's hook (the parser, a limit) are checked the same way, and so is
each result of a stream (an operation over a WebSocket) before it is sent. With
debugging on, every response carries ``extensions.debug`` with the SQL statement count,
the elapsed milliseconds and the executor ("compiled" or "resolved").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from core.context import RequestContext
from core.errors import UNAVAILABLE_MESSAGE, DomainError, database_unavailable
from core.instrumentation import start_counting, stop_counting

log = logging.getLogger("riverchief.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
# Raised through the operation for the HTTP view to answer (400): not errors of a result.
HANDLED_BY_THE_VIEW = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)
BAD_REQUEST = "BAD_REQUEST"


def is_expected(error: GraphQLError) -> bool:
    """Errors raised on purpose (auth, validation, bad arguments), not bugs."""
    return error.original_error is None or isinstance(
        error.original_error, GraphQLError | DomainError
    )


def coded(error: GraphQLError) -> GraphQLError:
    """A ``DomainError`` that reached the top level: its message, code and the input field it
    names (``extensions.field``, when it names one), nothing else."""
    domain = error.original_error
    if not isinstance(domain, DomainError):
        return error
    extensions = {"code": domain.code.value}
    if domain.field is not None:
        extensions["field"] = domain.field
    return GraphQLError(domain.message, nodes=error.nodes, path=error.path, extensions=extensions)


def labelled(error: GraphQLError, parsed: bool) -> GraphQLError:
    """A refused document's error (no path, no code) with the code clients know it by."""
    extensions = error.extensions or {}
    if error.path is not None or "code" in extensions:
        return error
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        original_error=error.original_error,
        extensions={**extensions, "code": VALIDATION_FAILED if parsed else PARSE_FAILED},
    )


def masked(error: GraphQLError, request_id: str) -> GraphQLError:
    return GraphQLError(
        f"Internal error. Quote request id {request_id} when reporting it.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": INTERNAL, "requestId": request_id},
    )


def unavailable(error: GraphQLError, request_id: str) -> GraphQLError:
    return GraphQLError(
        UNAVAILABLE_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": SERVICE_UNAVAILABLE, "requestId": request_id},
    )


class Observation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        statements = start_counting()
        try:
            yield
        except HANDLED_BY_THE_VIEW:
            raise
        except Exception as exc:
            # Raised by a hook (the parser, a limit, a bug in one), so it never reaches the
            # result below: it becomes the operation's one error, checked the same way.
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            raise self.checked(error) from None
        finally:
            stop_counting(statements)
        context = self.execution_context.context
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self.checked(error) for error in result.errors]
        if isinstance(context, RequestContext):
            whole = context.request_statements or statements
            context.sql_statements = whole.value
            context.elapsed_ms = (time.perf_counter() - started) * 1000

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """A streamed result is sent as soon as it is yielded: checked before that."""
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [self.checked(error) for error in result.errors]
        yield

    def checked(self, error: GraphQLError) -> GraphQLError:
        """The error as the client may see it: labelled, or masked and logged."""
        context = self.execution_context.context
        request_id = context.request_id if isinstance(context, RequestContext) else ""
        if isinstance(error.original_error, HANDLED_BY_THE_VIEW):
            # Over HTTP the view answers 400; a stream reports it as a coded error.
            return GraphQLError(
                error.message,
                original_error=error.original_error,
                extensions={**(error.extensions or {}), "code": BAD_REQUEST},
            )
        if is_expected(error):
            parsed = self.execution_context.graphql_document is not None
            return labelled(coded(error), parsed=parsed)
        if database_unavailable(error.original_error):
            log.warning("database unavailable request=%s", request_id)
            return unavailable(error, request_id)
        log.error(
            "unexpected error in %s request=%s",
            self.execution_context.operation_name or "anonymous operation",
            request_id,
            exc_info=error.original_error,
        )
        return masked(error, request_id)

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, RequestContext) or not context.debug:
            return {}
        return {
            "debug": {
                "sqlStatements": context.sql_statements,
                "elapsedMs": round(context.elapsed_ms, 2),
                "executor": context.executor,
            }
        }

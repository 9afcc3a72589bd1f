"""Per-operation bookkeeping: timing, SQL statement counts, and masking of unexpected errors.

An unexpected exception never reaches the client as itself (its text can hold SQL, paths or
data): the client gets ``INTERNAL_SERVER_ERROR`` and the request id, and the log gets the
exception under the same id. With debugging on, every response carries
``extensions.debug`` with the SQL statement count and the elapsed milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext
from resolvers.errors import UNAVAILABLE_MESSAGE, database_unavailable
from resolvers.instrumentation import start_counting, stop_counting

log = logging.getLogger("riverchief.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


def is_expected(error: GraphQLError) -> bool:
    """Errors raised on purpose (auth, validation, bad arguments), not bugs."""
    return error.original_error is None or isinstance(error.original_error, GraphQLError)


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
        finally:
            stop_counting(statements)
        context = self.execution_context.context
        request_id = context.request_id if isinstance(context, RequestContext) else ""
        result = self.execution_context.result
        if result is not None and result.errors:
            kept = []
            for error in result.errors:
                if is_expected(error):
                    kept.append(error)
                    continue
                if database_unavailable(error.original_error):
                    log.warning("database unavailable request=%s", request_id)
                    kept.append(unavailable(error, request_id))
                    continue
                log.error(
                    "unexpected error in %s request=%s",
                    self.execution_context.operation_name or "anonymous operation",
                    request_id,
                    exc_info=error.original_error,
                )
                kept.append(masked(error, request_id))
            result.errors = kept
        if isinstance(context, RequestContext):
            context.sql_statements = statements.value
            context.elapsed_ms = (time.perf_counter() - started) * 1000

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, RequestContext) or not context.debug:
            return {}
        return {
            "debug": {
                "sqlStatements": context.sql_statements,
                "elapsedMs": round(context.elapsed_ms, 2),
            }
        }

"""Tells the request's record (``core.telemetry``) which operation ran.

The name and type are known only once the document is parsed (a client need not send
``operationName``), so they are noted from inside the operation: the type when the document
has validated, the name when the operation ends, however it ends. The HTTP middleware turns
them into the request's log line and its metric labels. No I/O: a note on an object.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from core import telemetry


class OperationTelemetry(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.graphql_document is not None and not context.pre_execution_errors:
            try:
                kind = context.operation_type.value
            except Exception:  # no operation by the name given: refused right after this
                kind = telemetry.UNKNOWN
            telemetry.operation_validated(kind)

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            context = self.execution_context
            if context.graphql_document is not None:
                telemetry.operation_parsed(context.operation_name)

"""OpenTelemetry tracing of GraphQL operations, off unless ``RIVERCHIEF_TRACING`` is on.

Strawberry's ``OpenTelemetryExtension`` makes a span per operation, with child spans for
parsing, validation and each resolver that is not a plain attribute. As shipped it also
records the document text (whose literals can hold a password: ``login(password: "…")``) and
every resolver's arguments (passwords, phone numbers, notes): this service records neither.
An operation span is named after the operation, carries its type and the request id (to find
the request's log line), and continues the caller's trace when the request has a W3C
``traceparent`` header.

The packages are an optional extra: ``pip install 'riverchief[otel]'``. The spans go to the
tracer provider already set in the process (``opentelemetry-instrument riverchief serve``
sets one), or else to one made here that exports over OTLP/HTTP, configured by the standard
``OTEL_*`` variables (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from core.settings import OTEL_MISSING, SettingsError

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider
    from strawberry.extensions import SchemaExtension

log = logging.getLogger("riverchief.tracing")

SERVICE_NAME = "riverchief"


def tracing_extension(
    tracer_provider: TracerProvider | None = None,
) -> Callable[[], SchemaExtension]:
    """A factory of the schema's tracing extension (a fresh one per operation)."""
    try:
        from opentelemetry import trace
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind
        from strawberry.extensions import LifecycleStep
        from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension
        from strawberry.extensions.utils import get_path_from_info
    except ImportError as exc:
        raise SettingsError(OTEL_MISSING) from exc

    class RedactedOpenTelemetryExtension(OpenTelemetryExtension):
        """Strawberry's extension without the document text and the resolver arguments."""

        def on_operation(self) -> Generator[None, None, None]:
            context = self.execution_context
            self._operation_name = context.operation_name
            headers = getattr(context.context, "trace_headers", None)
            parent = None
            if headers and not trace.get_current_span().get_span_context().is_valid:
                parent = extract(headers)  # the caller's traceparent, if it sent one
            span = self._tracer.start_span(
                _span_name(self._operation_name), context=parent, kind=SpanKind.SERVER
            )
            self._span_holder[LifecycleStep.OPERATION] = span
            span.set_attribute("component", "graphql")
            request_id = getattr(context.context, "request_id", None)
            if request_id:
                span.set_attribute("riverchief.request_id", str(request_id))
            try:
                yield
            finally:
                # Named once parsed: a client need not send ``operationName``.
                name = context.operation_name
                if name:
                    span.set_attribute("graphql.operation.name", name)
                    if not self._operation_name:
                        span.update_name(_span_name(name))
                if context.graphql_document is not None:
                    try:
                        span.set_attribute("graphql.operation.type", context.operation_type.value)
                    except Exception:  # no operation by the name given
                        log.debug("operation type unknown for the span")
                span.end()

        def filter_resolver_args(self, args: dict[str, Any], info: Any) -> dict[str, Any]:
            return {}

        def add_tags(self, span: Any, info: Any, kwargs: Any) -> None:
            span.set_attribute("component", "graphql")
            span.set_attribute("graphql.parentType", info.parent_type.name)
            span.set_attribute("graphql.path", ".".join(map(str, get_path_from_info(info))))

    def factory() -> SchemaExtension:
        return RedactedOpenTelemetryExtension(tracer_provider=tracer_provider)

    return factory


def _span_name(operation: str | None) -> str:
    return f"GraphQL Query: {operation}" if operation else "GraphQL Query"


def install_tracer_provider() -> Any:
    """The provider spans go to: the process's own if one is set, else a new one exporting
    over OTLP/HTTP (returned, so it can be flushed at shutdown). ``None`` if there is none
    and none can be made (the SDK or the exporter is missing): spans are then dropped, and
    the log says so."""
    from opentelemetry import trace

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None  # set already (opentelemetry-instrument, or the embedding program)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "RIVERCHIEF_TRACING is on but no tracer provider is set and the OpenTelemetry SDK "
            "or OTLP exporter is missing: spans are dropped. pip install 'riverchief[otel]'"
        )
        return None
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing on: spans exported over OTLP/HTTP")
    return provider

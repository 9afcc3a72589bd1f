"""One log line and the metrics for every HTTP request, and its request id.

The outermost middleware. It takes the client's ``X-Request-Id`` if it is a sane token (8-64
letters, digits, ``.``, ``_``, ``-``) or makes one, hands it to everything inside (the
GraphQL context, audit events, log lines) and returns it as a response header. When the
response has gone it writes one line on the ``riverchief.request`` logger:

    request_id, method, route, status, operation, operation_type, viewer_id, duration_ms,
    sql_statements, outcome

``route`` is the path when it is one of the service's, else ``_other``: never the query string
or an unknown path a client made up. ``outcome`` is ``ok``, the first error code the client
was sent (``FORBIDDEN``, ``UNAUTHENTICATED``, ``GRAPHQL_VALIDATION_FAILED``, ...), or
``http_<status>`` for a failure without one. Probes and scrapes (``/healthz``, ``/readyz``,
``/metrics``) are logged at DEBUG, so they do not drown the rest.

No header, body, variable or token is ever read into the line.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.body_limit import TOO_LARGE
from core import telemetry
from core.instrumentation import start_counting, stop_counting

log = logging.getLogger("riverchief.request")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD", "PUT", "PATCH", "DELETE"})
CLIENT_CLOSED = 499  # the client went away before the response was complete
MESSAGE = "request %s op=%s (%s) viewer=%s %sms sql=%s outcome=%s id=%s"
LOG_LINE = 0  # the line a request's log record names (it is written from one place)


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's request id if it is a sane token, else a new one."""
    for name, value in headers:
        if name.lower() == _REQUEST_ID_HEADER:
            given = value.decode("latin-1")
            return given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
    return uuid.uuid4().hex


def route_of(path: str) -> str:
    return path if path in ROUTES else telemetry.OTHER


class RequestLog:
    def __init__(self, app: ASGIApp, *, operations: telemetry.OperationLabels) -> None:
        self.app = app
        self.operations = operations
        self.series = telemetry.RequestSeries()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        record = telemetry.RequestRecord(request_id)
        token = telemetry.begin_request(record)
        statements = start_counting()
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                if not any(name.lower() == _REQUEST_ID_HEADER for name, _ in headers):
                    headers.append((_REQUEST_ID_HEADER, request_id.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            status = status or CLIENT_CLOSED
            raise
        except BaseException:
            if not status:  # the error middleware outside answers 500
                status = 500
                telemetry.error("INTERNAL_SERVER_ERROR")
            raise
        finally:
            stop_counting(statements)
            telemetry.end_request(token)
            self._finish(scope, record, status, time.perf_counter() - started, statements.value)

    def _finish(
        self,
        scope: Scope,
        record: telemetry.RequestRecord,
        status: int,
        seconds: float,
        statements: int,
    ) -> None:
        if status == 413 and not record.codes:  # refused by the body limit, before the rest
            telemetry.error(TOO_LARGE)
            record.codes.append(TOO_LARGE)
        method = str(scope.get("method", ""))
        method = method if method in METHODS else telemetry.OTHER
        route = route_of(str(scope.get("path", "")))
        self.series.http_request(route, method, status)
        operation_type = None
        if record.graphql:
            label = self.operations.label(record)
            operation_type = record.operation_type or telemetry.UNKNOWN
            self.series.graphql_request(label, operation_type, seconds)
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        if status >= 500:
            level = logging.WARNING
        if not log.isEnabledFor(level):
            return
        viewer = getattr(scope.get("state", {}).get("viewer"), "id", None)
        operation = telemetry.operation_name(record.operation)
        outcome = record.codes[0] if record.codes else "ok" if status < 400 else f"http_{status}"
        duration_ms = round(seconds * 1000, 2)
        summary = f"{method} {route} {status}"
        fields: dict[str, Any] = {
            "request_id": record.request_id,
            "method": method,
            "route": route,
            "status": status,
            "operation": operation,
            "operation_type": operation_type,
            "viewer_id": viewer,
            "duration_ms": duration_ms,
            "sql_statements": statements,
            "outcome": outcome,
        }
        args = (
            summary,
            operation or "-",
            operation_type or "-",
            viewer if viewer is not None else "-",
            duration_ms,
            statements,
            outcome,
            record.request_id,
        )
        extra = {"fields": fields, "summary": f"request {summary}"}
        # As ``log.log`` would, without looking up the caller's frame: always this line.
        line = log.makeRecord(log.name, level, __file__, LOG_LINE, MESSAGE, args, None, extra=extra)
        log.handle(line)

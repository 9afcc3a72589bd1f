"""What the service counts, and what it notes about each HTTP request.

The Prometheus metrics live here, so the code that sees an event counts it where it happens:
the guard counts denials, the policy engine its reloads, the audit trail its head. Every call
is a counter increment or a note on the current request's record: no I/O and no SQL, so
instrumented code costs what it did.

Label values are bounded whatever clients send. Error codes, resources and actions come from
the service's own code, and anything that does not look like one is counted as ``_other``.
Operation names come from clients: a name is used as a label only once its document has
validated, only if it is an identifier of at most 64 characters, and only for the first
``MAX_OPERATION_NAMES`` distinct names a process sees; later ones share ``_other``.

The request record (``RequestRecord``) is set by the HTTP middleware (``app.request_log``)
for the request's context; the GraphQL view, the schema's telemetry extension, the guard and
the authentication middleware fill it in, and the middleware turns it into the request's log
line and metrics when the response has gone.

With ``PROMETHEUS_MULTIPROC_DIR`` set when the process starts, prometheus-client keeps these
values in files there, and ``/metrics`` adds up every worker's (``app.metrics``).
"""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# One series per counter, not two: ``*_created`` doubles the series and nobody graphs it.
disable_created_metrics()  # type: ignore[no-untyped-call]

MAX_OPERATION_NAMES = 100
ANONYMOUS = "_anonymous"  # a validated operation without a name
INVALID = "_invalid"  # a request whose document did not parse or validate, or was refused
OTHER = "_other"  # a name past the cap, or not a plain identifier; an unknown code
UNKNOWN = "unknown"  # the operation type of an operation that never validated

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,47}$")
_WORD = re.compile(r"^[a-z][a-z0-9_.*]{0,47}$")

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's metrics, made on first use (``metrics()``), not on import: with
    PROMETHEUS_MULTIPROC_DIR set, making one writes a file there, and the settings check that
    directory first. ``create_app`` makes them at start, so every series is there from then."""

    def __init__(self) -> None:
        self.http_requests = Counter(
            "riverchief_http_requests",
            "HTTP requests answered, by route (a known path or _other), method and status code.",
            ["route", "method", "status"],
        )
        self.graphql_requests = Counter(
            "riverchief_graphql_requests",
            "GraphQL operations answered over HTTP, by operation name and operation type.",
            ["operation", "type"],
        )
        self.graphql_duration = Histogram(
            "riverchief_graphql_request_duration_seconds",
            "Time from a GraphQL request's arrival to its response's last byte, by operation name.",
            ["operation"],
            buckets=DURATION_BUCKETS,
        )
        self.errors = Counter(
            "riverchief_graphql_errors",
            "Errors sent to clients, by code: top-level errors (extensions.code), mutation payload "
            "errors, and refusals before any GraphQL ran (UNAUTHENTICATED, BAD_REQUEST, ...).",
            ["code"],
        )
        self.denials = Counter(
            "riverchief_authz_denials",
            "Authorization denials decided by the guard, by resource and action.",
            ["resource", "action"],
        )
        self.policy_reloads = Counter(
            "riverchief_policy_reloads",
            "Times this process loaded the policy (rules, grants and pairings) from the database.",
        )
        self.policy_reload_failures = Counter(
            "riverchief_policy_reload_failures",
            "Policy reloads asked for by the watcher that failed (and are retried).",
        )
        self.audit_chain_length = Gauge(
            "riverchief_audit_chain_length",
            "Events in the hash-chained audit trail: the head's sequence number, read at start and "
            "moved by every event this process appends.",
            multiprocess_mode="max",
        )
        self.db_pool_size = Gauge(
            "riverchief_db_pool_size",
            "Connections open in the database pool (PostgreSQL only).",
            ["connection"],
            multiprocess_mode="livesum",
        )
        self.db_pool_in_use = Gauge(
            "riverchief_db_pool_in_use",
            "Pool connections lent out to a request or a transaction (PostgreSQL only).",
            ["connection"],
            multiprocess_mode="livesum",
        )
        self.db_pool_max = Gauge(
            "riverchief_db_pool_max_size",
            "The most connections the pool may open (PostgreSQL only).",
            ["connection"],
            multiprocess_mode="livesum",
        )


@functools.cache
def metrics() -> Metrics:
    return Metrics()


class RequestSeries:
    """The request metrics' series, each looked up by its labels once and then kept: the
    labels are bounded (known routes, methods, statuses, ``MAX_OPERATION_NAMES`` names), and
    ``labels()`` costs more than the increment it precedes."""

    def __init__(self) -> None:
        self._http: dict[tuple[str, str, int], Any] = {}
        self._graphql: dict[tuple[str, str], tuple[Any, Any]] = {}

    def http_request(self, route: str, method: str, status: int) -> None:
        key = (route, method, status)
        series = self._http.get(key)
        if series is None:
            series = self._http[key] = metrics().http_requests.labels(route, method, str(status))
        series.inc()

    def graphql_request(self, operation: str, operation_type: str, seconds: float) -> None:
        key = (operation, operation_type)
        series = self._graphql.get(key)
        if series is None:
            made = metrics()
            series = self._graphql[key] = (
                made.graphql_requests.labels(operation, operation_type),
                made.graphql_duration.labels(operation),
            )
        series[0].inc()
        series[1].observe(seconds)


@dataclass
class RequestRecord:
    """What one HTTP request's log line and metrics are made of."""

    request_id: str
    # The operation's name as the document has it ('' for an unnamed one), once parsed.
    operation: str | None = None
    operation_type: str | None = None
    validated: bool = False  # the document parsed and validated
    graphql: bool = False  # the GraphQL view answered with a result
    codes: list[str] = field(default_factory=list)  # error codes sent, in order


_current: ContextVar[RequestRecord | None] = ContextVar("riverchief_request", default=None)


def begin_request(record: RequestRecord) -> Token[RequestRecord | None]:
    return _current.set(record)


def end_request(token: Token[RequestRecord | None]) -> None:
    _current.reset(token)


def current_request() -> RequestRecord | None:
    return _current.get()


def current_request_id() -> str | None:
    record = _current.get()
    return record.request_id if record is not None else None


# ----- bounded labels -----


def code_label(code: object) -> str:
    """An error code as a label: ``FORBIDDEN``, ``NOT_FOUND``, ...; ``_other`` otherwise."""
    text = str(getattr(code, "value", code)) if code is not None else ""
    return text if _CODE.match(text) else OTHER


def word_label(value: str) -> str:
    """A resource or action name from the code (``task``, ``org_unit``, ``read``)."""
    return value if _WORD.match(value) else OTHER


def operation_name(name: str | None) -> str | None:
    """A client's operation name, fit for a log line: a plain identifier or ``_other``."""
    if name is None or name == "":
        return None
    return name if _NAME.match(name) else OTHER


class OperationLabels:
    """Operation names as labels: the first ``limit`` distinct valid names, then ``_other``."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def label(self, record: RequestRecord) -> str:
        if not record.validated or record.operation is None:
            return INVALID
        if record.operation == "":
            return ANONYMOUS
        name = record.operation
        if not _NAME.match(name):
            return OTHER
        if name in self._seen:
            return name
        if len(self._seen) >= self.limit:
            return OTHER
        self._seen.add(name)
        return name


# ----- events -----


def error(code: object) -> None:
    """An error with ``code`` is on its way to a client."""
    label = code_label(code)
    metrics().errors.labels(label).inc()
    record = _current.get()
    if record is not None:
        record.codes.append(label)


def denied(resource: str, action: str) -> None:
    metrics().denials.labels(word_label(resource), word_label(action)).inc()


def policy_reloaded() -> None:
    metrics().policy_reloads.inc()


def policy_reload_failed() -> None:
    metrics().policy_reload_failures.inc()


def audit_head(seq: int) -> None:
    """The audit chain's head is at ``seq`` (sequence numbers run 1, 2, 3, ...)."""
    metrics().audit_chain_length.set(seq)


def operation_parsed(name: str | None) -> None:
    """The request's document parsed; ``name`` is its operation's (None when unnamed)."""
    record = _current.get()
    if record is not None:
        record.operation = name or ""


def operation_validated(operation_type: str) -> None:
    """The request's document validated: its name may become a label."""
    record = _current.get()
    if record is not None:
        record.validated = True
        record.operation_type = operation_type


def pool_sample(connection: str, size: int, in_use: int, max_size: int) -> None:
    made = metrics()
    made.db_pool_size.labels(connection).set(size)
    made.db_pool_in_use.labels(connection).set(in_use)
    made.db_pool_max.labels(connection).set(max_size)

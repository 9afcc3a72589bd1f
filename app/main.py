"""The Starlette application: lifespan, routes and middleware."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import SchemaExtension
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from app.authentication import BearerAuthMiddleware
from app.body_limit import BodySizeLimit
from app.client_address import ClientAddress
from app.evidence import EvidenceFiles
from app.explorer import ASSET_ROUTE
from app.graphql import GraphQLApp
from app.logs import configure as configure_logs
from app.metrics import metrics_endpoint, metrics_running
from app.qr import SignCodes
from app.reports import monthly_xlsx
from app.request_log import REQUEST_ID_HEADER, RequestLog
from app.security_headers import SecurityHeaders
from app.websocket import AuthorityMonitor
from compiled.extension import CompiledExecution
from core.complaint_settings import configured as complaint_settings
from core.db import is_postgres, tortoise_config
from core.evidence_files import EvidenceStore
from core.notify_settings import NotifySettings
from core.pg_listener import PgListener
from core.settings import AUDIT_KEY_NOTICE, DEV_SECRET_NOTICE, Settings
from core.task_events import CHANNEL as TASK_CHANNEL
from core.task_events import TaskEventHub
from core.telemetry import OperationLabels, metrics
from ops import escalate_due
from ops.notify import delivering
from policies.engine import PolicyEngine
from policies.watcher import PgPolicyWatcher
from schema.build import SchemaOptions, build_schema
from schema.limits import QueryLimits
from schema.persisted import OperationStore

log = logging.getLogger("riverchief")
METRICS_PATHS = frozenset({"/metrics"})
MULTIPART_OVERHEAD = 64 * 1024  # an upload's `operations`, `map` and part headers


async def healthz(_: Request) -> JSONResponse:
    """The process is alive."""
    return JSONResponse({"status": "ok"})


async def readyz(_: Request) -> JSONResponse:
    """The database answers: safe to route traffic here."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})


# ``serve --escalate-every`` with several workers: each worker runs the job (safely at once).
ESCALATE_EVERY_ENV = "RIVERCHIEF_ESCALATE_EVERY"


@asynccontextmanager
async def policy_running(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    """Load the policy and, on PostgreSQL, keep it in step with the other processes."""
    engine = PolicyEngine()
    await engine.reload()
    app.state.policy = engine
    watcher = None
    if is_postgres(settings.database_url):
        watcher = PgPolicyWatcher(engine, settings.database_url)
        await watcher.start()
    app.state.watcher = watcher
    app.state.task_events = hub = TaskEventHub()
    app.state.authority = monitor = AuthorityMonitor()
    listener = None
    if is_postgres(settings.database_url):
        listener = PgListener(settings.database_url, TASK_CHANNEL, hub.publish_json)
        await listener.start()
    try:
        yield
    finally:
        await monitor.stop()
        if listener is not None:
            await listener.stop()
        if watcher is not None:
            await watcher.stop()


def schema_options(
    settings: Settings, observers: tuple[Callable[[], SchemaExtension], ...] = ()
) -> SchemaOptions:
    """The schema's limits, introspection, persisted operations and tracing."""
    operations = (
        OperationStore.from_file(Path(settings.operations_file))
        if settings.operations_file
        else OperationStore()
    )
    return SchemaOptions(
        limits=QueryLimits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_cost=settings.max_cost,
            max_tokens=settings.max_tokens,
        ),
        introspection=settings.introspection,
        operations=operations,
        observers=observers,
    )


def cors(settings: Settings) -> list[Middleware]:
    """Closed unless origins are configured: browsers elsewhere get no CORS headers."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
            max_age=600,
        )
    ]


# Set by ``serve --deliver --workers N``: each worker process delivers notifications too.
SERVE_DELIVER = "RIVERCHIEF_SERVE_DELIVER"


def app_from_env() -> Starlette:
    """The factory each worker process calls under ``riverchief serve --workers N``."""
    every = os.environ.get(ESCALATE_EVERY_ENV, "").strip()
    deliver = NotifySettings.from_env() if os.environ.get(SERVE_DELIVER) == "1" else None
    return create_app(
        Settings.from_env(),
        escalate_every=float(every) if every else None,
        deliver=deliver,
        freeze_heap=True,
    )


def freeze_started_heap() -> None:
    """Move every object alive after start (modules, the schema, the policy, compiled plans'
    builders) into the collector's permanent generation.

    A request allocates enough to trigger collections; each pass of the oldest generation
    otherwise walks all of those long-lived objects again. py-spy showed these passes as a
    sixth of the Python time of a compiled list (Q2) at 16 clients. The garbage made while
    starting is collected first, so nothing that is already garbage is frozen.
    """
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    *,
    register_database: bool = True,
    tracer_provider: Any = None,
    escalate_every: float | None = None,
    deliver: NotifySettings | None = None,
    freeze_heap: bool = False,
) -> Starlette:
    """The service. ``register_database=False`` reuses a Tortoise context already open (tests);
    ``tracer_provider`` takes the spans when tracing is on (tests), else the process's;
    ``escalate_every`` runs ``riverchief escalate-due`` in the background every so many
    seconds (``serve --escalate-every``); ``deliver`` also posts notifications to their
    webhook in the background (``serve --deliver``); ``freeze_heap`` leaves what is alive once
    the service has started out of the garbage collector's full passes (``serve``)."""
    configure_logs(settings.log_format)
    metrics()  # every series exists from the start, at zero
    if settings.secret_generated:
        log.warning(DEV_SECRET_NOTICE)
    if not settings.audit_key:
        log.warning(AUDIT_KEY_NOTICE)
    observers: tuple[Callable[[], SchemaExtension], ...] = ()
    own_provider = None
    if settings.tracing:
        from app.tracing import install_tracer_provider, tracing_extension

        observers = (tracing_extension(tracer_provider),)
        if tracer_provider is None:
            own_provider = install_tracer_provider()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_logs(settings.log_format)  # again: uvicorn has set up its handlers since
        async with AsyncExitStack() as stack:
            if register_database:
                await stack.enter_async_context(
                    RegisterTortoise(app, config=tortoise_config(settings.database_url))
                )
            await stack.enter_async_context(policy_running(app, settings))
            if settings.metrics:
                await stack.enter_async_context(metrics_running(settings))
            if own_provider is not None:
                stack.push_async_callback(asyncio.to_thread, own_provider.shutdown)
            if escalate_every:
                job = asyncio.create_task(escalate_due.escalate_every(escalate_every))
                stack.callback(job.cancel)
            if deliver is not None:
                await stack.enter_async_context(delivering(deliver))
            if freeze_heap:
                freeze_started_heap()
            yield

    if settings.compiled_reads:
        observers = (*observers, CompiledExecution)
    evidence = EvidenceStore(settings.evidence_dir, settings.evidence_max_bytes)
    graphql = GraphQLApp(build_schema(schema_options(settings, observers)), settings, evidence)
    routes = [
        Route("/graphql", graphql),  # the view refuses other methods with a GraphQL error
        WebSocketRoute("/graphql", graphql),
        Route("/evidence/{sha256}", EvidenceFiles(evidence).endpoint, methods=["GET"]),
        Route("/qr/{code}.svg", SignCodes(complaint_settings()).endpoint, methods=["GET"]),
        Route("/reports/monthly.xlsx", monthly_xlsx, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if settings.graphiql:
        routes.append(Route(ASSET_ROUTE, graphql.explorer.asset, methods=["GET"]))
    if settings.metrics:
        routes.append(Route("/metrics", metrics_endpoint(settings), methods=["GET"]))
    return Starlette(
        debug=False,
        routes=routes,
        middleware=[
            Middleware(RequestLog, operations=OperationLabels()),
            Middleware(ClientAddress, proxies=settings.trusted_proxies),
            Middleware(SecurityHeaders, production=settings.production),
            *cors(settings),
            Middleware(
                BodySizeLimit,
                max_bytes=settings.max_body_bytes,
                # An upload's file and the multipart request's own parts around it.
                multipart_max_bytes=settings.evidence_max_bytes + MULTIPART_OVERHEAD,
            ),
            Middleware(BearerAuthMiddleware, secret=settings.secret, passes=METRICS_PATHS),
        ],
        lifespan=lifespan,
    )

"""``GET /metrics``: the Prometheus metrics of ``core.telemetry``, and what feeds the
gauges that are read rather than counted.

Served when ``RIVERCHIEF_METRICS`` is on (the default outside production). With
``RIVERCHIEF_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``; in
production the endpoint is served only with a token. The page holds operation names, error
and denial rates and activity figures: never a token, a variable or personal data.

Under several worker processes, start each with ``PROMETHEUS_MULTIPROC_DIR`` pointing at one
empty directory: every worker writes its values there, and whichever worker answers a scrape
adds up all of them. Pool gauges are per process (summed over the live ones); the audit chain
length is the highest any process saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from tortoise import connections

from app.authentication import parse_bearer
from core import telemetry
from core.settings import Settings
from models.audit import AuditEvent

log = logging.getLogger("riverchief.metrics")

CONNECTION = "default"
SAMPLE_EVERY = 5.0  # seconds between pool samples in each worker (multiprocess mode)
UNAUTHORIZED_HEADERS = {"www-authenticate": 'Bearer realm="metrics"'}


def registry_for(settings: Settings) -> Collector:
    """This process's registry, or one that adds up every worker's files."""
    if not settings.metrics_multiprocess_dir:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
        registry, path=settings.metrics_multiprocess_dir
    )
    return registry


def token_matches(request: Request, expected: str) -> bool:
    given = parse_bearer(request.headers.get("authorization", ""))
    return hmac.compare_digest(given.encode(), expected.encode())


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    registry = registry_for(settings)
    token = settings.metrics_token

    async def metrics(request: Request) -> Response:
        if token and not token_matches(request, token):
            return PlainTextResponse("Unauthorized\n", 401, headers=UNAUTHORIZED_HEADERS)
        sample_pool()
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), headers={"content-type": content_type})

    return metrics


def sample_pool() -> None:
    """The asyncpg pool's size and use, into the gauges. SQLite has no pool: nothing."""
    try:
        pool = getattr(connections.get(CONNECTION), "_pool", None)
    except Exception:  # no database registered (yet): nothing to report
        return
    if pool is None or not hasattr(pool, "get_idle_size"):
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    telemetry.pool_sample(CONNECTION, size, max(size - idle, 0), pool.get_max_size())


async def read_audit_head() -> None:
    """The chain's length at start: one indexed read of its head, never a count."""
    try:
        head = await AuditEvent.all().order_by("-seq").first().values("seq")
    except Exception as exc:  # the figure waits for the next append; the service goes on
        log.warning("could not read the audit chain head: %s", type(exc).__name__)
        return
    telemetry.audit_head(int(head["seq"]) if head else 0)


async def _sample_pool_forever() -> None:
    while True:
        sample_pool()
        await asyncio.sleep(SAMPLE_EVERY)


@asynccontextmanager
async def metrics_running(settings: Settings) -> AsyncIterator[None]:
    """Seed the read gauges at start; in multiprocess mode, sample the pool in the background
    (a scrape reaches one worker only) and drop this process's live gauges when it stops."""
    await read_audit_head()
    sampler = None
    if settings.metrics_multiprocess_dir:
        sampler = asyncio.get_running_loop().create_task(
            _sample_pool_forever(), name="metrics-pool-sampler"
        )
    try:
        yield
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        if settings.metrics_multiprocess_dir:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                os.getpid(), settings.metrics_multiprocess_dir
            )

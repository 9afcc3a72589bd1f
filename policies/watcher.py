"""Keeps every server process's policy in step through PostgreSQL LISTEN/NOTIFY.

A process that changes a rule NOTIFYs inside the changing transaction (``announce``), so the
others hear of it exactly when it commits; every other process then reloads. Notifications
that arrive while a reload runs are folded into one more reload, and a reload that fails
(the database away) is retried until one succeeds. If the listening connection drops, it
reconnects with backoff and reloads in full, so a change announced while it was away is
never missed; and a reload right after LISTEN starts covers changes made between the
process's first load and its LISTEN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING

from core import telemetry
from core.pg_listener import PgListener
from policies.engine import PolicyEngine

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient

log = logging.getLogger("riverchief.policy.watcher")

CHANNEL = "riverchief_policy"
RETRY_AFTER = 0.5  # seconds between attempts when a reload fails


class PgPolicyWatcher:
    def __init__(
        self, engine: PolicyEngine, database_url: str, *, check_every: float = 1.0
    ) -> None:
        self.engine = engine
        self.origin = uuid.uuid4().hex
        self.reloads = 0
        self._reload_lock = asyncio.Lock()
        self._pending = False
        self._draining: asyncio.Task[None] | None = None
        self._listener = PgListener(
            database_url,
            CHANNEL,
            self._on_notify,
            on_reconnect=self._resync,
            check_every=check_every,
        )

    async def start(self) -> None:
        await self._listener.start()
        self.engine.watcher = self
        await self._reload()

    async def stop(self) -> None:
        self.engine.watcher = None
        if self._draining is not None:
            self._draining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._draining
        await self._listener.stop()

    async def announce(self, conn: BaseDBAsyncClient) -> None:
        """NOTIFY inside the caller's transaction: delivered when, and if, it commits."""
        await conn.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, self.origin])

    def _on_notify(self, payload: str) -> None:
        if payload != self.origin:
            self._request_reload()

    async def _resync(self) -> None:
        """After a reconnection: reload in full, retried until it succeeds. Never raises,
        so a failed reload cannot stop the listener reconnecting next time."""
        self._request_reload()

    def _request_reload(self) -> None:
        self._pending = True
        if self._draining is None or self._draining.done():
            self._draining = asyncio.get_running_loop().create_task(
                self._drain(), name="policy-reload"
            )

    async def _drain(self) -> None:
        """Reload until no notification is left unanswered."""
        while self._pending:
            self._pending = False
            try:
                await self._reload()
            except Exception:  # the database may be away: keep the request, try again
                telemetry.policy_reload_failed()
                log.exception("policy reload failed; retrying in %s s", RETRY_AFTER)
                self._pending = True
                await asyncio.sleep(RETRY_AFTER)

    async def _reload(self) -> None:
        async with self._reload_lock:
            await self.engine.reload()
            self.reloads += 1
            log.info("policy reloaded (generation %s)", self.engine.generation)

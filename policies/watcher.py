"""Keeps every server process's policy in step through PostgreSQL LISTEN/NOTIFY.

A process that changes a rule commits, then NOTIFYs; every other process reloads. If the
listening connection drops, it reconnects with backoff and reloads in full, so a change
announced while it was away is never missed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg

from policies.engine import PolicyEngine
from resolvers.pg_listener import PgListener

log = logging.getLogger("riverchief.policy.watcher")

CHANNEL = "riverchief_policy"


class PgPolicyWatcher:
    def __init__(
        self, engine: PolicyEngine, database_url: str, *, check_every: float = 1.0
    ) -> None:
        self.engine = engine
        self.origin = uuid.uuid4().hex
        self.reloads = 0
        self._reload_lock = asyncio.Lock()
        self._listener = PgListener(
            database_url,
            CHANNEL,
            self._on_notify,
            on_reconnect=self._reload,
            check_every=check_every,
        )

    async def start(self) -> None:
        await self._listener.start()
        self.engine.watcher = self

    async def stop(self) -> None:
        await self._listener.stop()
        self.engine.watcher = None

    async def publish(self) -> None:
        """Tell the other processes to reload (this one already applied the change)."""
        conn = self._listener.connection
        if conn is not None:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, self.origin)
            return
        once = await asyncpg.connect(self._listener.dsn)
        try:
            await once.execute("SELECT pg_notify($1, $2)", CHANNEL, self.origin)
        finally:
            await once.close()

    def _on_notify(self, payload: str) -> None:
        if payload != self.origin:
            asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        async with self._reload_lock:
            await self.engine.reload()
            self.reloads += 1
            log.info("policy reloaded (generation %s)", self.engine.generation)

"""Keeps every server process's policy in step through PostgreSQL LISTEN/NOTIFY.

A process that changes a rule commits, then NOTIFYs; every other process reloads. If the
listening connection drops, the watcher reconnects with backoff and reloads in full, so a
change announced while it was away is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import asyncpg

from policies.engine import PolicyEngine

log = logging.getLogger("riverchief.policy.watcher")

CHANNEL = "riverchief_policy"


def asyncpg_dsn(database_url: str) -> str:
    scheme, _, rest = database_url.partition("://")
    return f"postgresql://{rest}" if scheme in {"postgres", "asyncpg", "psycopg"} else database_url


class PgPolicyWatcher:
    def __init__(
        self, engine: PolicyEngine, database_url: str, *, check_every: float = 1.0
    ) -> None:
        self.engine = engine
        self.dsn = asyncpg_dsn(database_url)
        self.check_every = check_every
        self.origin = uuid.uuid4().hex
        self.reloads = 0
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name="policy-watcher")
        self.engine.watcher = self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
        self.engine.watcher = None

    async def publish(self) -> None:
        conn = await asyncpg.connect(self.dsn) if self._usable() is None else self._conn
        assert conn is not None
        try:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, self.origin)
        finally:
            if conn is not self._conn:
                await conn.close()

    def _usable(self) -> asyncpg.Connection | None:
        return self._conn if self._conn is not None and not self._conn.is_closed() else None

    async def _connect(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload != self.origin:
            asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        async with self._reload_lock:
            await self.engine.reload()
            self.reloads += 1
            log.info("policy reloaded (generation %s)", self.engine.generation)

    async def _supervise(self) -> None:
        delay = 0.2
        while True:
            await asyncio.sleep(self.check_every)
            if self._usable() is not None:
                continue
            try:
                await self._connect()
                await self._reload()
                delay = 0.2
                log.warning("policy watcher reconnected and resynced")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("policy watcher cannot reconnect yet: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

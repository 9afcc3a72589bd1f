"""A PostgreSQL LISTEN connection that survives drops: reconnects with backoff, then resyncs.

Used for cross-process notifications (task changes; the policy watcher has the same shape).
``on_reconnect`` runs after a reconnection, so a listener can catch up on what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

log = logging.getLogger("riverchief.pg_listener")


# Options of the ORM's connection pool: a single connection of asyncpg's own refuses them.
POOL_OPTIONS = frozenset(
    {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime", "schema"}
)


def asyncpg_dsn(database_url: str) -> str:
    """The service's DATABASE_URL as asyncpg takes it: its scheme, without pool options."""
    scheme, _, rest = database_url.partition("://")
    if scheme in {"postgres", "asyncpg", "psycopg"}:
        rest, _, query = rest.partition("?")
        kept = [p for p in query.split("&") if p and p.partition("=")[0] not in POOL_OPTIONS]
        return f"postgresql://{rest}" + (f"?{'&'.join(kept)}" if kept else "")
    return database_url


class PgListener:
    def __init__(
        self,
        database_url: str,
        channel: str,
        on_message: Callable[[str], None],
        *,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        check_every: float = 1.0,
    ) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.channel = channel
        self.on_message = on_message
        self.on_reconnect = on_reconnect
        self.check_every = check_every
        self.reconnects = 0
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name=f"listen-{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None:
            await self.connection.close()

    @property
    def connection(self) -> asyncpg.Connection | None:
        """The listening connection while it is open."""
        return self._conn if self._conn is not None and not self._conn.is_closed() else None

    async def _connect(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(self.channel, self._deliver)

    def _deliver(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.on_message(payload)
        except Exception:  # a bad message must not kill the listener
            log.exception("notification on %s not handled", self.channel)

    async def _supervise(self) -> None:
        delay = 0.2
        while True:
            await asyncio.sleep(self.check_every if self.connection is not None else delay)
            if self.connection is not None:
                delay = 0.2
                continue
            try:
                await self._connect()
                self.reconnects += 1
                if self.on_reconnect is not None:
                    await self.on_reconnect()
                log.warning("listener on %s reconnected", self.channel)
            except Exception as exc:  # whatever went wrong, keep trying: never stop listening
                delay = min(delay * 2, 5.0)
                log.warning("listener on %s cannot reconnect yet: %s", self.channel, exc)

"""Tortoise configuration and schema migration."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from core.pg_listener import asyncpg_dsn
from models import MODEL_MODULES

MIGRATIONS_MODULE = "models.migrations"
MIGRATION_LOCK_KEY = 0x72636D67  # any constant shared by every process that migrates


POOL_DEFAULTS = {"minsize": 2, "maxsize": 10}  # override with ?minsize=…&maxsize=… in the URL


async def keep_session(connection: Any) -> None:
    """What a pooled PostgreSQL connection needs on release: only an open transaction ended.

    asyncpg's default reset runs ``RESET ALL; UNLISTEN *; CLOSE ALL;
    pg_advisory_unlock_all()`` on every release, a round trip per query. Our pooled
    connections hold no session state to undo: advisory locks are transaction-scoped and
    LISTEN runs on connections of its own, outside the pool.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def check_sqlite_opens(database_url: str) -> None:
    """Open an SQLite database once, plainly, before Tortoise does (creating the file if it is
    not there). Raises ``sqlite3.OperationalError`` if it cannot be opened: Tortoise's SQLite
    client keeps its connection lock when opening fails, and its next statement would wait
    for ever."""
    if not database_url.startswith("sqlite://") or ":memory:" in database_url:
        return
    sqlite3.connect(database_url[len("sqlite://") :].split("?", 1)[0]).close()


def connection_config(database_url: str) -> str | dict[str, Any]:
    if not is_postgres(database_url):
        return database_url
    config = expand_db_url(database_url)
    credentials = config["credentials"]
    for name, default in POOL_DEFAULTS.items():
        credentials.setdefault(name, default)
    credentials["reset"] = keep_session
    # No JIT: it pays off for long analytical scans, not for our requests. A compiled read
    # (``compiled``) is one statement with hundreds of small expressions; over a large count
    # the planner's cost passes the JIT thresholds and compiling them took seconds.
    credentials["server_settings"] = {**credentials.get("server_settings", {}), "jit": "off"}
    return config


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


@asynccontextmanager
async def migration_lock(database_url: str) -> AsyncIterator[None]:
    """One migrating process at a time. Several replicas released together each run
    ``migrate`` first; on an empty PostgreSQL database two at once would both create the
    tables, and one would fail. SQLite serves one process and needs no lock."""
    if not is_postgres(database_url):
        yield
        return
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        yield
    finally:
        await conn.close()  # ends the session, and the lock with it


async def apply_migrations(database_url: str) -> None:
    """Bring the database schema up to the latest migration, then release the connections."""
    check_sqlite_opens(database_url)
    async with migration_lock(database_url):
        try:
            await migrate(config=tortoise_config(database_url))
        finally:
            await Tortoise.close_connections()


# The tortoise CLI (`tortoise -c core.db.TORTOISE_ORM makemigrations`) reads this.
TORTOISE_ORM = tortoise_config("sqlite://data/riverchief.sqlite3")

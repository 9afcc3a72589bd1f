"""Reads and writes straight to a server process's database, with the bare driver.

The soak check and the tests of whole processes look at what is really stored, not at
what the service says is stored, and change accounts behind a running server's back (as
an operator would). Statements use ``$1``-style placeholders on both databases.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import asyncpg

from core.pg_listener import asyncpg_dsn


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite://")


def _sqlite_sql(sql: str) -> str:
    return re.sub(r"\$(\d+)", r"?\1", sql)


async def fetch(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Every row of one statement."""
    if url.startswith("sqlite://"):
        with sqlite3.connect(_sqlite_path(url), timeout=30) as conn:
            return [tuple(row) for row in conn.execute(_sqlite_sql(sql), args).fetchall()]
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def execute(url: str, sql: str, *args: Any) -> None:
    """One statement, committed."""
    if url.startswith("sqlite://"):
        conn = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            with conn:
                conn.execute(_sqlite_sql(sql), args)
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await pg.execute(sql, *args)
    finally:
        await pg.close()


async def scalar(url: str, sql: str, *args: Any) -> Any:
    rows = await fetch(url, sql, *args)
    return rows[0][0] if rows else None

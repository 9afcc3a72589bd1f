"""SIGTERM finishes the requests in flight before the process exits.

Writes are held back on purpose: the test takes the lock every write needs (on PostgreSQL
the audit chain's advisory lock, on SQLite the database's write lock) from a connection of
its own, sends six writes, then SIGTERM, then lets go. Every write must complete with its
answer, be stored, and the process must then exit cleanly, while new connections are refused.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from bench import probe
from core.pg_listener import asyncpg_dsn
from resolvers.audit import LOG_LOCK_CLASS, jurisdiction_of
from schema.node import from_global_id
from tests.servers import Server, running_server

CREATE = """
mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } errors { code } } }
"""
TOWNSHIPS = "{ orgUnits(level: TOWNSHIP, first: 1) { edges { node { id } } } }"
IN_FLIGHT = 6


@asynccontextmanager
async def writes_held(database_url: str, unit: str) -> AsyncIterator[None]:
    """Hold the lock every write at ``unit`` takes (its county's audit log), until the block
    ends."""
    if database_url.startswith("sqlite://"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite://"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = await asyncpg.connect(asyncpg_dsn(database_url))
    path = await pg.fetchval("SELECT path FROM org_unit WHERE id = $1", from_global_id(unit)[1])
    county = jurisdiction_of(path)
    await pg.execute("SELECT pg_advisory_lock($1, $2)", LOG_LOCK_CLASS, county)
    try:
        yield
    finally:
        await pg.execute("SELECT pg_advisory_unlock($1, $2)", LOG_LOCK_CLASS, county)
        await pg.close()


async def write(server: Server, token: str, unit: str, n: int) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(
            f"{server.base}/graphql",
            json={
                "query": CREATE,
                "variables": {
                    "input": {"title": f"drain {n}", "category": "PATROL", "orgUnitId": unit}
                },
            },
            headers={"Authorization": f"Bearer {token}"},
        )


async def refused(server: Server) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            await http.get(f"{server.base}/healthz")
    except httpx.TransportError:
        return True
    return False


async def test_sigterm_lets_requests_in_flight_finish(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    with running_server(url, tmp_path, demo=True) as server:
        token = server.login("county_admin")
        unit = server.graphql(TOWNSHIPS, token=token)["data"]["orgUnits"]["edges"][0]["node"]["id"]
        async with writes_held(url, unit):
            writes = [asyncio.create_task(write(server, token, unit, n)) for n in range(IN_FLIGHT)]
            await asyncio.sleep(1.0)  # all sent, all waiting on the lock
            assert not any(w.done() for w in writes)
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            new_connection_refused = await refused(server)
            still_running = server.process.poll() is None
        responses = await asyncio.gather(*writes)
        exit_code = await asyncio.to_thread(server.process.wait, 30)
        log = server.output()

    stored = await probe.fetch(url, "SELECT title FROM task WHERE title LIKE 'drain %'")
    assert still_running  # it waited for the writes
    assert new_connection_refused
    assert [r.status_code for r in responses] == [200] * IN_FLIGHT
    assert all(r.json()["data"]["createTask"]["errors"] == [] for r in responses)
    assert sorted(t for (t,) in stored) == sorted(f"drain {n}" for n in range(IN_FLIGHT))
    # uvicorn shuts down, then re-raises the signal it caught, as a well-behaved process does.
    assert exit_code in (0, -signal.SIGTERM)
    assert "Waiting for connections to close" in log
    assert "Application shutdown complete" in log  # the lifespan ran its clean-up

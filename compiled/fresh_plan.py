"""A statement planned with its own values each time it runs (PostgreSQL).

asyncpg prepares each statement once per connection, and from its sixth run on PostgreSQL
keeps a generic plan, made without the values, whenever it estimates that plan no dearer.
For a list newest first within a subtree, that plan cannot know how much of the table the
subtree and the viewer's scope hold: ``auditEvents``' page then read all 130,000 events of a
township through ``(org_path, seq)`` and sorted them (72 ms on the county's data), where the
plan made with the values reads the primary key backwards and stops after some 250 rows
(0.3 ms). A statement prepared afresh is planned with its values on its one run; it costs a
second round trip, and asyncpg closes it once it is dropped.
"""

from __future__ import annotations

from typing import Any, cast

from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient


async def fetch_planned_afresh(
    conn: BaseDBAsyncClient, sql: str, values: list[Any]
) -> list[dict[str, Any]]:
    """``conn.execute_query_dict(sql, values)``, planned for these values on PostgreSQL."""
    if not isinstance(conn, AsyncpgDBClient):
        return list(await conn.execute_query_dict(sql, values))
    # Its errors become the ORM's, as ``execute_query_dict``'s do (its signature says
    # ``Exception`` for what the call returns).
    rows = await conn._translate_exceptions(_fetch, sql, values)
    return cast(list[dict[str, Any]], rows)


async def _fetch(client: AsyncpgDBClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    async with client.acquire_connection() as connection:
        client.log.debug("%s: %s", sql, values)  # announced, and so counted, as every statement
        statement = await connection.prepare(sql)
        return [dict(row) for row in await statement.fetch(*values)]

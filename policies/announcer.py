"""Announcing a policy change from a process that does not listen: the operator CLI.

A server process keeps its policy in step through ``PgPolicyWatcher``, which both listens and
announces. A short-lived command only needs the announcing half: the same ``pg_notify`` on the
same channel, inside the changing transaction, so every running server reloads when, and only
if, the change commits. Its origin is its own, so no server mistakes it for its own change.
On SQLite there is nobody to tell: one process serves, and it reloads on restart.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from policies.engine import PolicyEngine
from policies.watcher import CHANNEL

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient


class PolicyAnnouncer:
    """A ``Watcher`` that announces and never listens."""

    def __init__(self) -> None:
        self.origin = f"cli-{uuid.uuid4().hex}"
        self.announced = 0

    async def announce(self, conn: BaseDBAsyncClient) -> None:
        if conn.capabilities.dialect != "postgres":
            return
        await conn.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, self.origin])
        self.announced += 1


def announcing(engine: PolicyEngine) -> PolicyEngine:
    """``engine``, made to announce its changes to running servers (a no-op on SQLite)."""
    engine.watcher = PolicyAnnouncer()
    return engine

"""Task changes as a live stream, in step across server processes.

Every task change already writes an audit event; ``announce`` rides on it. On PostgreSQL it
is a ``pg_notify`` inside the change's transaction, so it is delivered only if the change
commits, to every process (each listens and fans out locally). On SQLite, with one process,
announcements wait in the request until the mutation has committed, then go out locally.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from tortoise.backends.base.client import BaseDBAsyncClient

if TYPE_CHECKING:
    from core.context import RequestContext


log = logging.getLogger("riverchief.task_events")

CHANNEL = "riverchief_tasks"
QUEUE_SIZE = 256


@dataclass(frozen=True)
class TaskEvent:
    task_id: int
    action: str
    org_path: str
    seq: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, payload: str) -> TaskEvent:
        data = json.loads(payload)
        return cls(
            task_id=int(data["task_id"]),
            action=str(data["action"]),
            org_path=str(data["org_path"]),
            seq=int(data["seq"]),
        )


class TaskEventHub:
    """Fans events out to this process's subscribers. A slow subscriber loses its oldest."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[TaskEvent]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: TaskEvent) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def publish_json(self, payload: str) -> None:
        self.publish(TaskEvent.from_json(payload))

    @asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[TaskEvent]]:
        queue: asyncio.Queue[TaskEvent] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


async def announce(
    conn: BaseDBAsyncClient, context: RequestContext | None, event: TaskEvent
) -> None:
    """Call inside the transaction of the change."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, event.to_json()])
    elif context is not None:
        context.pending_events.append(event)


def release(context: RequestContext) -> None:
    """After a mutation committed: send what it announced (SQLite's in-process path)."""
    events, context.pending_events = context.pending_events, []
    if context.task_events is not None:
        for event in events:
            context.task_events.publish(event)


def discard(context: RequestContext) -> None:
    """After a mutation failed: nothing it announced took effect."""
    context.pending_events = []

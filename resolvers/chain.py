"""``Task.chainAbove``: the tasks a task was split from, as context for whoever holds it.

The rule is ``policies.reporting``'s: whoever reads a task reads, for each task above it, its
title, issuing unit's name, due date and status; the task above itself only where the
viewer's scope reaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.context import RequestContext
from models.enums import TaskStatus
from models.task import Task
from policies.reporting import reads_in_full
from resolvers.loaders import loaders

MAX_DEPTH = 12  # county → township → village → grid, and a few splits within a level


@dataclass(frozen=True)
class ChainLink:
    title: str
    issuer_name: str
    due_at: datetime | None
    status: TaskStatus
    task: Task | None  # None outside the viewer's scope: the context only


async def chain_above(context: RequestContext, task: Task) -> list[ChainLink]:
    """From the task's parent up to the top of its chain."""
    found: list[ChainLink] = []
    parent_id = task.parent_id
    seen = {task.id}
    while parent_id is not None and parent_id not in seen and len(found) < MAX_DEPTH:
        seen.add(parent_id)
        above = await loaders(context).task.load(parent_id)
        if above is None:
            break
        unit = await loaders(context).unit.load(above.org_unit_id)
        issuer = await loaders(context).unit.load(above.issuer_unit_id)
        full = unit is not None and reads_in_full(context, unit.path, unit.level.value)
        found.append(
            ChainLink(
                title=above.title,
                issuer_name=issuer.name if issuer else "",
                due_at=above.due_at,
                status=above.status,
                task=above if full else None,
            )
        )
        parent_id = above.parent_id
    return found

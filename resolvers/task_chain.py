"""A task and the chain of subtasks below it: how far the chain has got, and how a parent's
status follows its subtasks.

Progress, over the whole chain (``chain_progress``):

- a verified task is done: 1.0;
- otherwise its parts are its subtasks that are not cancelled, each counted by its own
  progress (a subtask with nothing to count below it: 1.0 verified, 0.0 not yet), and, for a
  quota task, its quota (records counted over the target, at most 1.0), one part like each
  subtask; its progress is their mean;
- a task with no part (never split, or every subtask cancelled, and no quota) has none: null.

Every descendant counts, whoever reads: the figure is a number, the same for every reader
of the task, while the subtasks themselves still list only where the viewer may read them.
The chain is read in one recursive statement for all the tasks of a level of a query, and
the quotas in it in one more batch (``resolvers.quota``).

A parent's status follows its subtasks (``start_parents``, ``require_subtasks_closed``): the
first subtask that starts moves an ASSIGNED parent, and its own ASSIGNED parent in turn, to
IN_PROGRESS, in the transaction of the start, with a ``task.start`` event by whoever started
the subtask; a task with open subtasks is neither submitted nor verified.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from core import clock
from core.context import RequestContext
from core.errors import DomainError, ErrorCode
from models.enums import CLOSED_STATUSES, AuditAction, AuditEntity, TaskStatus
from models.org import OrgUnit
from models.task import Task
from policies.scope import Params
from resolvers.audit import append_event
from resolvers.dataloader import DataLoader
from resolvers.quota import QuotaTask, count_done
from resolvers.task_counters import count_change

# At most this many task ids per recursive statement, well inside both databases' limits.
BATCH = 500
_CLOSED = [s.value for s in CLOSED_STATUSES]


@dataclass(frozen=True)
class Link:
    id: int
    parent_id: int | None
    status: TaskStatus
    has_quota: bool


def _chain_sql(roots: list[int], postgres: bool) -> tuple[str, list[Any]]:
    params = Params(postgres)
    marks = ", ".join(params(r) for r in roots)
    sql = (
        "WITH RECURSIVE chain(id) AS ("  # noqa: S608
        f" SELECT id FROM task WHERE id IN ({marks})"
        " UNION SELECT t.id FROM task t JOIN chain c ON t.parent_id = c.id)"
        " SELECT t.id AS id, t.parent_id AS parent_id, t.status AS status,"
        " t.quota_target AS quota_target FROM task t JOIN chain c ON c.id = t.id"
    )
    return sql, params.values


async def _chains(roots: Sequence[int]) -> dict[int, Link]:
    """Every task at or below ``roots``, in one statement per ``BATCH`` roots."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    found: dict[int, Link] = {}
    ordered = sorted(set(roots))
    for start in range(0, len(ordered), BATCH):
        sql, values = _chain_sql(ordered[start : start + BATCH], postgres)
        for row in await conn.execute_query_dict(sql, values):
            parent = row["parent_id"]
            found[int(row["id"])] = Link(
                id=int(row["id"]),
                parent_id=int(parent) if parent is not None else None,
                status=TaskStatus(row["status"]),
                has_quota=row["quota_target"] is not None,
            )
    return found


def _progress_of(
    task_id: int,
    links: dict[int, Link],
    children: dict[int, list[int]],
    quotas: dict[int, float],
    memo: dict[int, float | None],
) -> float | None:
    """The chain's progress at ``task_id`` (see the module's rules), bottom-up, memoised."""
    if task_id in memo:
        return memo[task_id]
    # Iterative post-order: chains are shallow, but a long one must not hit the stack limit.
    stack = [task_id]
    while stack:
        current = stack[-1]
        pending = [c for c in children.get(current, []) if c not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        link = links[current]
        parts = []
        for child in children.get(current, []):
            if links[child].status is TaskStatus.CANCELLED:
                continue
            own = memo[child]
            if own is None:
                own = 1.0 if links[child].status is TaskStatus.VERIFIED else 0.0
            parts.append(own)
        if current in quotas:
            parts.append(quotas[current])
        if not parts:
            memo[current] = None
        elif link.status is TaskStatus.VERIFIED:
            memo[current] = 1.0
        else:
            memo[current] = fmean(parts)
    return memo[task_id]


async def chain_progress(task_ids: Sequence[int]) -> dict[int, float | None]:
    """The progress of each task over its whole chain of subtasks (the module's rules)."""
    links = await _chains(task_ids)
    children: dict[int, list[int]] = defaultdict(list)
    for link in links.values():
        if link.parent_id is not None and link.parent_id in links:
            children[link.parent_id].append(link.id)
    quota_tasks = [
        quota
        for task in await Task.filter(id__in=sorted(k for k, v in links.items() if v.has_quota))
        if (quota := QuotaTask.of(task)) is not None
    ]
    done = await count_done(quota_tasks)
    quotas = {q.id: min(done[q.id] / q.target, 1.0) for q in quota_tasks}
    memo: dict[int, float | None] = {}
    return {
        i: _progress_of(i, links, children, quotas, memo) if i in links else None for i in task_ids
    }


class ChainProgress(DataLoader[int, float | None]):
    """The request's chain progress, one batch per level of a query."""


def progress_loader(context: RequestContext) -> DataLoader[int, float | None]:
    async def load(keys: Sequence[int]) -> list[float | None]:
        found = await chain_progress(keys)
        return [found[k] for k in keys]

    return context.memo.get(ChainProgress, lambda: ChainProgress(load_fn=load))


# -- a parent's status follows its subtasks ------------------------------------------------


async def open_subtask_count(task_id: int) -> int:
    """How many of the task's subtasks are open (neither verified nor cancelled), whoever
    may read them: a number, never which."""
    return await Task.filter(parent_id=task_id).exclude(status__in=_CLOSED).count()


async def require_subtasks_closed(task: Task, doing: str) -> None:
    """``INVALID_TRANSITION`` naming how many subtasks are still open, if any is."""
    n = await open_subtask_count(task.id)
    if n:
        verb = "is" if n == 1 else "are"
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"Cannot {doing} it: {n} of its subtasks {verb} still open (not verified or "
            "cancelled).",
            "action",
        )


async def start_parents(
    conn: BaseDBAsyncClient,
    context: RequestContext,
    child: Task,
    snapshot: Callable[[Task], dict[str, Any]],
) -> None:
    """A subtask started: its ASSIGNED parent starts too, and so on up the chain, each with
    its ``task.start`` event (``snapshot``: the commands' before/after of a task) and its
    counters, inside the caller's transaction."""
    current = child
    while current.parent_id is not None:
        parent = await Task.get_or_none(id=current.parent_id, using_db=conn)
        if parent is None or parent.status is not TaskStatus.ASSIGNED:
            return
        updated = (
            await Task.filter(id=parent.id, version=parent.version, status=TaskStatus.ASSIGNED)
            .using_db(conn)
            .update(status=TaskStatus.IN_PROGRESS, version=F("version") + 1, updated_at=clock.now())
        )
        if not updated:
            raise DomainError(
                ErrorCode.CONFLICT, "The parent task changed meanwhile: reload it.", "taskId"
            )
        fresh: Task = await Task.get(id=parent.id, using_db=conn)
        unit = await OrgUnit.get(id=fresh.org_unit_id, using_db=conn)
        await append_event(
            conn,
            context,
            action=AuditAction.TASK_START,
            entity_type=AuditEntity.TASK,
            entity_id=parent.id,
            org_path=unit.path,
            before=snapshot(parent),
            after={
                **snapshot(fresh),
                "subtask_ids": [current.id],
                "note": "Started with its first subtask to start.",
            },
        )
        await count_change(conn, parent, fresh)
        current = fresh

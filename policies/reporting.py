"""The upward loop's two narrow read rules, beside the scope filter and decided only here.

- **The reporter reads what it reported.** A REPORTED task is held by the unit above the
  reporter's, outside the reporter's scope; its reporter (the account that reported it, or the
  person that account is) still reads that one task: its status, feedback, title and due date.
  Nothing else of the unit above opens: its other tasks, its records and its people stay
  outside the reporter's scope (``reporter_reads`` is consulted for a task asked for by id;
  the only list it opens is the reporter's own reports, ``reported_by_viewer``).
- **A subtask's holder sees the chain above it.** Whoever reads a task reads the context of
  each task it was split from (title, issuing unit's name, due date, status:
  ``Task.chainAbove``), while the tasks above themselves, and the rest of their units, open
  only where the viewer's scope reaches (``reads_in_full``).
"""

from __future__ import annotations

from typing import Protocol

from tortoise.expressions import Q

from core.context import RequestContext
from models.enums import TaskOrigin
from policies.rights import TASK_READ
from policies.scope import Params, scope_for

# The origins a reporter waits on an answer for: the task is closed with feedback.
ANSWERED_ORIGINS = frozenset({TaskOrigin.REPORTED, TaskOrigin.COMPLAINT})


class ReportedLike(Protocol):
    """A task as the rule needs it: its origin and who reported it."""

    @property
    def origin(self) -> TaskOrigin: ...

    @property
    def reported_by_id(self) -> int | None: ...

    @property
    def reporter_id(self) -> int | None: ...


def reporter_reads(context: RequestContext, task: ReportedLike) -> bool:
    """The viewer reported ``task`` (as an account, or as the person its account is)."""
    viewer = context.viewer
    if viewer is None or task.origin is not TaskOrigin.REPORTED:
        return False
    if task.reported_by_id is not None and task.reported_by_id == viewer.id:
        return True
    return viewer.person_id is not None and task.reporter_id == viewer.person_id


def reported_by_viewer(context: RequestContext) -> Q:
    """``reporter_reads`` as a filter on tasks: the issues the viewer reported (none for an
    anonymous caller). The one list the rule opens: the reporter's own reports."""
    viewer = context.viewer
    if viewer is None:
        return Q(id__in=[])
    mine = Q(reported_by_id=viewer.id)
    if viewer.person_id is not None:
        mine |= Q(reporter_id=viewer.person_id)
    return Q(mine, origin=TaskOrigin.REPORTED)


def reporter_sql(context: RequestContext, params: Params, task: str) -> str:
    """``reporter_reads`` as a SQL condition on the task table aliased ``task``."""
    viewer = context.viewer
    if viewer is None:
        return "(1 = 0)"
    mine = f"{task}.reported_by_id = {params(viewer.id)}"
    if viewer.person_id is not None:
        mine += f" OR {task}.reporter_id = {params(viewer.person_id)}"
    return f"({task}.origin = {params(TaskOrigin.REPORTED.value)} AND ({mine}))"


def reads_in_full(context: RequestContext, path: str, level: str) -> bool:
    """A task above the viewer's (in ``Task.chainAbove``) opens in full only in scope."""
    return scope_for(context, TASK_READ).allows(path, level)

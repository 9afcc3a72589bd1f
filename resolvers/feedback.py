"""Closing a reported task with feedback (反馈), the last step of the upward loop.

A REPORTED task (or a complaint) is the receiving unit's own job: it is issued by and held at
that unit, and nobody above it checks it. So it is closed (VERIFY, 销号) by its unit once its
subtasks are closed, from any open status past DRAFT, without a submission of its own, or
CANCELLED; either way with ``feedback`` for whoever reported it (1 to ``MAX_FEEDBACK``
characters). Feedback is given only when a task closes; a task handed down takes it too
(optional there), so a unit may answer what it was asked.
"""

from __future__ import annotations

from typing import Any

from core.errors import DomainError, ErrorCode
from models.enums import CLOSED_STATUSES, TaskStatus
from models.task import Task
from policies.reporting import ANSWERED_ORIGINS
from resolvers.workflow import TaskAction, Transition

MAX_FEEDBACK = 2000
CLOSING = frozenset({TaskAction.VERIFY, TaskAction.CANCEL})


def sources(task: Task, action: TaskAction, rule: Transition) -> frozenset[TaskStatus]:
    """The statuses ``action`` applies to for this task: a reported task is verified by its
    own unit straight from work in hand (it has no issuing side above to submit to)."""
    if action is TaskAction.VERIFY and task.origin in ANSWERED_ORIGINS:
        return frozenset({TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS, TaskStatus.SUBMITTED})
    return rule.sources


def feedback_changes(task: Task, action: TaskAction, feedback: str | None) -> dict[str, Any]:
    """The ``feedback`` column a closing transition writes, or why it is refused."""
    given = (feedback or "").strip()
    if feedback is not None and action not in CLOSING:
        raise DomainError(
            ErrorCode.VALIDATION, "Feedback is given when a task is closed.", "feedback"
        )
    if len(given) > MAX_FEEDBACK:
        raise DomainError(
            ErrorCode.VALIDATION, f"Feedback has at most {MAX_FEEDBACK} characters.", "feedback"
        )
    if action in CLOSING and task.origin in ANSWERED_ORIGINS and not given:
        raise DomainError(
            ErrorCode.VALIDATION,
            "A reported task is closed with feedback for its reporter.",
            "feedback",
        )
    if action in CLOSING and given and task.status not in CLOSED_STATUSES:
        return {"feedback": given}
    return {}

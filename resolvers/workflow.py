"""The task state machine, in one place.

DRAFT → ASSIGNED → IN_PROGRESS → SUBMITTED → VERIFIED (销号), with SUBMITTED → REJECTED →
IN_PROGRESS, CANCELLED from any open state, RETURN (the assignee hands a task back within a
day of receiving it) and URGE/REPLY (the issuer presses, the assignee answers), which change
no status but are kept in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, StrEnum

from models.enums import OPEN_STATUSES, TaskStatus

RETURN_WINDOW = timedelta(hours=24)


class Side(Enum):
    ASSIGNEE = "assignee"  # checked at the task's unit
    ISSUER = "issuer"  # checked at the issuing unit


class TaskAction(StrEnum):
    START = "START"
    SUBMIT = "SUBMIT"
    VERIFY = "VERIFY"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    RETURN = "RETURN"
    URGE = "URGE"
    REPLY = "REPLY"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[TaskStatus]
    target: TaskStatus | None  # None: the status stays, the event is still recorded
    side: Side
    permission: str  # the task action the policy must allow on that side


TRANSITIONS: dict[TaskAction, Transition] = {
    TaskAction.START: Transition(
        frozenset({TaskStatus.ASSIGNED, TaskStatus.REJECTED}),
        TaskStatus.IN_PROGRESS,
        Side.ASSIGNEE,
        "transition",
    ),
    TaskAction.SUBMIT: Transition(
        frozenset({TaskStatus.IN_PROGRESS}), TaskStatus.SUBMITTED, Side.ASSIGNEE, "transition"
    ),
    TaskAction.VERIFY: Transition(
        frozenset({TaskStatus.SUBMITTED}), TaskStatus.VERIFIED, Side.ISSUER, "verify"
    ),
    TaskAction.REJECT: Transition(
        frozenset({TaskStatus.SUBMITTED}), TaskStatus.REJECTED, Side.ISSUER, "verify"
    ),
    TaskAction.CANCEL: Transition(OPEN_STATUSES, TaskStatus.CANCELLED, Side.ISSUER, "update"),
    TaskAction.RETURN: Transition(
        frozenset({TaskStatus.ASSIGNED}), TaskStatus.DRAFT, Side.ASSIGNEE, "transition"
    ),
    TaskAction.URGE: Transition(OPEN_STATUSES - {TaskStatus.DRAFT}, None, Side.ISSUER, "update"),
    TaskAction.REPLY: Transition(
        OPEN_STATUSES - {TaskStatus.DRAFT}, None, Side.ASSIGNEE, "transition"
    ),
}

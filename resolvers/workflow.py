"""The task state machine, in one place.

DRAFT → ASSIGNED → IN_PROGRESS → SUBMITTED → VERIFIED (销号), with SUBMITTED → REJECTED →
IN_PROGRESS, CANCELLED from any open state, RETURN (the assignee hands a task back within a
day of receiving it) and URGE/REPLY (the issuer presses, the assignee answers), which change
no status but are kept in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from models.enums import OPEN_STATUSES, TaskStatus
from policies.rights import TASK_MANAGE, TASK_PROGRESS, TASK_VERIFY, Right

RETURN_WINDOW = timedelta(hours=24)


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
    right: Right  # what the viewer must hold, and at which of the task's units


TRANSITIONS: dict[TaskAction, Transition] = {
    TaskAction.START: Transition(
        frozenset({TaskStatus.ASSIGNED, TaskStatus.REJECTED}),
        TaskStatus.IN_PROGRESS,
        TASK_PROGRESS,
    ),
    TaskAction.SUBMIT: Transition(
        frozenset({TaskStatus.IN_PROGRESS}), TaskStatus.SUBMITTED, TASK_PROGRESS
    ),
    TaskAction.VERIFY: Transition(
        frozenset({TaskStatus.SUBMITTED}), TaskStatus.VERIFIED, TASK_VERIFY
    ),
    TaskAction.REJECT: Transition(
        frozenset({TaskStatus.SUBMITTED}), TaskStatus.REJECTED, TASK_VERIFY
    ),
    TaskAction.CANCEL: Transition(OPEN_STATUSES, TaskStatus.CANCELLED, TASK_MANAGE),
    TaskAction.RETURN: Transition(
        frozenset({TaskStatus.ASSIGNED}), TaskStatus.DRAFT, TASK_PROGRESS
    ),
    TaskAction.URGE: Transition(OPEN_STATUSES - {TaskStatus.DRAFT}, None, TASK_MANAGE),
    TaskAction.REPLY: Transition(OPEN_STATUSES - {TaskStatus.DRAFT}, None, TASK_PROGRESS),
}

# The rights ``transitionTask`` declares: one of them opens the field, the action's own is
# then checked at the task's unit or its issuing unit.
TRANSITION_RIGHTS = tuple(dict.fromkeys(rule.right for rule in TRANSITIONS.values()))
TRANSITION_SENTENCE = (
    "Requires, by action: "
    + "; ".join(
        f"{'/'.join(a.value for a, r in TRANSITIONS.items() if r.right == right)} {right.sentence}"
        for right in TRANSITION_RIGHTS
    )
    + "."
)

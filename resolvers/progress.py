"""How far a task has got: its share of verified subtasks."""

from __future__ import annotations

from collections.abc import Sequence

from models.enums import TaskStatus


def subtask_share(statuses: Sequence[TaskStatus]) -> float | None:
    """Verified subtasks over those not cancelled; None for a task never split."""
    counted = [s for s in statuses if s is not TaskStatus.CANCELLED]
    if not counted:
        return None
    return sum(1 for s in counted if s is TaskStatus.VERIFIED) / len(counted)

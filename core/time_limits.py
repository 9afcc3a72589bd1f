"""How long each stage of a reported task may take, by category (``RIVERCHIEF_TIME_LIMITS``).

Two stages: **dispatch** (交办) — from being reported until the receiving unit hands it down
(a subtask, an assignee) or starts it; **handle** (处置) — from being reported until it is
closed with feedback; a reported task is due at the end of its handle stage. The variable is a
JSON object of hours by category, with ``default`` for every category it does not name::

    RIVERCHIEF_TIME_LIMITS='{"default": {"dispatch": 24, "handle": 168},
                             "POLLUTION_TREATMENT": {"handle": 72}}'

A category's missing stage falls back to ``default``'s, and ``default``'s to 24 h and 7 days.
A complaint from the public (origin COMPLAINT) may have its own limits under ``COMPLAINT``:
first response (dispatch) and closing (handle), before its category's::

    RIVERCHIEF_TIME_LIMITS='{"COMPLAINT": {"dispatch": 12, "handle": 120}}'

Read once, and checked when the service or a command starts (``configured``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import cache

from models.enums import TaskCategory, TaskOrigin

TIME_LIMITS_ENV = "RIVERCHIEF_TIME_LIMITS"
MAX_HOURS = 24 * 366
COMPLAINT_KEY = "COMPLAINT"  # a complaint's own limits, before its category's


class Stage(StrEnum):
    DISPATCH = "dispatch"
    HANDLE = "handle"


DEFAULT_HOURS: Mapping[Stage, float] = {Stage.DISPATCH: 24, Stage.HANDLE: 24 * 7}


class TimeLimitError(ValueError):
    """``RIVERCHIEF_TIME_LIMITS`` is not what it should be."""


@dataclass(frozen=True)
class TimeLimits:
    """Hours per stage, for each category named and by default."""

    default: Mapping[Stage, float] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    by_category: Mapping[TaskCategory, Mapping[Stage, float]] = field(default_factory=dict)
    complaint: Mapping[Stage, float] = field(default_factory=dict)

    def limit(
        self, category: TaskCategory, stage: Stage, origin: TaskOrigin | None = None
    ) -> timedelta:
        """A stage's limit: a complaint's own when set, else its category's, else default."""
        if origin is TaskOrigin.COMPLAINT and stage in self.complaint:
            return timedelta(hours=self.complaint[stage])
        hours = self.by_category.get(category, {}).get(stage, self.default[stage])
        return timedelta(hours=hours)


def _stages(value: object, where: str) -> dict[Stage, float]:
    if not isinstance(value, dict):
        raise TimeLimitError(f"{TIME_LIMITS_ENV}: {where} must be an object of hours by stage")
    stages: dict[Stage, float] = {}
    for key, hours in value.items():
        try:
            stage = Stage(key)
        except ValueError:
            raise TimeLimitError(
                f"{TIME_LIMITS_ENV}: {where} names no stage {key!r} (dispatch, handle)"
            ) from None
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise TimeLimitError(f"{TIME_LIMITS_ENV}: {where}.{key} must be a number of hours")
        if not 0 < hours <= MAX_HOURS:
            raise TimeLimitError(f"{TIME_LIMITS_ENV}: {where}.{key} is 0 to {MAX_HOURS} hours")
        stages[stage] = float(hours)
    return stages


def parse(raw: str) -> TimeLimits:
    """The limits a ``RIVERCHIEF_TIME_LIMITS`` value gives (empty: the defaults)."""
    if not raw.strip():
        return TimeLimits()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TimeLimitError(f"{TIME_LIMITS_ENV} is not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise TimeLimitError(f"{TIME_LIMITS_ENV} must be a JSON object")
    default = {**DEFAULT_HOURS, **_stages(value.pop("default", {}), "default")}
    complaint = _stages(value.pop(COMPLAINT_KEY, {}), COMPLAINT_KEY)
    by_category: dict[TaskCategory, Mapping[Stage, float]] = {}
    for name, stages in value.items():
        try:
            category = TaskCategory(name)
        except ValueError:
            raise TimeLimitError(f"{TIME_LIMITS_ENV} names no category {name!r}") from None
        by_category[category] = _stages(stages, name)
    return TimeLimits(default=default, by_category=by_category, complaint=complaint)


@cache
def configured() -> TimeLimits:
    """The limits of this process, from the environment, read once."""
    return parse(os.environ.get(TIME_LIMITS_ENV, ""))

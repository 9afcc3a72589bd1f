"""``RIVERCHIEF_TIME_LIMITS``: hours per stage, by category, with defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.time_limits import Stage, TimeLimitError, TimeLimits, parse
from models.enums import TaskCategory, TaskOrigin


def test_nothing_set_gives_a_day_to_dispatch_and_a_week_to_handle() -> None:
    limits = parse("")

    assert limits == TimeLimits()
    assert limits.limit(TaskCategory.OTHER, Stage.DISPATCH) == timedelta(days=1)
    assert limits.limit(TaskCategory.FISHING_BAN, Stage.HANDLE) == timedelta(days=7)


def test_a_category_overrides_a_stage_and_falls_back_to_the_default_for_the_other() -> None:
    limits = parse('{"default": {"dispatch": 12}, "POLLUTION_TREATMENT": {"handle": 72}}')

    assert limits.limit(TaskCategory.POLLUTION_TREATMENT, Stage.HANDLE) == timedelta(hours=72)
    assert limits.limit(TaskCategory.POLLUTION_TREATMENT, Stage.DISPATCH) == timedelta(hours=12)
    assert limits.limit(TaskCategory.OTHER, Stage.HANDLE) == timedelta(days=7)


def test_a_complaint_has_its_own_limits_before_its_category() -> None:
    limits = parse('{"COMPLAINT": {"dispatch": 12}, "OTHER": {"dispatch": 48, "handle": 96}}')

    complaint, reported = TaskOrigin.COMPLAINT, TaskOrigin.REPORTED
    assert limits.limit(TaskCategory.OTHER, Stage.DISPATCH, complaint) == timedelta(hours=12)
    assert limits.limit(TaskCategory.OTHER, Stage.HANDLE, complaint) == timedelta(hours=96)
    assert limits.limit(TaskCategory.OTHER, Stage.DISPATCH, reported) == timedelta(hours=48)
    assert limits.limit(TaskCategory.OTHER, Stage.DISPATCH) == timedelta(hours=48)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "is not JSON"),
        ("[]", "must be a JSON object"),
        ('{"RIVERS": {"handle": 1}}', "names no category 'RIVERS'"),
        ('{"default": {"verify": 1}}', "names no stage 'verify'"),
        ('{"default": {"handle": 0}}', "0 to 8784 hours"),
        ('{"default": {"handle": "1d"}}', "must be a number of hours"),
        ('{"OTHER": 5}', "must be an object of hours by stage"),
        ('{"COMPLAINT": {"reply": 5}}', "COMPLAINT names no stage 'reply'"),
    ],
)
def test_a_malformed_value_is_refused_with_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(TimeLimitError, match="RIVERCHIEF_TIME_LIMITS") as refused:
        parse(raw)

    assert message in str(refused.value)

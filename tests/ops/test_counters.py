"""``riverchief counters check`` and ``riverchief counters rebuild``: drift found, printed and
repaired, as an operator runs them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from models.enums import Aggregation, TaskCategory, TaskStatus
from models.indicator import Indicator, IndicatorSum, Observation
from models.org import OrgUnit
from models.task import Task, TaskCount, TaskDueCount
from tests.operator_cli import database, in_process, riverchief, small_county


async def written_straight_in() -> OrgUnit:
    """Two tasks and an observation written straight into their tables, past the counters."""
    await small_county()
    village = await OrgUnit.get(code="sl")
    township = await OrgUnit.get(code="zx")
    late = datetime(2020, 5, 1, 8, 0, tzinfo=UTC)
    for status in (TaskStatus.ASSIGNED, TaskStatus.VERIFIED):
        await Task.create(
            title=f"weir {status.value}",
            category=TaskCategory.CLEANUP,
            status=status,
            org_unit=village,
            issuer_unit=township,
            due_at=late,
        )
    metric = await Indicator.create(
        code="garbage_cleared_t", name="Garbage", unit="t", aggregation=Aggregation.SUM
    )
    await Observation.create(
        indicator=metric, org_unit=village, period=date(2020, 5, 1), value=Decimal("1.5")
    )
    return village


async def test_check_prints_the_drift_and_rebuild_repairs_it(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        village = await written_straight_in()

    as_json = await riverchief(empty_database_url, "counters", "check", "--json")
    as_text = await in_process(monkeypatch, empty_database_url, "counters", "check")

    assert as_json.status == 1, as_json.err
    report = json.loads(as_json.out)
    assert (report["clean"], report["drift"]) == (False, 6)
    tasks = sorted(
        (c["table"], c["key"], c["unitId"], c["stored"], c["counted"])
        for c in report["counters"]
        if c["table"] != "indicator_sum"
    )
    assert tasks == [
        ("task_count", "ASSIGNED", village.id, 0, 1),
        ("task_count", "VERIFIED", village.id, 0, 1),
        ("task_due_count", "2020-05-01", village.id, 0, 1),
    ]
    sums = [c for c in report["counters"] if c["table"] == "indicator_sum"]
    assert sorted(c["unitId"] for c in sums) == sorted(
        int(i) for i in village.path.strip("/").split("/")
    )
    assert {(c["stored"], c["counted"], c["storedCount"], c["countedCount"]) for c in sums} == {
        ("0", "1.5", 0, 1)
    }
    assert as_text.status == 1
    assert as_text.out.splitlines()[0] == "counters: drift 6"
    assert (
        f"  task_count unit {village.id} ASSIGNED: stored 0, counted 1" in as_text.out.splitlines()
    )

    rebuilt = await in_process(monkeypatch, empty_database_url, "counters", "rebuild")
    clean = await in_process(monkeypatch, empty_database_url, "counters", "check", "--json")

    assert (rebuilt.status, rebuilt.out) == (
        0,
        "counters rebuilt: 6 drifting counter(s) repaired\n",
    )
    assert clean.status == 0
    assert json.loads(clean.out) == {"clean": True, "drift": 0, "counters": []}
    async with database(empty_database_url):
        assert await TaskCount.filter(org_unit_id=village.id, n__gt=0).count() == 2
        assert await TaskDueCount.filter(org_unit_id=village.id).values_list("n", flat=True) == [1]
        assert await IndicatorSum.filter(org_unit_id=village.id).values_list(
            "total_e4", flat=True
        ) == [15000]


async def test_rebuild_reports_json_and_a_clean_database_checks_clean(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        await small_county()

    check = await in_process(monkeypatch, empty_database_url, "counters", "check")
    rebuilt = await in_process(monkeypatch, empty_database_url, "counters", "rebuild", "--json")

    assert (check.status, check.out) == (0, "counters: drift 0\n")
    assert rebuilt.status == 0
    assert json.loads(rebuilt.out) == {"repaired": 0, "drift": 0}


async def test_check_refuses_a_database_that_is_not_there(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"sqlite://{tmp_path}/nothing-here.sqlite3"

    found = await in_process(monkeypatch, missing, "counters", "check")

    assert found.status == 2
    assert "no database at" in found.err

"""Reporting indicators: ``reportObservation`` checks its input against the catalogue and
stores the figure, its subtree sums and its audit event together; clean-up records feed
``garbage_cleared_t`` (tonnes) and ``participants``, and a correction replaces what the
record it corrects fed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from tortoise import connections

from models.audit import AuditEvent
from models.enums import Aggregation
from models.indicator import Indicator, IndicatorSum, Observation
from models.record import AccountabilityRecord
from resolvers import indicator_sums
from schema.node import to_global_id
from tests.fixtures import Tree
from tests.graph import codes, data, run

REPORT = """
mutation($input: ReportObservationInput!) {
  reportObservation(input: $input) {
    observation {
      indicator { code } orgUnit { name } periodStart periodEnd value dimension
    }
    errors { field code message }
  }
}
"""
ROLLUP = """
query($unit: ID!, $metric: String!, $from: Date, $to: Date) {
  indicatorRollup(orgUnitId: $unit, metric: $metric, from: $from, to: $to) {
    total byDimension { key value } byChild { orgUnit { name } value }
  }
}
"""
CREATE_RECORD = """
mutation($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { field code message } }
}
"""


@pytest.fixture
async def catalogue(tree: Tree) -> Tree:
    await Indicator.create(
        code="fish_fry_released", name="增殖放流鱼苗", unit="尾", dimension_name="species"
    )
    await Indicator.create(code="garbage_cleared_t", name="清理河道垃圾", unit="吨")
    await Indicator.create(code="participants", name="参与党员干部群众", unit="人次")
    await Indicator.create(
        code="forest_cover_pct", name="森林覆盖率", unit="%", aggregation=Aggregation.LATEST
    )
    return tree


def report_input(tree: Tree, **overrides: Any) -> dict[str, Any]:
    return {
        "metric": "garbage_cleared_t",
        "orgUnitId": tree.unit_gid("shilong"),
        "periodStart": "2026-01-01",
        "periodEnd": "2026-12-31",
        "value": 12.5,
        **overrides,
    }


async def drift() -> list[Any]:
    return await indicator_sums.drift(connections.get("default"))


async def stored() -> tuple[int, int, int]:
    """Observations, non-empty sums and observation events: what a refusal must leave."""
    return (
        await Observation.all().count(),
        await IndicatorSum.filter(n__gt=0).count(),
        await AuditEvent.filter(entity_type="observation").count(),
    )


async def test_a_reported_figure_is_stored_rolled_up_and_audited(catalogue: Tree) -> None:
    tree = catalogue
    found = await data(tree, "village_sec", REPORT, input=report_input(tree))
    zhaxi = await data(
        tree, "zhaxi_head", ROLLUP, unit=tree.unit_gid("zhaxi"), metric="garbage_cleared_t"
    )

    assert found["reportObservation"] == {
        "observation": {
            "indicator": {"code": "garbage_cleared_t"},
            "orgUnit": {"name": "shilong"},
            "periodStart": "2026-01-01",
            "periodEnd": "2026-12-31",
            "value": 12.5,
            "dimension": "",
        },
        "errors": [],
    }
    assert zhaxi["indicatorRollup"]["total"] == 12.5
    observation = await Observation.get()
    event = await AuditEvent.get(entity_type="observation")
    assert (event.action, event.entity_id, event.org_path, event.actor_id) == (
        "observation.report",
        str(observation.id),
        tree.units["shilong"].path,
        tree.users["village_sec"].id,
    )
    assert event.after == {
        "metric": "garbage_cleared_t",
        "org_unit_id": tree.units["shilong"].id,
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "value": "12.5",
        "dimension": None,
        "record_id": None,
    }
    trail = await data(
        tree,
        "zhaxi_head",
        '{ auditEvents(filter: { action: "observation.report" }) '
        "{ edges { node { kind entityType orgPath after } } } }",
    )
    assert trail["auditEvents"]["edges"] == [
        {
            "node": {
                "kind": "OBSERVATION_REPORT",
                "entityType": "observation",
                "orgPath": tree.units["shilong"].path,
                "after": event.after,
            }
        }
    ]
    assert await drift() == []


async def test_a_figure_per_dimension_is_rolled_up_by_it(catalogue: Tree) -> None:
    tree = catalogue
    fish = report_input(tree, metric="fish_fry_released", value=300, dimension=" 昆明裂腹鱼 ")

    found = await data(tree, "zhaxi_head", REPORT, input=fish)
    rollup = await data(
        tree, "zhaxi_head", ROLLUP, unit=tree.unit_gid("zhaxi"), metric="fish_fry_released"
    )

    assert found["reportObservation"]["observation"]["dimension"] == "昆明裂腹鱼"
    assert rollup["indicatorRollup"]["byDimension"] == [{"key": "昆明裂腹鱼", "value": 300}]
    assert await drift() == []


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"metric": "no_such_metric"}, ("metric", "NOT_FOUND")),
        ({"metric": "x" * 200}, ("metric", "NOT_FOUND")),
        ({"periodStart": "2026-12-31", "periodEnd": "2026-01-01"}, ("periodEnd", "VALIDATION")),
        ({"value": -1}, ("value", "VALIDATION")),
        ({"value": 1e15}, ("value", "VALIDATION")),
        ({"metric": "forest_cover_pct", "value": 100.5}, ("value", "VALIDATION")),
        ({"metric": "fish_fry_released"}, ("dimension", "VALIDATION")),
        ({"metric": "fish_fry_released", "dimension": "   "}, ("dimension", "VALIDATION")),
        ({"metric": "fish_fry_released", "dimension": "x" * 101}, ("dimension", "VALIDATION")),
        ({"dimension": "昆明裂腹鱼"}, ("dimension", "VALIDATION")),
        ({"orgUnitId": to_global_id("OrgUnit", 99_999)}, ("orgUnitId", "NOT_FOUND")),
    ],
)
async def test_bad_input_is_a_typed_error_and_writes_nothing(
    catalogue: Tree, overrides: dict[str, Any], refusal: tuple[str, str]
) -> None:
    tree = catalogue
    found = await data(tree, "county_admin", REPORT, input=report_input(tree, **overrides))

    payload = found["reportObservation"]
    assert payload["observation"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [refusal]
    assert await stored() == (0, 0, 0)


async def test_a_percentage_reads_exactly_what_was_reported(catalogue: Tree) -> None:
    tree = catalogue
    cover = report_input(tree, metric="forest_cover_pct", orgUnitId=tree.unit_gid("zhaxi"))
    await data(tree, "zhaxi_head", REPORT, input=cover | {"value": 62.55})

    found = await data(
        tree, "zhaxi_head", ROLLUP, unit=tree.unit_gid("zhaxi"), metric="forest_cover_pct"
    )

    assert found["indicatorRollup"]["total"] == 62.55


CLEANUP = {
    "type": "CLEANUP",
    "occurredAt": "2026-03-06T01:30:00+00:00",  # Friday 09:30 in Weixin
    "summary": "周五清河",
    "cleanup": {"participants": 20, "garbageKg": 350},
}


async def garbage_and_people(tree: Tree, unit: str) -> tuple[Any, Any]:
    bounds = {"from": "2026-01-01", "to": "2026-12-31"}
    garbage = await data(
        tree, "county_admin", ROLLUP, unit=tree.unit_gid(unit), metric="garbage_cleared_t", **bounds
    )
    people = await data(
        tree, "county_admin", ROLLUP, unit=tree.unit_gid(unit), metric="participants", **bounds
    )
    return garbage["indicatorRollup"]["total"], people["indicatorRollup"]["total"]


async def test_a_cleanup_feeds_garbage_in_tonnes_and_participants(catalogue: Tree) -> None:
    tree = catalogue
    filed = await data(
        tree,
        "grid_leader",
        CREATE_RECORD,
        input=CLEANUP | {"orgUnitId": tree.unit_gid("grid_a")},
    )

    assert filed["createRecord"]["errors"] == []
    assert await garbage_and_people(tree, "zhaxi") == (0.35, 20)
    assert await garbage_and_people(tree, "luobu") == (None, None)
    fed = (
        await Observation.all()
        .order_by("id")
        .values("indicator__code", "period", "period_end", "value", "record_id")
    )
    (record,) = await AccountabilityRecord.all()
    assert filed["createRecord"]["record"]["id"] == to_global_id("Record", record.id)
    record_id = record.id
    assert fed == [
        {
            "indicator__code": "garbage_cleared_t",
            "period": date(2026, 3, 6),
            "period_end": date(2026, 3, 6),
            "value": Decimal("0.35"),
            "record_id": record_id,
        },
        {
            "indicator__code": "participants",
            "period": date(2026, 3, 6),
            "period_end": date(2026, 3, 6),
            "value": Decimal("20"),
            "record_id": record_id,
        },
    ]
    events = await AuditEvent.filter(entity_type="observation").values_list("action", flat=True)
    assert events == ["observation.report", "observation.report"]
    assert await drift() == []


async def test_a_corrected_cleanup_counts_once_with_its_corrected_figures(
    catalogue: Tree,
) -> None:
    tree = catalogue
    cleanup = CLEANUP | {"orgUnitId": tree.unit_gid("shilong")}
    first = await data(tree, "village_sec", CREATE_RECORD, input=cleanup)
    original = first["createRecord"]["record"]["id"]
    fixed = cleanup | {"correctsId": original, "cleanup": {"participants": 25, "garbageKg": 500}}

    corrected = await data(tree, "village_sec", CREATE_RECORD, input=fixed)
    again = fixed | {"correctsId": original, "cleanup": {"participants": 30, "garbageKg": 800}}
    second = await data(tree, "village_sec", CREATE_RECORD, input=again)

    assert corrected["createRecord"]["errors"] == second["createRecord"]["errors"] == []
    assert await garbage_and_people(tree, "zhaxi") == (0.8, 30)
    assert await Observation.all().count() == 2
    assert await drift() == []


async def test_a_refused_cleanup_feeds_nothing(catalogue: Tree) -> None:
    tree = catalogue
    refused = await run(
        tree, "grid_leader", CREATE_RECORD, input=CLEANUP | {"orgUnitId": tree.unit_gid("shilong")}
    )
    invalid = await data(
        tree,
        "grid_leader",
        CREATE_RECORD,
        input=CLEANUP
        | {"orgUnitId": tree.unit_gid("grid_a"), "cleanup": {"participants": 2, "garbageKg": -1}},
    )

    assert codes(refused) == ["FORBIDDEN"]  # the village above: seen, not the grid's to clean
    assert [e["code"] for e in invalid["createRecord"]["errors"]] == ["VALIDATION"]
    assert await stored() == (0, 0, 0)


async def test_a_cleanup_without_the_metrics_in_the_catalogue_is_filed_unfed(tree: Tree) -> None:
    filed = await data(
        tree, "grid_leader", CREATE_RECORD, input=CLEANUP | {"orgUnitId": tree.unit_gid("grid_a")}
    )

    assert filed["createRecord"]["errors"] == []
    assert await stored() == (0, 0, 0)

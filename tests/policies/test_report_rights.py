"""Who may report an indicator where (``indicator:create`` at the unit observed), for every
account of the test tree at every unit, through the schema, over HTTP and over the
websocket; a refusal writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.audit import AuditEvent
from models.indicator import Indicator, IndicatorSum, Observation
from tests.fixtures import ACCOUNTS, UNITS, Tree
from tests.graph import codes, run
from tests.http.client import running_app
from tests.http.test_websocket_authority import live_app, socket, token_for

EVERYONE = sorted(ACCOUNTS)
WEIXIN = [n for n in UNITS if n not in ("yangzonghai", "tangchi", "qixing")]
REPORT = """
mutation($input: ReportObservationInput!) {
  reportObservation(input: $input) {
    observation { orgUnit { name } value }
    errors { field code }
  }
}
"""
UNIT = "query($id: ID!) { orgUnit(id: $id) { id } }"

# Where each account reports: the subtree of its grant, for the roles that run units. Grid
# leaders, departments, inspectors and enterprise chiefs report nowhere (a clean-up they
# file feeds its metrics under `record.cleanup:create`).
REPORTS_AT: dict[str, list[str]] = {
    "county_admin": WEIXIN,
    "zhaxi_head": ["zhaxi", "shilong", "dahetan", "grid_a", "grid_b", "enterprise"],
    "luobu_head": ["luobu", "luobu_village", "grid_c"],
    "village_sec": ["shilong", "grid_a", "enterprise"],
    "yzh_admin": ["yangzonghai", "tangchi", "qixing"],
    "grid_leader": [],
    "inspector": [],
    "dept_head": [],
    "enterprise_chief": [],
}


@pytest.fixture
async def metric(tree: Tree) -> Tree:
    await Indicator.create(code="garbage_cleared_t", name="清理河道垃圾", unit="吨")
    return tree


def report(tree: Tree, unit: str) -> dict[str, Any]:
    return {
        "input": {
            "metric": "garbage_cleared_t",
            "orgUnitId": tree.unit_gid(unit),
            "periodStart": "2026-01-01",
            "periodEnd": "2026-12-31",
            "value": 2.5,
        }
    }


async def written() -> tuple[int, int, int]:
    return (
        await Observation.all().count(),
        await IndicatorSum.filter(n__gt=0).count(),
        await AuditEvent.filter(entity_type="observation").count(),
    )


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_each_account_reports_exactly_where_its_grant_lets_it(
    metric: Tree, viewer: str
) -> None:
    """Allowed: stored. A unit seen but not allowed, or any unit for an account that reports
    nowhere: a top-level FORBIDDEN. A unit not seen: NOT_FOUND in the payload. Refusals write
    nothing."""
    tree = metric
    reported = 0
    for unit in UNITS:
        result = await run(tree, viewer, REPORT, **report(tree, unit))
        seen = (await run(tree, viewer, UNIT, id=tree.unit_gid(unit))).data
        if unit in REPORTS_AT[viewer]:
            assert result.errors is None, (viewer, unit, result.errors)
            assert result.data == {
                "reportObservation": {
                    "observation": {"orgUnit": {"name": unit}, "value": 2.5},
                    "errors": [],
                }
            }
            reported += 1
        elif not REPORTS_AT[viewer] or (seen or {}).get("orgUnit") is not None:
            assert codes(result) == ["FORBIDDEN"], (viewer, unit)
            assert result.data is None
        else:
            assert result.data == {
                "reportObservation": {
                    "observation": None,
                    "errors": [{"field": "orgUnitId", "code": "NOT_FOUND"}],
                }
            }, (viewer, unit)
        assert (await written())[0] == reported
    assert (await written())[2] == reported


async def test_an_anonymous_report_is_refused(metric: Tree) -> None:
    result = await run(metric, None, REPORT, **report(metric, "shilong"))

    assert codes(result) == ["UNAUTHENTICATED"]
    assert await written() == (0, 0, 0)


async def test_reports_answer_alike_over_http_and_the_websocket(
    db: TortoiseContext, metric: Tree
) -> None:
    """Each account reports at its own village, at the county above it and at the other
    county's village, over both transports."""
    tree = metric
    units = ["shilong", "weixin", "qixing"]
    over_http: dict[str, list[Any]] = {}
    async with running_app() as client:
        for viewer in EVERYONE:
            token = token_for(tree.users[viewer])
            over_http[viewer] = [await client.run(REPORT, report(tree, u), token) for u in units]
    async with live_app() as live:
        for viewer in EVERYONE:
            async with socket(live, token_for(tree.users[viewer])) as ws:
                over_socket = [await ws.run(REPORT, report(tree, u)) for u in units]
            for unit, http, answer in zip(units, over_http[viewer], over_socket, strict=True):
                assert answer["type"] == "next", (viewer, unit, answer)
                assert answer["payload"] == http, (viewer, unit)
    for viewer in EVERYONE:
        stored = [
            (b.get("data") or {}).get("reportObservation", {}) or {} for b in over_http[viewer]
        ]
        names = [(s.get("observation") or {}).get("orgUnit", {}).get("name") for s in stored]
        assert names == [u if u in REPORTS_AT[viewer] else None for u in units], viewer
    allowed = sum(u in REPORTS_AT[v] for v in EVERYONE for u in units)
    assert (await written())[0] == 2 * allowed  # once per transport

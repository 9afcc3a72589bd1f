"""The monthly workbook against the demo: it opens, and every row and the totals of each sheet
equal ``monthlyReport`` for the same viewer and month; the demo's last full month tells the
story (patrols, closed tasks, rewards and penalties, the six-goods ranking)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
import pytest_asyncio
from openpyxl import load_workbook

from app.reports import SECTIONS
from tests.conftest import demo_database
from tests.http.client import GraphQLClient, running_app
from tests.schema.test_example_queries import last_full_month, operation

in_module_loop = pytest.mark.asyncio(loop_scope="module")

# The workbook's columns, in the GraphQL row's names.
FIELDS = {
    "巡河次数": "patrols",
    "巡河任务数": "patrolQuotaTasks",
    "巡河任务目标次数": "patrolQuotaTarget",
    "计入任务巡河次数": "patrolQuotaDone",
    "完成巡河任务数": "patrolQuotasMet",
    "办结任务": "tasksClosed",
    "逾期任务": "tasksOverdue",
    "受理投诉": "complaintsReceived",
    "办结投诉": "complaintsClosed",
    "按期办结投诉": "complaintsClosedInTime",
    "奖励": "rewards",
    "奖励金额（元）": "rewardAmountYuan",
    "处罚": "penalties",
    "处罚金额（元）": "penaltyAmountYuan",
}
FIGURES = " ".join(FIELDS.values())
REPORT = (
    "query($unit: ID!, $month: String!) { monthlyReport(orgUnitId: $unit, month: $month) {"
    f" rows {{ orgUnit {{ name code }} {FIGURES} }} totals {{ {FIGURES} }} }} }}"
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_client() -> Any:
    async with demo_database(), running_app() as client:
        yield client


async def _unit_of(client: GraphQLClient, token: str) -> str:
    me = await client.run("{ me { roles { orgUnit { id } } } }", token=token)
    return str(me["data"]["me"]["roles"][0]["orgUnit"]["id"])


@pytest.mark.parametrize("viewer", ["county_admin", "zhaxi_head", "yzh_admin", "village_sec"])
@in_module_loop
async def test_the_workbook_equals_the_graphql_report(
    demo_client: GraphQLClient, viewer: str
) -> None:
    token = await demo_client.login(viewer)
    unit, month = await _unit_of(demo_client, token), last_full_month()
    body = await demo_client.run(REPORT, {"unit": unit, "month": month}, token=token)
    assert "errors" not in body, body
    report = body["data"]["monthlyReport"]

    response = await demo_client.http.get(
        "/reports/monthly.xlsx",
        params={"orgUnitId": unit, "month": month},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content))
    assert [title for title, _ in SECTIONS] == book.sheetnames[:-1]
    expected = [
        *([r["orgUnit"]["name"], r["orgUnit"]["code"], r] for r in report["rows"]),
        ["合计", None, report["totals"]],
    ]
    for title in book.sheetnames[:-1]:
        header, *rows = list(book[title].iter_rows(values_only=True))
        assert header[:2] == ("单位", "单位代码")
        assert len(rows) == len(expected), title
        for row, (name, code, figures) in zip(rows, expected, strict=True):
            assert row[:2] == (name, code)
            assert list(row[2:]) == [figures[FIELDS[str(h)]] for h in header[2:]], (title, name)
            assert all(isinstance(v, int | float) for v in row[2:])  # numbers, not text


@in_module_loop
async def test_last_month_tells_the_story(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("zhaxi_head")
    unit = await _unit_of(demo_client, token)

    body = await demo_client.run(REPORT, {"unit": unit, "month": last_full_month()}, token=token)

    totals = body["data"]["monthlyReport"]["totals"]
    rows = {r["orgUnit"]["name"]: r for r in body["data"]["monthlyReport"]["rows"]}
    assert totals["patrols"] > 0 and totals["tasksClosed"] > 0
    assert (rows["石龙村"]["rewards"], rows["石龙村"]["rewardAmountYuan"]) == (1, 2000.0)
    assert (rows["大河滩村"]["rewards"], rows["大河滩村"]["rewardAmountYuan"]) == (1, 800.0)
    assert (rows["龙井社区"]["penalties"], rows["龙井社区"]["penaltyAmountYuan"]) == (1, 500.0)
    assert (totals["rewards"], totals["rewardAmountYuan"]) == (2, 2800.0)


@in_module_loop
async def test_the_ranking_sheet_is_the_example_ranking(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("yzh_admin")
    unit, month = await _unit_of(demo_client, token), last_full_month()
    body = await demo_client.run(
        operation("township_ranking"), {"unit": unit, "period": month}, token=token
    )
    villages = body["data"]["assessmentRanking"]["villages"]

    response = await demo_client.http.get(
        "/reports/monthly.xlsx",
        params={"orgUnitId": unit, "month": month},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert len(villages) == 13  # the demonstration villages, each assessed last month
    assert [v["rank"] for v in villages] == list(range(1, 14))
    scores = [v["score"] for v in villages]
    assert scores == sorted(scores, reverse=True)
    assert all(v["maxScore"] == 100 and len(v["criteria"]) == 6 for v in villages)
    rows = list(load_workbook(BytesIO(response.content))["六好排名"].iter_rows(values_only=True))
    assert [r[:5] for r in rows[1:]] == [
        (v["rank"], v["orgUnit"]["name"], v["orgUnit"]["code"], v["score"], v["maxScore"])
        for v in villages
    ]

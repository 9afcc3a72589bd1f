"""``monthlyReport``, ``assessmentRanking`` and ``GET /reports/monthly.xlsx`` for every account
of the test tree: who reads which unit's report, which child rows and figures each sees, the
typed refusals and bad input; alike over HTTP and over the websocket."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from tortoise.context import TortoiseContext

from models.enums import RecordType, TaskCategory, TaskOrigin, TaskStatus
from models.org import OrgUnit
from models.people import User
from models.record import AccountabilityRecord
from models.task import Task
from resolvers.monthly_report import Month
from resolvers.observations import PROGRAMME_ZONE
from schema.node import to_global_id
from tests.fixtures import ACCOUNTS, PASSWORD_HASH, Tree
from tests.graph import codes, data, run
from tests.http.client import GraphQLClient
from tests.http.test_websocket_authority import assert_the_socket_answers_as_http

EVERYONE = sorted(ACCOUNTS)

REPORT = """
query($unit: ID!, $month: String!) {
  monthlyReport(orgUnitId: $unit, month: $month) {
    month
    orgUnit { name }
    rows {
      orgUnit { name }
      patrols patrolQuotaTasks patrolQuotaTarget patrolQuotaDone patrolQuotasMet
      tasksClosed tasksOverdue complaintsReceived complaintsClosed complaintsClosedInTime
      rewards rewardAmountYuan penalties penaltyAmountYuan
    }
    totals {
      orgUnit { name }
      patrols tasksClosed tasksOverdue complaintsReceived complaintsClosedInTime
      rewards rewardAmountYuan penalties penaltyAmountYuan
    }
  }
}
"""
RANKING = """
query($unit: ID!, $period: String!) {
  assessmentRanking(orgUnitId: $unit, period: $period) {
    period
    villages { rank orgUnit { name } score maxScore criteria { name max awarded } }
  }
}
"""

# Who reads zhaxi's report: the county and its inspector, the township itself. Not a village
# below it, a grid, another township, a department or enterprise elsewhere, another county.
ZHAXI_READERS = {"county_admin", "inspector", "zhaxi_head"}


def last_month() -> Month:
    today = datetime.now(PROGRAMME_ZONE).date()
    return Month((today.replace(day=1) - timedelta(days=1)).replace(day=1))


def on_day(month: Month, day: int, hour: int = 10) -> datetime:
    return datetime.combine(month.first + timedelta(days=day - 1), time(hour), PROGRAMME_ZONE)


async def _task(tree: Tree, unit: str, title: str, **fields: Any) -> Task:
    created_at = fields.pop("created_at", None)
    task = await Task.create(
        title=title,
        category=TaskCategory.OTHER,
        org_unit=tree.units[unit],
        issuer_unit=tree.units["zhaxi"],
        **fields,
    )
    if created_at is not None:
        await Task.filter(id=task.id).update(created_at=created_at)
    return task


async def _record(tree: Tree, unit: str, kind: RecordType, at: datetime, **fields: Any) -> None:
    await AccountabilityRecord.create(
        type=kind, org_unit=tree.units[unit], occurred_at=at, **fields
    )


@pytest.fixture
async def month(tree: Tree) -> Month:
    """Last month at zhaxi's villages: shilong (its grid and enterprise below it) and dahetan;
    and a patrol at luobu's village that zhaxi's readers never count."""
    m = last_month()
    before, after = m.first - timedelta(days=3), m.next_first + timedelta(days=1)
    for unit, n in (("shilong", 2), ("grid_a", 1), ("enterprise", 1), ("dahetan", 1)):
        for k in range(n):
            await _record(tree, unit, RecordType.PATROL, on_day(m, 2 + k))
    await _record(tree, "grid_b", RecordType.PATROL, on_day(m, 5), flagged=True)  # not counted
    await _record(tree, "dahetan", RecordType.PATROL, datetime.combine(before, time(10), UTC))
    await _record(tree, "luobu_village", RecordType.PATROL, on_day(m, 3))
    await _task(
        tree,
        "shilong",
        "Patrol quota",
        status=TaskStatus.IN_PROGRESS,
        quota_target=6,
        quota_record_type=RecordType.PATROL,
        quota_from=m.first,
        quota_to=m.last,
    )
    await _task(
        tree,
        "grid_a",
        "Closed last month",
        status=TaskStatus.VERIFIED,
        closed_at=on_day(m, 20),
        created_at=on_day(m, 1),
    )
    await _task(
        tree,
        "dahetan",
        "Late at the month's end, closed since",
        status=TaskStatus.VERIFIED,
        due_at=on_day(m, 15),
        closed_at=datetime.combine(after, time(9), PROGRAMME_ZONE),
        created_at=on_day(m, 1),
    )
    await _task(
        tree,
        "dahetan",
        "Complaint handled in time",
        status=TaskStatus.VERIFIED,
        origin=TaskOrigin.COMPLAINT,
        due_at=on_day(m, 25),
        closed_at=on_day(m, 12),
        created_at=on_day(m, 10),
    )
    await _task(
        tree,
        "shilong",
        "Complaint still open",
        status=TaskStatus.IN_PROGRESS,
        origin=TaskOrigin.COMPLAINT,
        due_at=on_day(m, 26),
        created_at=on_day(m, 11),
    )
    await _record(tree, "shilong", RecordType.REWARD, on_day(m, 8), details={"amount_yuan": 2000})
    await _record(tree, "enterprise", RecordType.REWARD, on_day(m, 9), details={"award": "表扬"})
    await _record(
        tree, "dahetan", RecordType.PENALTY, on_day(m, 18), details={"amount_yuan": 500.5}
    )
    for village, scores in (("shilong", (18, 14)), ("dahetan", (20, 12)), ("qixing", (20, 15))):
        criteria = [
            {"name": "硬件设施好", "max": 20, "awarded": scores[0]},
            {"name": "党员教育好", "max": 15, "awarded": scores[1]},
        ]
        await _record(
            tree,
            village,
            RecordType.ASSESSMENT,
            on_day(m, 14),
            details={"scheme": "six_goods", "criteria": criteria},
        )
    return m


def _row(name: str | None, **figures: Any) -> dict[str, Any]:
    zero: dict[str, Any] = {
        "patrols": 0,
        "patrolQuotaTasks": 0,
        "patrolQuotaTarget": 0,
        "patrolQuotaDone": 0,
        "patrolQuotasMet": 0,
        "tasksClosed": 0,
        "tasksOverdue": 0,
        "complaintsReceived": 0,
        "complaintsClosed": 0,
        "complaintsClosedInTime": 0,
        "rewards": 0,
        "rewardAmountYuan": 0.0,
        "penalties": 0,
        "penaltyAmountYuan": 0.0,
    }
    return {"orgUnit": {"name": name}, **zero, **figures}


SHILONG = _row(
    "shilong",
    patrols=4,
    patrolQuotaTasks=1,
    patrolQuotaTarget=6,
    tasksClosed=1,
    tasksOverdue=1,  # the open complaint, due on the 26th
    complaintsReceived=1,
    rewards=2,
    rewardAmountYuan=2000.0,
)
DAHETAN = _row(
    "dahetan",
    patrols=1,
    tasksClosed=1,
    tasksOverdue=1,
    complaintsReceived=1,
    complaintsClosed=1,
    complaintsClosedInTime=1,
    penalties=1,
    penaltyAmountYuan=500.5,
)


async def test_the_township_reads_its_villages_figures(tree: Tree, month: Month) -> None:
    found = await data(tree, "zhaxi_head", REPORT, unit=tree.unit_gid("zhaxi"), month=month.text)

    report = found["monthlyReport"]
    assert report["month"] == month.text and report["orgUnit"] == {"name": "zhaxi"}
    assert report["rows"] == [SHILONG, DAHETAN]
    assert report["totals"] == {
        "orgUnit": None,
        "patrols": 5,
        "tasksClosed": 2,
        "tasksOverdue": 2,
        "complaintsReceived": 2,
        "complaintsClosedInTime": 1,
        "rewards": 2,
        "rewardAmountYuan": 2000.0,
        "penalties": 1,
        "penaltyAmountYuan": 500.5,
    }


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_reads_zhaxis_report(tree: Tree, month: Month, viewer: str) -> None:
    result = await run(tree, viewer, REPORT, unit=tree.unit_gid("zhaxi"), month=month.text)

    if viewer in ZHAXI_READERS:
        assert result.errors is None
        assert result.data is not None
        assert result.data["monthlyReport"]["rows"] == [SHILONG, DAHETAN]
    else:
        assert result.data is None
        assert codes(result) == ["NOT_FOUND"]


async def test_a_village_reads_its_own_children_only(tree: Tree, month: Month) -> None:
    found = await data(tree, "village_sec", REPORT, unit=tree.unit_gid("shilong"), month=month.text)

    rows = found["monthlyReport"]["rows"]
    assert [r["orgUnit"]["name"] for r in rows] == ["enterprise", "grid_a"]  # in path order
    assert [r["patrols"] for r in rows] == [1, 1]
    assert [r["tasksClosed"] for r in rows] == [0, 1]
    assert [r["rewards"] for r in rows] == [1, 0]


async def test_the_county_sees_both_townships_and_the_department(tree: Tree, month: Month) -> None:
    found = await data(tree, "county_admin", REPORT, unit=tree.unit_gid("weixin"), month=month.text)

    rows = {r["orgUnit"]["name"]: r for r in found["monthlyReport"]["rows"]}
    assert sorted(rows) == ["luobu", "water_bureau", "zhaxi"]
    assert rows["zhaxi"]["patrols"] == 5 and rows["luobu"]["patrols"] == 1
    assert found["monthlyReport"]["totals"]["patrols"] == 6


async def test_an_account_without_roles_is_forbidden(tree: Tree, month: Month) -> None:
    tree.users["nobody"] = await User.create(username="nobody", password_hash=PASSWORD_HASH)

    report = await run(tree, "nobody", REPORT, unit=tree.unit_gid("zhaxi"), month=month.text)
    ranking = await run(tree, "nobody", RANKING, unit=tree.unit_gid("zhaxi"), period="2026")

    assert (report.data, codes(report)) == (None, ["FORBIDDEN"])
    assert (ranking.data, codes(ranking)) == (None, ["FORBIDDEN"])


async def test_anonymous_is_unauthenticated(tree: Tree, month: Month) -> None:
    result = await run(tree, None, REPORT, unit=tree.unit_gid("zhaxi"), month=month.text)

    assert codes(result) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "bad", ["2026-13", "abc", "2026-1", "2026-00", "9999-01", "0001-01", "２０２６-１１", ""]
)
async def test_a_bad_month_is_validation(tree: Tree, bad: str) -> None:
    result = await run(tree, "county_admin", REPORT, unit=tree.unit_gid("zhaxi"), month=bad)

    assert result.data is None
    assert codes(result) == ["VALIDATION"]


@pytest.mark.parametrize("bad", ["2026-13", "abc", "2026-Q5", "26", "2026-Q", "0001", "9999-12"])
async def test_a_bad_period_is_validation(tree: Tree, bad: str) -> None:
    result = await run(tree, "county_admin", RANKING, unit=tree.unit_gid("zhaxi"), period=bad)

    assert codes(result) == ["VALIDATION"]


async def test_an_unknown_unit_is_not_found(tree: Tree, month: Month) -> None:
    missing = to_global_id("OrgUnit", 999_999)

    report = await run(tree, "county_admin", REPORT, unit=missing, month=month.text)
    ranking = await run(tree, "county_admin", RANKING, unit=missing, period="2026")

    assert codes(report) == codes(ranking) == ["NOT_FOUND"]


async def test_the_ranking_orders_the_villages_by_score(tree: Tree, month: Month) -> None:
    found = await data(
        tree, "county_admin", RANKING, unit=tree.unit_gid("weixin"), period=month.text
    )

    villages = found["assessmentRanking"]["villages"]
    assert [(v["rank"], v["orgUnit"]["name"], v["score"], v["maxScore"]) for v in villages] == [
        (1, "dahetan", 32.0, 35.0),
        (2, "shilong", 32.0, 35.0),  # a tie: the unit code decides
    ]
    assert villages[1]["criteria"] == [
        {"name": "硬件设施好", "max": 20.0, "awarded": 18.0},
        {"name": "党员教育好", "max": 15.0, "awarded": 14.0},
    ]


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_ranks_which_villages(tree: Tree, month: Month, viewer: str) -> None:
    year = str(month.first.year)
    result = await run(tree, viewer, RANKING, unit=tree.unit_gid("zhaxi"), period=year)

    if viewer in ZHAXI_READERS:
        assert result.data is not None
        names = [v["orgUnit"]["name"] for v in result.data["assessmentRanking"]["villages"]]
        assert names == ["dahetan", "shilong"]
    else:
        assert (result.data, codes(result)) == (None, ["NOT_FOUND"])


async def test_the_other_county_ranks_its_own_village(tree: Tree, month: Month) -> None:
    quarter = f"{month.first.year}-Q{(month.first.month - 1) // 3 + 1}"

    found = await data(
        tree, "yzh_admin", RANKING, unit=tree.unit_gid("yangzonghai"), period=quarter
    )

    assert found["assessmentRanking"]["period"] == quarter
    assert [v["orgUnit"]["name"] for v in found["assessmentRanking"]["villages"]] == ["qixing"]


async def test_the_reports_answer_alike_over_http_and_the_websocket(
    db: TortoiseContext, tree: Tree, month: Month, client: GraphQLClient
) -> None:
    operations: list[tuple[str, dict[str, Any]]] = [
        (REPORT, {"unit": tree.unit_gid("zhaxi"), "month": month.text}),
        (REPORT, {"unit": tree.unit_gid("zhaxi"), "month": "2026-13"}),
        (RANKING, {"unit": tree.unit_gid("zhaxi"), "period": month.text}),
    ]
    over_http: dict[str, list[Any]] = {}
    for viewer in EVERYONE:
        token = await client.login(viewer)
        over_http[viewer] = [await client.run(q, v, token) for q, v in operations]

    await assert_the_socket_answers_as_http(tree, EVERYONE, operations, over_http)
    for viewer in EVERYONE:
        report, bad, ranking = over_http[viewer]
        if viewer in ZHAXI_READERS:
            assert report["data"]["monthlyReport"]["rows"] == [SHILONG, DAHETAN]
            assert [v["rank"] for v in ranking["data"]["assessmentRanking"]["villages"]] == [1, 2]
        else:
            assert report["data"] is None and ranking["data"] is None
        assert bad["data"] is None


def _xlsx_get(client: GraphQLClient, token: str | None, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.http.get("/reports/monthly.xlsx", params=params, headers=headers)


@pytest.mark.parametrize("viewer", EVERYONE)
async def test_who_downloads_zhaxis_workbook(
    tree: Tree, month: Month, client: GraphQLClient, viewer: str
) -> None:
    token = await client.login(viewer)

    response = await _xlsx_get(client, token, orgUnitId=tree.unit_gid("zhaxi"), month=month.text)

    if viewer in ZHAXI_READERS:
        assert response.status_code == 200
        book = load_workbook(BytesIO(response.content))
        rows = list(book["巡河"].iter_rows(values_only=True))
        assert rows == [
            (
                "单位",
                "单位代码",
                "巡河次数",
                "巡河任务数",
                "巡河任务目标次数",
                "计入任务巡河次数",
                "完成巡河任务数",
            ),
            ("shilong", tree.units["shilong"].code, 4, 1, 6, 0, 0),
            ("dahetan", tree.units["dahetan"].code, 1, 0, 0, 0, 0),
            ("合计", None, 5, 1, 6, 0, 0),
        ]
    else:
        assert response.status_code == 404
        assert response.json() == {
            "data": None,
            "errors": [{"message": "No such org unit.", "extensions": {"code": "NOT_FOUND"}}],
        }


async def test_the_workbook_route_refuses_like_the_field(
    tree: Tree, month: Month, client: GraphQLClient
) -> None:
    zhaxi = tree.unit_gid("zhaxi")
    await User.create(username="nobody", password_hash=PASSWORD_HASH)
    nobody = await client.login("nobody")
    admin = await client.login("county_admin")

    anonymous = await _xlsx_get(client, None, orgUnitId=zhaxi, month=month.text)
    outsider = await _xlsx_get(client, nobody, orgUnitId=zhaxi, month=month.text)
    unknown = await _xlsx_get(
        client, admin, orgUnitId=to_global_id("OrgUnit", 999_999), month=month.text
    )
    bad = {m: await _xlsx_get(client, admin, orgUnitId=zhaxi, month=m) for m in ("2026-13", "abc")}
    missing = await _xlsx_get(client, admin, orgUnitId=zhaxi)

    assert anonymous.status_code == 401
    assert outsider.status_code == 403
    assert outsider.json()["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    for response in (*bad.values(), missing):
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"] == {"code": "VALIDATION"}


async def test_the_workbook_names_the_unit_and_month(
    tree: Tree, month: Month, client: GraphQLClient
) -> None:
    token = await client.login("county_admin")
    await OrgUnit.filter(id=tree.units["zhaxi"].id).update(name="扎西镇")

    response = await _xlsx_get(client, token, orgUnitId=tree.unit_gid("zhaxi"), month=month.text)

    code = tree.units["zhaxi"].code
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"] == (
        f'attachment; filename="monthly-report-{code}-{month.text}.xlsx"; '
        f"filename*=UTF-8''%E6%89%8E%E8%A5%BF%E9%95%87{month.text}%E6%9C%88%E6%8A%A5-{code}.xlsx"
    )
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["汇总", "巡河", "任务", "投诉", "奖惩", "六好排名"]
    assert list(book["奖惩"].iter_rows(values_only=True))[-1] == ("合计", None, 2, 2000, 1, 500.5)
    assert list(book["六好排名"].iter_rows(values_only=True))[1][:5] == (
        1,
        "dahetan",
        tree.units["dahetan"].code,
        32,
        35,
    )


def test_months_run_in_china_standard_time() -> None:
    first, after = Month(date(2026, 11, 1)).window()

    assert first == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert after == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert Month(date(2026, 12, 1)).next_first == date(2027, 1, 1)

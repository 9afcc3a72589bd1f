"""The red team's findings 2 and 3 of "Nothing outlives its authority", replayed on the demo.

Finding 2: corrections rewrote other people's records (an enterprise chief its own reward and
assessment, two township-level accounts the county's penalty, a township head the county's
assessment of itself, the county admin an inspector's finding). Finding 3: any role that filed
records filed any type (a grid leader an escalation and a reward, an enterprise chief a penalty
against another enterprise and a six-goods assessment of its host village). Each replay is
refused with a typed error and writes nothing; the legitimate authors still may.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from core.context import RequestContext, Viewer
from core.security import TokenSigner
from models.audit import AuditEvent
from models.org import OrgUnit
from models.people import User
from models.record import AccountabilityRecord
from policies.engine import PolicyEngine
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import TEST_SECRET
from tests.graph import mutation_errors

CREATE_RECORD = """
mutation File($input: CreateRecordInput!) {
  createRecord(input: $input) {
    record { id author { username } authority { code } }
    errors { field code }
  }
}
"""
WHEN = "2030-01-10T09:00:00+08:00"
SIX_GOODS = (
    ("硬件设施好", 20),
    ("党员教育好", 15),
    ("活动开展好", 15),
    ("工作业绩好", 20),
    ("创建特色好", 15),
    ("台账整理好", 15),
)
FULL_MARKS = [{"name": name, "maxScore": top, "awarded": top} for name, top in SIX_GOODS]

Demo = Callable[[str], RequestContext]


@pytest.fixture
async def demo(demo_db: TortoiseContext) -> Demo:
    engine = PolicyEngine()
    await engine.seed_if_empty()
    await engine.reload()
    users = {u.username: u for u in await User.all()}

    def context_for(username: str) -> RequestContext:
        user = users[username]
        return RequestContext(
            viewer=Viewer(id=user.id, username=user.username, person_id=user.person_id),
            policy=engine,
            request_id="red-team",
            signer=TokenSigner(TEST_SECRET, 3600),
        )

    return context_for


async def unit_gid(code: str) -> str:
    return to_global_id("OrgUnit", (await OrgUnit.get(code=code)).id)


async def record_gid(summary: str) -> str:
    return to_global_id("Record", (await AccountabilityRecord.get(summary=summary)).id)


async def state() -> tuple[int, int]:
    head = await AuditEvent.all().order_by("-seq").first()
    return await AccountabilityRecord.all().count(), head.seq if head else 0


async def attempt(demo: Demo, username: str, **given: Any) -> Any:
    result = await schema.execute(CREATE_RECORD, {"input": given}, context_value=demo(username))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["createRecord"]


# attacker, record type, unit code, summary of the record it corrects, typed part, refusal
REPLAYS = [
    # -- finding 2: corrections ------------------------------------------------------------
    pytest.param(
        "enterprise_chief",
        "REWARD",
        "e06",
        "年度优秀企业河长，通报表扬",
        {"amount": 500_000},
        ("orgUnitId", "FORBIDDEN"),
        id="enterprise chief raises its own reward from 5,000 to 500,000",
    ),
    pytest.param(
        "enterprise_chief",
        "ASSESSMENT",
        "e06",
        "企业河长年度考核：优秀",
        {"criteria": FULL_MARKS},
        ("orgUnitId", "FORBIDDEN"),
        id="enterprise chief gives its own assessment full marks",
    ),
    pytest.param(
        "luobu_head",
        "PENALTY",
        "shunhe",
        "巡河记录与轨迹不符，通报批评",
        {"amount": 0},
        ("correctsId", "FORBIDDEN"),
        id="township head replaces the county's penalty against 顺河村",
    ),
    pytest.param(
        "dept_head",
        "PENALTY",
        "shunhe",
        "巡河记录与轨迹不符，通报批评",
        {"amount": 0},
        ("orgUnitId", "FORBIDDEN"),
        id="paired department replaces the county's penalty against 顺河村",
    ),
    pytest.param(
        "zhaxi_head",
        "ASSESSMENT",
        "zhaxi",
        "扎西镇年度河长制工作考核",
        {"criteria": [{"name": "组织体系", "maxScore": 100, "awarded": 100}]},
        ("orgUnitId", "FORBIDDEN"),
        id="township head rewrites the county's assessment of 扎西镇",
    ),
    pytest.param(
        "county_admin",
        "INSPECTION_FINDING",
        "shunhe",
        "顺河村禁渔巡查记录 70 分钟 26 公里，与定位轨迹不符",
        {"summary": "经核实巡查记录无误"},
        ("orgUnitId", "FORBIDDEN"),
        id="county admin supersedes an inspector's finding",
    ),
    # -- finding 3: any role filed any type ------------------------------------------------
    pytest.param(
        "grid_leader",
        "ESCALATION",
        "shilong_g1",
        None,
        {"summary": "提请县级督办"},
        ("type", "VALIDATION"),
        id="grid leader files an escalation",
    ),
    pytest.param(
        "grid_leader",
        "REWARD",
        "shilong_g1",
        None,
        {"amount": 99_999},
        ("orgUnitId", "FORBIDDEN"),
        id="grid leader files a reward of 99,999",
    ),
    pytest.param(
        "enterprise_chief",
        "PENALTY",
        "e07",
        None,
        {"amount": 100_000},
        # The neighbouring enterprise is outside an enterprise chief's scope: not found.
        ("orgUnitId", "NOT_FOUND"),
        id="enterprise chief fines another enterprise 100,000",
    ),
    pytest.param(
        "enterprise_chief",
        "ASSESSMENT",
        "tc_yaochong",
        None,
        {"criteria": FULL_MARKS},
        ("orgUnitId", "FORBIDDEN"),
        id="enterprise chief gives its host village full six-goods marks",
    ),
]


@pytest.mark.parametrize(("attacker", "kind", "unit", "corrects", "part", "refusal"), REPLAYS)
async def test_the_replay_is_refused_and_nothing_is_written(
    demo: Demo,
    attacker: str,
    kind: str,
    unit: str,
    corrects: str | None,
    part: dict[str, Any],
    refusal: tuple[str, str],
) -> None:
    given = {"type": kind, "orgUnitId": await unit_gid(unit), "occurredAt": WHEN, **part}
    if corrects is not None:
        given["correctsId"] = await record_gid(corrects)
    before = await state()

    result = await schema.execute(CREATE_RECORD, {"input": given}, context_value=demo(attacker))

    assert mutation_errors(result) == [refusal]
    assert not (result.data or {}).get("createRecord", {}).get("record")
    assert await state() == before


@pytest.mark.parametrize(
    ("author", "kind", "unit", "corrects", "part", "authority"),
    [
        ("yzh_admin", "REWARD", "e06", "年度优秀企业河长，通报表扬", {"amount": 6_000}, "YZH"),
        ("county_admin", "PENALTY", "shunhe", "巡河记录与轨迹不符，通报批评", {}, "530629"),
        (
            "inspector",
            "INSPECTION_FINDING",
            "shunhe",
            "顺河村禁渔巡查记录 70 分钟 26 公里，与定位轨迹不符",
            {"summary": "补充：轨迹缺失两段"},
            "530629",
        ),
    ],
)
async def test_the_author_still_corrects_its_own_record(
    demo: Demo,
    author: str,
    kind: str,
    unit: str,
    corrects: str,
    part: dict[str, Any],
    authority: str,
) -> None:
    given = {
        "type": kind,
        "orgUnitId": await unit_gid(unit),
        "occurredAt": WHEN,
        "correctsId": await record_gid(corrects),
        **part,
    }
    records, _ = await state()

    corrected = await attempt(demo, author, **given)

    assert corrected["errors"] == []
    assert corrected["record"]["author"] == {"username": author}
    assert corrected["record"]["authority"] == {"code": authority}
    assert (await state())[0] == records + 1

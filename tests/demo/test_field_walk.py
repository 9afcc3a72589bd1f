"""The field loop walked over HTTP on the demo, as the programmes run it (上报 → 交办 → 处置 →
反馈): 石龙村一组's grid leader patrols 扎西河城区段 with a GPS track and two photos (one
saying by its EXIF where it was taken), and reports what was found from that patrol; 石龙村
hands it to its second grid, whose new leader handles it; the village verifies the work and
closes the report with feedback, which the reporter reads, with nothing else of the village.

The department's quota and the chain's progress on the demo are walked in
``tests/demo/test_demo_quotas.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from models.org import OrgUnit
from models.people import Person, User
from models.task import Task
from schema.node import to_global_id
from tests.conftest import demo_database
from tests.evidence import photo, upload
from tests.fixtures import PASSWORD_HASH
from tests.http.client import GraphQLClient, running_app
from tests.tracks import WGS84, track_along

in_module_loop = pytest.mark.asyncio(loop_scope="module")

# 扎西河城区段 as the demo draws it (demo/data/geometry.yaml): from (105.02, 27.83) north-east.
TOWN_REACH, ALONG = (105.02, 27.83), 60.5

FILE = """
mutation($input: CreateRecordInput!) {
  createRecord(input: $input) {
    record { id flagged flags { code } evidence { id takenAt location } }
    errors { field code message }
  }
}
"""
REPORT = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) {
    task { id status origin orgUnit { name } reporter { name } reportedFrom { id } }
    errors { field code message }
  }
}
"""
GRANT = """
mutation($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role } errors { field code message } }
}
"""
DECOMPOSE = """
mutation($input: DecomposeTaskInput!) {
  decomposeTask(input: $input) { subtasks { id orgUnit { name } } errors { field code } }
}
"""
TRANSITION = """
mutation($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { status feedback } errors { field code message } }
}
"""
VILLAGE_VIEW = """
query($id: ID!) {
  task(id: $id) {
    title status origin reporter { name }
    reportedFrom { summary flags { code } evidence { sha256 location } }
  }
}
"""
HANDLER_VIEW = """
query($id: ID!) {
  task(id: $id) { title status chainAbove { title issuerName status task { id } } }
}
"""
MY_REPORTS = """
{ myReports(first: 10) { edges { node { id title status feedback } } } }
"""
WATER = "query($code: String!) { waterBodyByCode(code: $code) { id } }"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[GraphQLClient]:
    async with demo_database(), running_app() as client:
        yield client


async def data(client: GraphQLClient, token: str, query: str, **variables: Any) -> Any:
    body = await client.run(query, variables, token)
    assert "errors" not in body, body
    return body["data"]


async def unit_id(code_key: str) -> str:
    """A demo unit's global ID by the name the seeds give it."""
    return to_global_id("OrgUnit", (await OrgUnit.get(name=code_key)).id)


async def second_grid_leader(client: GraphQLClient) -> str:
    """石龙村二组's grid leader 杨正福 gets an account, and the village appoints it there."""
    person = await Person.get(name="杨正福")
    account = await User.create(username="g2_leader", password_hash=PASSWORD_HASH, person=person)
    village = await client.login("village_sec")
    granted = await data(
        client,
        village,
        GRANT,
        input={
            "userId": to_global_id("User", account.id),
            "role": "grid_leader",
            "orgUnitId": await unit_id("石龙村二组网格"),
        },
    )
    assert granted["grantRole"] == {"grant": {"role": "grid_leader"}, "errors": []}
    return await client.login("g2_leader")


@in_module_loop
async def test_a_reported_issue_goes_up_down_and_its_answer_back_on_the_demo(
    demo: GraphQLClient,
) -> None:
    grid = await demo.login("grid_leader")
    village = await demo.login("village_sec")
    reach = (await data(demo, grid, WATER, code="zhaxi_river_town"))["waterBodyByCode"]["id"]

    # A patrol of an hour and a half along 扎西河城区段, three hours ago, with two photos: one
    # taken half-way and saying where, one saying nothing.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    track = track_along(start, 1.5, 3.0, origin=TOWN_REACH, azimuth=ALONG)
    lon, lat, _ = WGS84.fwd(TOWN_REACH[0], TOWN_REACH[1], ALONG, 1500)
    placed = await upload(demo, photo(start + timedelta(minutes=45), (lon, lat)), grid)
    bare = await upload(demo, photo(shade=40), grid)
    filed = await data(
        demo,
        grid,
        FILE,
        input={
            "type": "PATROL",
            "orgUnitId": await unit_id("石龙村一组网格"),
            "waterBodyId": reach,
            "occurredAt": start.isoformat(),
            "endedAt": (start + timedelta(hours=1.5)).isoformat(),
            "summary": "巡河发现倒伏树木阻塞河道",
            "patrol": {"track": track, "findings": ["倒伏树木阻塞河道"]},
            "evidenceIds": [placed["evidence"]["id"], bare["evidence"]["id"]],
        },
    )
    record = filed["createRecord"]["record"]
    assert filed["createRecord"]["errors"] == []
    assert record["flagged"] is False and record["flags"] == []  # plausible, on the water
    assert [e["location"] is not None for e in record["evidence"]] == [True, False]
    assert record["evidence"][0]["location"]["type"] == "Point"

    # 上报: from the patrol, to the village.
    reported = await data(
        demo,
        grid,
        REPORT,
        input={
            "title": "倒伏树木阻塞扎西河城区段",
            "description": "一组网格巡河发现，需机械清理。",
            "orgUnitId": await unit_id("石龙村一组网格"),
            "waterBodyId": reach,
            "recordId": record["id"],
            "evidenceIds": [placed["evidence"]["id"]],
        },
    )
    task = reported["reportIssue"]["task"]
    assert reported["reportIssue"]["errors"] == []
    assert (task["status"], task["origin"], task["orgUnit"]) == (
        "ASSIGNED",
        "REPORTED",
        {"name": "石龙村"},
    )
    assert task["reporter"] == {"name": "王秀英"} and task["reportedFrom"] == {"id": record["id"]}

    # The village reads what it received: the patrol it came from and its photos.
    seen = (await data(demo, village, VILLAGE_VIEW, id=task["id"]))["task"]
    assert seen["origin"] == "REPORTED" and seen["reporter"] == {"name": "王秀英"}
    assert seen["reportedFrom"]["flags"] == []
    assert [e["sha256"] for e in seen["reportedFrom"]["evidence"]] == [
        placed["evidence"]["sha256"],
        bare["evidence"]["sha256"],
    ]
    fetched = await demo.http.get(
        f"/evidence/{placed['evidence']['sha256']}", headers={"Authorization": f"Bearer {village}"}
    )
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/jpeg"

    # 交办: to 石龙村二组, whose leader the village appoints.
    handler = await second_grid_leader(demo)
    parts = [{"orgUnitId": await unit_id("石龙村二组网格"), "title": "清理倒伏树木"}]
    split = await data(demo, village, DECOMPOSE, input={"taskId": task["id"], "parts": parts})
    (subtask,) = split["decomposeTask"]["subtasks"]
    assert subtask["orgUnit"] == {"name": "石龙村二组网格"}

    # 处置: the second grid sees what its task was split from, not the village's task itself.
    context = (await data(demo, handler, HANDLER_VIEW, id=subtask["id"]))["task"]
    assert context["chainAbove"] == [
        {
            "title": "倒伏树木阻塞扎西河城区段",
            "issuerName": "石龙村",
            "status": "ASSIGNED",
            "task": None,
        }
    ]
    for action in ("START", "SUBMIT"):
        moved = await data(
            demo, handler, TRANSITION, input={"taskId": subtask["id"], "action": action}
        )
        assert moved["transitionTask"]["errors"] == [], moved
    verified = await data(
        demo, village, TRANSITION, input={"taskId": subtask["id"], "action": "VERIFY"}
    )
    assert verified["transitionTask"]["task"]["status"] == "VERIFIED"

    # 反馈: the village closes the report with an answer.
    answer = "已组织机械清理，河道恢复畅通。"
    closed = await data(
        demo,
        village,
        TRANSITION,
        input={"taskId": task["id"], "action": "VERIFY", "feedback": answer},
    )
    assert closed["transitionTask"] == {
        "task": {"status": "VERIFIED", "feedback": answer},
        "errors": [],
    }

    # The reporter reads the answer among its reports, and nothing else of the village.
    mine = (await data(demo, grid, MY_REPORTS))["myReports"]["edges"]
    assert mine[0]["node"] == {
        "id": task["id"],
        "title": "倒伏树木阻塞扎西河城区段",
        "status": "VERIFIED",
        "feedback": answer,
    }
    others = await Task.filter(
        org_unit_id=(await OrgUnit.get(name="石龙村")).id, reported_by_id=None
    ).first()
    assert others is not None
    hidden = await data(demo, grid, "query($id: ID!) { task(id: $id) { id } }",
                        id=to_global_id("Task", others.id))  # fmt: skip
    assert hidden == {"task": None}

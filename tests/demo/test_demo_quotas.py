"""Quotas and the chain of tasks on the demo, over HTTP: the department's yearly patrols count
only its plausible patrols on its paired river, verification waits for the quota, progress
moves up every level, and parents follow their subtasks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from models.audit import AuditEvent
from models.enums import CLOSED_STATUSES, TaskStatus
from models.task import Task
from resolvers.quota import QuotaTask, count_done
from schema.node import to_global_id
from tests.conftest import demo_database
from tests.http.client import GraphQLClient, running_app
from tests.tracks import track_along

in_module_loop = pytest.mark.asyncio(loop_scope="module")

# 倒流河罗布段 as the demo draws it (demo/data/geometry.yaml): from (105.08, 27.90) north-east.
DAOLIU_LUOBU = (105.08, 27.90)
ALONG_DAOLIU = 41.5  # degrees
ZHAXI_TOWN = ((105.02, 27.83), 60.5)  # 扎西河城区段, likewise
QUOTA_TITLE = "县水务局挂钩河段年度巡河（不少于 6 次）"

TASK = """
query($id: ID!) {
  task(id: $id) { title status progress quota { target done period { from to } } }
}
"""
FILE = """
mutation($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id flags { code } } errors { field code message } }
}
"""
TRANSITION = """
mutation($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { status } errors { field code message } }
}
"""
WATER = "query($code: String!) { waterBodyByCode(code: $code) { id } }"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[GraphQLClient]:
    async with demo_database(), running_app() as client:
        yield client


async def gid(title: str) -> str:
    return to_global_id("Task", (await Task.get(title=title)).id)


async def read(client: GraphQLClient, token: str, task: str) -> Any:
    body = await client.run(TASK, {"id": task}, token)
    assert "errors" not in body, body
    return body["data"]["task"]


async def act(client: GraphQLClient, token: str, task: str, action: str) -> Any:
    body = await client.run(TRANSITION, {"input": {"taskId": task, "action": action}}, token)
    assert "errors" not in body, body
    return body["data"]["transitionTask"]


async def patrol(
    client: GraphQLClient,
    token: str,
    task: str,
    water: str,
    start: datetime,
    *,
    km: float = 5.0,
    hours: float = 2,
    along: tuple[tuple[float, float], float] = (DAOLIU_LUOBU, ALONG_DAOLIU),
) -> list[str]:
    """A patrol for the water bureau along a river; the codes of its flags."""
    bureau = await Task.get(title=QUOTA_TITLE)
    given = {
        "type": "PATROL",
        "orgUnitId": to_global_id("OrgUnit", bureau.org_unit_id),
        "taskId": task,
        "waterBodyId": water,
        "occurredAt": start.isoformat(),
        "endedAt": (start + timedelta(hours=hours)).isoformat(),
        "patrol": {"track": track_along(start, hours, km, origin=along[0], azimuth=along[1])},
    }
    body = await client.run(FILE, {"input": given}, token)
    assert "errors" not in body, body
    answer = body["data"]["createRecord"]
    assert answer["errors"] == [], answer
    return [f["code"] for f in answer["record"]["flags"]]


async def water_id(client: GraphQLClient, token: str, code: str) -> str:
    body = await client.run(WATER, {"code": code}, token)
    found: str = body["data"]["waterBodyByCode"]["id"]
    return found


@in_module_loop
async def test_the_demo_keeps_the_rules_of_quotas_and_parents(demo: GraphQLClient) -> None:
    """As loaded: every verified quota met, no parent submitted or verified with an open
    subtask, no parent still ASSIGNED below which work has started."""
    tasks = await Task.all()
    quotas = [q for t in tasks if (q := QuotaTask.of(t)) is not None]
    done = await count_done(quotas)
    by_id = {t.id: t for t in tasks}
    children: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        if task.parent_id is not None:
            children[task.parent_id].append(task)
    started = {TaskStatus.IN_PROGRESS, TaskStatus.SUBMITTED, TaskStatus.REJECTED}

    unmet = [
        by_id[q.id].title
        for q in quotas
        if by_id[q.id].status is TaskStatus.VERIFIED and done[q.id] < q.target
    ]
    submitted_early = [
        t.title
        for t in tasks
        if t.status in (TaskStatus.SUBMITTED, TaskStatus.VERIFIED)
        and any(c.status not in CLOSED_STATUSES for c in children[t.id])
    ]
    never_started = [
        t.title
        for t in tasks
        if t.status is TaskStatus.ASSIGNED and any(c.status in started for c in children[t.id])
    ]

    assert (unmet, submitted_early, never_started) == ([], [], [])
    assert sorted(
        (by_id[q.id].title, done[q.id], q.target)
        for q in quotas
        if by_id[q.id].status is TaskStatus.VERIFIED
    ) == [("党政办公室挂钩汤池渠巡河", 6, 6)]
    assert done[(await Task.get(title=QUOTA_TITLE)).id] == 4  # the water bureau's, 4 of 6


@in_module_loop
async def test_the_department_quota_counts_only_its_plausible_patrols_on_its_river(
    demo: GraphQLClient,
) -> None:
    dept = await demo.login("dept_head")
    county = await demo.login("county_admin")
    task = await gid(QUOTA_TITLE)
    before = await read(demo, dept, task)
    paired = await water_id(demo, dept, "daoliu_luobu")
    # The county files one for the bureau on 扎西河城区段, a river the bureau is not paired with.
    elsewhere = await water_id(demo, county, "zhaxi_river_town")
    now = datetime.now(UTC).replace(microsecond=0)
    off_pairing = now - timedelta(days=4)

    flags = [
        await patrol(demo, dept, task, paired, now - timedelta(days=3), km=40, hours=0.5),
        await patrol(demo, county, task, elsewhere, off_pairing, km=3, hours=1.5, along=ZHAXI_TOWN),
        await patrol(demo, dept, task, paired, now - timedelta(days=300)),  # before the period
    ]
    after = await read(demo, dept, task)

    assert flags == [["TOO_FAST", "OFF_WATER"], [], []]  # 40 km in half an hour
    assert before["quota"]["target"] == 6
    assert before["quota"]["done"] == after["quota"]["done"] == 4
    assert (await read(demo, county, task))["quota"] == after["quota"]

    # Submitted at 4 of 6, the county refuses to sign it off.
    assert (await act(demo, dept, task, "SUBMIT"))["errors"] == []
    refused = await act(demo, county, task, "VERIFY")
    period = after["quota"]["period"]
    assert refused == {
        "task": None,
        "errors": [
            {
                "field": "action",
                "code": "INVALID_TRANSITION",
                "message": f"4 of 6 patrols counted ({period['from']} to {period['to']}): "
                "the quota is not met yet.",
            }
        ],
    }
    assert (await act(demo, county, task, "REJECT"))["errors"] == []
    assert (await act(demo, dept, task, "START"))["errors"] == []

    # Two more patrols along the river bring it to 6: submitted again, it is verified.
    for days in (2, 1):
        assert await patrol(demo, dept, task, paired, now - timedelta(days=days, hours=2)) == []
    assert (await read(demo, dept, task))["quota"]["done"] == 6
    assert (await act(demo, dept, task, "SUBMIT"))["errors"] == []
    verified = await act(demo, county, task, "VERIFY")

    assert verified == {"task": {"status": "VERIFIED"}, "errors": []}
    assert (await read(demo, dept, task))["progress"] == 1.0


@in_module_loop
async def test_a_verified_grid_task_moves_progress_up_three_levels(demo: GraphQLClient) -> None:
    county = await demo.login("county_admin")
    chain = [
        await gid("石龙村一组网格禁渔日巡查"),
        await gid("石龙村沿河禁渔宣传入户"),
        await gid("扎西镇禁渔巡查与宣传"),
        await gid("赤水河流域（威信段）全面禁渔"),
    ]
    before = [(await read(demo, county, t))["progress"] for t in chain]

    grid = await demo.login("grid_leader")
    village = await demo.login("village_sec")
    assert (await act(demo, grid, chain[0], "SUBMIT"))["errors"] == []
    assert (await act(demo, village, chain[0], "VERIFY"))["errors"] == []
    after = [(await read(demo, county, t))["progress"] for t in chain]

    # village: grid 1 of 2 grid tasks; township: the village's half beside 大河滩's verified
    # task; county: the township beside 罗布镇 (nothing verified), 麟凤镇's cancelled.
    assert before == [None, 0.0, 0.5, 0.25]
    assert after == [None, 0.5, 0.75, 0.375]
    # Every reader of the village's task reads the same figure.
    assert (await read(demo, village, chain[1]))["progress"] == 0.5


@in_module_loop
async def test_a_parent_with_open_subtasks_is_not_submitted(demo: GraphQLClient) -> None:
    luobu = await demo.login("luobu_head")
    task = await gid("罗布镇禁渔巡查与宣传")
    events = await AuditEvent.all().count()

    refused = await act(demo, luobu, task, "SUBMIT")

    assert refused == {
        "task": None,
        "errors": [
            {
                "field": "action",
                "code": "INVALID_TRANSITION",
                "message": "Cannot submit it: 2 of its subtasks are still open "
                "(not verified or cancelled).",
            }
        ],
    }
    assert (await read(demo, luobu, task))["status"] == "IN_PROGRESS"
    assert await AuditEvent.all().count() == events


@in_module_loop
async def test_the_first_subtask_to_start_starts_its_parent(demo: GraphQLClient) -> None:
    county = await demo.login("county_admin")
    parent = await gid("绿色产业发展：生态茶、竹和林下经济")
    child = await gid("高田乡方竹产业基地建设")
    assert (await read(demo, county, parent))["status"] == "ASSIGNED"

    started = await act(demo, county, child, "START")

    assert started == {"task": {"status": "IN_PROGRESS"}, "errors": []}
    assert (await read(demo, county, parent))["status"] == "IN_PROGRESS"
    last = (
        await AuditEvent.filter(
            entity_id=str((await Task.get(title="绿色产业发展：生态茶、竹和林下经济")).id)
        )
        .order_by("-seq")
        .first()
    )
    assert last is not None
    assert (last.action, (last.before or {}).get("status"), (last.after or {}).get("status")) == (
        "task.start",
        "ASSIGNED",
        "IN_PROGRESS",
    )

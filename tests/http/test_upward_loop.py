"""The upward loop over HTTP, end to end (上报 → 交办 → 处置 → 反馈): a grid leader reports an
issue, the village dispatches it to another of its grids, that grid handles it, the village
verifies the work and closes the reported task with feedback, and the reporter reads the
answer and nothing else of the village; the reads answer alike over the websocket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.audit import AuditEvent
from models.enums import OrgLevel, RecordType, TaskOrigin
from models.org import OrgUnit
from models.people import Person, User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from schema.node import to_global_id
from tests.evidence import photo, upload
from tests.fixtures import PASSWORD_HASH, Tree
from tests.http.client import GraphQLClient, running_app
from tests.http.test_websocket_authority import assert_the_socket_answers_as_http, token_for

REPORT = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) {
    task {
      id title status origin dueAt feedback evidenceIds location
      orgUnit { name } issuer { name } reporter { name phone }
      reportedFrom { id } parent { id }
    }
    errors { field code }
  }
}
"""
DECOMPOSE = """
mutation($input: DecomposeTaskInput!) {
  decomposeTask(input: $input) { subtasks { id orgUnit { name } } errors { field code } }
}
"""
TRANSITION = """
mutation($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { status feedback } errors { field code } }
}
"""
READ = "query($id: ID!) { task(id: $id) { title status feedback dueAt origin } }"
CHAIN = """
query($id: ID!) {
  task(id: $id) {
    title parent { id }
    chainAbove { title issuerName dueAt status task { id } }
  }
}
"""
VILLAGE_TASKS = """
query($id: ID!) {
  own: tasks(filter: { orgUnitId: $id, includeDescendants: false }, first: 50) { totalCount }
  subtree: tasks(filter: { orgUnitId: $id }, first: 50) { edges { node { orgUnit { name } } } }
}
"""
POINT = {"type": "Point", "coordinates": [105.05, 27.84]}


@dataclass
class Loop:
    tree: Tree
    client: GraphQLClient
    tokens: dict[str, str]

    async def run(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        return await self.client.run(query, variables, self.tokens[who])

    async def data(self, who: str, query: str, **variables: Any) -> Any:
        body = await self.run(who, query, **variables)
        assert "errors" not in body, body
        return body["data"]


async def add_grid(tree: Tree) -> None:
    """A second grid of 石龙村 with its own grid leader: where the village dispatches."""
    unit = await OrgUnit.place(code="grid-d-1", name="grid_d", level=OrgLevel.GRID,
                               parent=tree.units["shilong"])  # fmt: skip
    tree.units["grid_d"] = unit
    tree.people["grid_d"] = await Person.create(name="person of grid_d", org_unit=unit)
    user = await User.create(
        username="grid_d_leader", password_hash=PASSWORD_HASH, person=tree.people["grid_d"]
    )
    tree.users["grid_d_leader"] = user
    await CasbinRule.create(ptype="g", v0=f"user:{user.id}", v1="grid_leader", v2=f"{unit.path}*")
    await tree.engine.reload()


@pytest.fixture
async def loop(db: TortoiseContext, tree: Tree) -> Any:
    await add_grid(tree)
    async with running_app() as client:
        yield Loop(tree, client, {name: token_for(user) for name, user in tree.users.items()})


async def test_a_reported_issue_goes_up_down_and_its_answer_back_to_the_reporter(
    loop: Loop,
) -> None:
    tree = loop.tree
    patrol = await AccountabilityRecord.create(
        type=RecordType.PATROL,
        org_unit=tree.units["grid_a"],
        occurred_at=datetime.now(UTC) - timedelta(hours=2),
        summary="plastic dumped at the bridge",
    )
    uploaded = await upload(loop.client, photo(), loop.tokens["grid_leader"])
    evidence = uploaded["evidence"]["id"]
    before = datetime.now(UTC)

    reported = await loop.data(
        "grid_leader",
        REPORT,
        input={
            "title": "Plastic dumped at the bridge",
            "description": "Two bags, too heavy to carry.",
            "orgUnitId": tree.unit_gid("grid_a"),
            "category": "POLLUTION_TREATMENT",
            "location": POINT,
            "evidenceIds": [evidence],
            "recordId": to_global_id("Record", patrol.id),
        },
    )

    task = reported["reportIssue"]["task"]
    assert reported["reportIssue"]["errors"] == []
    assert {k: task[k] for k in ("title", "status", "origin", "feedback", "evidenceIds")} == {
        "title": "Plastic dumped at the bridge",
        "status": "ASSIGNED",
        "origin": "REPORTED",
        "feedback": None,
        "evidenceIds": [evidence],
    }
    assert task["orgUnit"] == task["issuer"] == {"name": "shilong"}
    assert task["reporter"] == {"name": "person of grid_a", "phone": "13812345678"}
    assert task["reportedFrom"] == {"id": to_global_id("Record", patrol.id)}
    assert task["location"] == POINT and task["parent"] is None
    due = datetime.fromisoformat(task["dueAt"])
    assert before + timedelta(days=7) <= due <= datetime.now(UTC) + timedelta(days=7)

    # 交办: the village hands it to another of its grids.
    parts = [{"orgUnitId": tree.unit_gid("grid_d"), "title": "Clear the bags at the bridge"}]
    split = await loop.data("village_sec", DECOMPOSE, input={"taskId": task["id"], "parts": parts})
    (subtask,) = split["decomposeTask"]["subtasks"]
    assert subtask["orgUnit"] == {"name": "grid_d"}

    # 处置: that grid sees the chain above its subtask, not the village's task itself.
    chain = await loop.data("grid_d_leader", CHAIN, id=subtask["id"])
    assert chain["task"] == {
        "title": "Clear the bags at the bridge",
        "parent": None,
        "chainAbove": [
            {
                "title": "Plastic dumped at the bridge",
                "issuerName": "shilong",
                "dueAt": task["dueAt"],
                "status": "ASSIGNED",
                "task": None,
            }
        ],
    }
    for action in ("START", "SUBMIT"):
        moved = await loop.data(
            "grid_d_leader", TRANSITION, input={"taskId": subtask["id"], "action": action}
        )
        assert moved["transitionTask"]["errors"] == []
    verified = await loop.data(
        "village_sec", TRANSITION, input={"taskId": subtask["id"], "action": "VERIFY"}
    )
    assert verified["transitionTask"]["task"] == {"status": "VERIFIED", "feedback": None}

    # 反馈: a reported task closes only with feedback.
    close = {"taskId": task["id"], "action": "VERIFY"}
    bare = await loop.data("village_sec", TRANSITION, input=close)
    assert bare["transitionTask"] == {
        "task": None,
        "errors": [{"field": "feedback", "code": "VALIDATION"}],
    }
    answer = "Cleared on the 3rd by grid_d; the bridge gets a sign."
    closed = await loop.data("village_sec", TRANSITION, input={**close, "feedback": answer})
    assert closed["transitionTask"] == {
        "task": {"status": "VERIFIED", "feedback": answer},
        "errors": [],
    }

    # The reporter reads its report and its answer, and nothing else of the village.
    read = await loop.data("grid_leader", READ, id=task["id"])
    assert read["task"] == {
        "title": "Plastic dumped at the bridge",
        "status": "VERIFIED",
        "feedback": answer,
        "dueAt": task["dueAt"],
        "origin": "REPORTED",
    }
    assert await loop.data("grid_leader", READ, id=subtask["id"]) == {"task": None}
    assert await loop.data("grid_leader", READ, id=tree.task_gid("shilong")) == {"task": None}
    village = await loop.data("grid_leader", VILLAGE_TASKS, id=tree.unit_gid("shilong"))
    assert village == {  # the reporter's own grid only: neither the village's nor grid_d's
        "own": {"totalCount": 0},
        "subtree": {"edges": [{"node": {"orgUnit": {"name": "grid_a"}}}]},
    }

    stored = await Task.get(title=task["title"])
    assert stored.origin is TaskOrigin.REPORTED
    assert stored.reported_by_id == tree.users["grid_leader"].id
    events = AuditEvent.filter(entity_type="task", entity_id=str(stored.id)).order_by("seq")
    # the village's task started with its subtask (a parent follows its first subtask)
    assert [e.action for e in await events] == [
        "task.create",
        "task.decompose",
        "task.start",
        "task.verify",
    ]


async def test_the_reads_answer_alike_over_the_websocket(loop: Loop) -> None:
    tree = loop.tree
    reported = await loop.data(
        "grid_leader",
        REPORT,
        input={"title": "Fish poisoned upstream", "orgUnitId": tree.unit_gid("grid_a")},
    )
    task_id = reported["reportIssue"]["task"]["id"]
    parts = [{"orgUnitId": tree.unit_gid("grid_d")}]
    split = await loop.data("village_sec", DECOMPOSE, input={"taskId": task_id, "parts": parts})
    subtask_id = split["decomposeTask"]["subtasks"][0]["id"]
    viewers = ["grid_leader", "grid_d_leader", "village_sec", "inspector", "luobu_head"]
    operations = [
        (READ, {"id": task_id}),
        (CHAIN, {"id": subtask_id}),
        (VILLAGE_TASKS, {"id": tree.unit_gid("shilong")}),
    ]
    over_http = {v: [await loop.run(v, q, **vs) for q, vs in operations] for v in viewers}

    await assert_the_socket_answers_as_http(tree, viewers, operations, over_http)
    assert over_http["grid_leader"][0]["data"]["task"]["title"] == "Fish poisoned upstream"
    assert over_http["grid_leader"][1] == {"data": {"task": None}}
    assert over_http["grid_d_leader"][0] == {"data": {"task": None}}
    assert over_http["grid_d_leader"][1]["data"]["task"]["chainAbove"][0]["task"] is None
    assert over_http["village_sec"][1]["data"]["task"]["chainAbove"][0]["task"] == {"id": task_id}
    assert over_http["luobu_head"] == [{"data": {"task": None}}] * 2 + [over_http["luobu_head"][2]]


async def test_a_report_cannot_cite_an_upload_its_reporter_may_not_read(loop: Loop) -> None:
    """As a record may not: an upload is cited only by whoever may read it."""
    others = await upload(loop.client, photo(shade=9), loop.tokens["village_sec"])
    before = await Task.all().count()

    refused = await loop.data(
        "grid_leader",
        REPORT,
        input={
            "title": "Plastic dumped at the bridge",
            "orgUnitId": loop.tree.unit_gid("grid_a"),
            "evidenceIds": [others["evidence"]["id"]],
        },
    )

    assert refused["reportIssue"] == {
        "task": None,
        "errors": [{"field": "evidenceIds", "code": "NOT_FOUND"}],
    }
    assert await Task.all().count() == before

"""The example operations in docs/queries run against the demo data and say what they claim."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from demo.loader import load_demo
from policies.engine import PolicyEngine
from tests.http.client import GraphQLClient, running_app

QUERIES = Path(__file__).resolve().parents[2] / "docs" / "queries"


def operation(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text(encoding="utf-8")


@pytest.fixture
async def demo_client(db: TortoiseContext) -> Any:
    await PolicyEngine().seed_if_empty()
    assert await load_demo()
    async with running_app() as client:
        yield client


async def test_township_dashboard(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("zhaxi_head")
    me = await demo_client.run("{ me { roles { orgUnit { id name } } } }", token=token)
    township = me["data"]["me"]["roles"][0]["orgUnit"]

    body = await demo_client.run(
        operation("township_dashboard"), {"township": township["id"]}, token=token
    )

    assert "errors" not in body, body
    unit = body["data"]["orgUnit"]
    assert unit["name"] == township["name"] == "扎西镇"
    assert unit["level"] == "TOWNSHIP"
    villages = unit["children"]["edges"]
    assert villages and all(v["node"]["level"] == "VILLAGE" for v in villages)
    assert unit["taskStats"]["total"] >= sum(v["node"]["taskStats"]["total"] for v in villages)
    assert unit["overdue"]["totalCount"] == unit["taskStats"]["overdue"] > 0


async def test_inspector_assignment_history(demo_client: GraphQLClient) -> None:
    admin = await demo_client.login("county_admin")
    inbox = await demo_client.run(
        "{ tasks(filter: { status: [ASSIGNED] }, first: 1) { edges { node { id version"
        " orgUnit { id } } } } }",
        token=admin,
    )
    task = inbox["data"]["tasks"]["edges"][0]["node"]
    assigned = await demo_client.run(
        "mutation($id: ID!, $unit: ID!, $v: Int) { assignTask(input: { taskId: $id,"
        " orgUnitId: $unit, expectedVersion: $v }) { task { version } errors { code message } } }",
        {"id": task["id"], "unit": task["orgUnit"]["id"], "v": task["version"]},
        token=admin,
    )
    assert assigned["data"]["assignTask"]["errors"] == [], assigned

    inspector = await demo_client.login("inspector")
    body = await demo_client.run(operation("inspector_assignment_history"), token=inspector)

    assert "errors" not in body, body
    events = body["data"]["auditEvents"]["edges"]
    assert [e["node"]["entityId"] for e in events] == [task["id"]]
    assert events[0]["node"]["actor"] == {"username": "county_admin"}
    assert events[0]["node"]["before"]["version"] == task["version"]
    chain = body["data"]["verifyAuditChain"]
    assert chain["ok"] is True and chain["firstBrokenSeq"] is None and chain["checked"] >= 1


async def test_grid_leader_inbox(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("grid_leader")

    body = await demo_client.run(operation("grid_leader_inbox"), token=token)

    assert "errors" not in body, body
    grid = body["data"]["me"]["roles"][0]["orgUnit"]["path"]
    tasks = [e["node"] for e in body["data"]["tasks"]["edges"]]
    assert tasks, "the demo grid has open tasks"
    assert {t["status"] for t in tasks} <= {"ASSIGNED", "IN_PROGRESS", "REJECTED"}
    assert all(t["orgUnit"]["path"].startswith(grid) for t in tasks)  # the grid's subtree
    assert all(t["issuer"] is not None for t in tasks)


async def test_inspector_who_could_verify(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("inspector")
    verified = await demo_client.run(
        "{ tasks(filter: { status: [VERIFIED] }, first: 1) { edges { node { id createdAt } } } }",
        token=token,
    )
    task = verified["data"]["tasks"]["edges"][0]["node"]
    at = task["createdAt"]  # a moment inside the task's life

    body = await demo_client.run(
        operation("inspector_who_could_verify"), {"task": task["id"], "at": at}, token=token
    )

    assert "errors" not in body, body
    assert body["data"]["task"]["status"] == "VERIFIED"
    issuer = body["data"]["task"]["issuer"]["path"]
    holders = body["data"]["accessHolders"]
    assert holders, "somebody could verify a verified task"
    moment = datetime.fromisoformat(at)
    for holder in holders:
        assert datetime.fromisoformat(holder["grantedAt"]) <= moment
        assert holder["revokedAt"] is None or datetime.fromisoformat(holder["revokedAt"]) > moment
        assert issuer.startswith(holder["orgUnit"]["path"])  # at the issuer or above it
    assert {h["role"] for h in holders} <= {
        "county_admin",
        "township_head",
        "village_secretary",
        "department_head",
    }

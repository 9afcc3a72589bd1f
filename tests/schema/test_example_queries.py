"""The example operations in docs/queries run against the demo data and say what they claim."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from models.audit import AuditEvent
from policies.engine import PolicyEngine
from resolvers.observations import PROGRAMME_ZONE
from tests.conftest import demo_database
from tests.http.client import GraphQLClient, running_app
from tests.operator_cli import in_process

QUERIES = Path(__file__).resolve().parents[2] / "docs" / "queries"
NODE_TYPE = "query($id: ID!) { node(id: $id) { id __typename } }"
NODE_TYPES = {"assignee": "Person", "orgUnit": "OrgUnit"}


def operation(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text(encoding="utf-8")


# The examples read the demo: one load serves the module's tests, which run in the module's
# event loop (the one the load's database connections belong to).
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_client() -> Any:
    # A fresh installation: the demo seeds the role policy itself.
    async with demo_database(), running_app() as client:
        yield client


@in_module_loop
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


@in_module_loop
async def test_inspector_assignment_history(demo_client: GraphQLClient) -> None:
    inspector = await demo_client.login("inspector")

    body = await demo_client.run(operation("inspector_assignment_history"), token=inspector)

    assert "errors" not in body, body
    events = [e["node"] for e in body["data"]["auditEvents"]["edges"]]
    assert len(events) == body["data"]["auditEvents"]["totalCount"] >= 5
    for event in events:
        assert event["action"] == "task.assign"
        assert event["actor"]["username"].endswith(("_admin", "_head", "_sec")), event
        changes = {c["field"]: c for c in event["changes"]}
        version = changes["version"]
        assert int(version["after"]) == int(version["before"]) + 1
        assert changes["assignee"]["before"] is None
        assert changes["assignee"]["after"] is not None
    named = {
        (field, value)
        for event in events[:3]
        for change in event["changes"]
        if (field := change["field"]) in NODE_TYPES
        for value in (change["before"], change["after"])
        if value is not None
    }
    assert named
    for field, value in named:  # references are global IDs the inspector can follow
        found = await demo_client.run(NODE_TYPE, {"id": value}, token=inspector)
        assert found["data"]["node"] == {"id": value, "__typename": NODE_TYPES[field]}
    verified = [e["node"] for e in body["data"]["verified"]["edges"]]
    assert len(verified) >= 5
    for task in verified:
        actions = [entry["action"] for entry in task["history"]]
        assert actions[0] == "task.create" and actions[-1] == "task.verify", task["title"]
        submitter = [e for e in task["history"] if e["action"] == "task.submit"][-1]["actor"]
        assert task["history"][-1]["actor"] != submitter
    chain = body["data"]["verifyAuditChain"]
    assert chain["ok"] is True and chain["firstBrokenSeq"] is None and chain["checked"] > 150
    assert (
        chain["checked"]
        == await AuditEvent.filter(jurisdiction=await _county_of(demo_client, inspector)).count()
    )


# An example the public runs, without an account ("Run as anonymous."): sent with no token.
ANONYMOUS = "anonymous"
RUN_AS = {
    "township_dashboard": "zhaxi_head",
    "inspector_assignment_history": "inspector",
    "grid_leader_inbox": "grid_leader",
    "inspector_who_could_verify": "inspector",
    "inspector_prove_event": "inspector",
    "grid_leader_my_tasks": "grid_leader",
    "department_head_field": "dept_head",
    "village_secretary_notifications": "village_sec",
    "grid_leader_screen": "grid_leader",
    "public_complaint_status": ANONYMOUS,
    "township_head_complaint": "luobu_head",
    "county_monthly_report": "county_admin",
    "township_ranking": "yzh_admin",
}


def last_full_month() -> str:
    """The month before this one in China Standard Time: the demo's dates are relative to
    its load, and its monthly figures (``last_month_day`` in demo/data) fall in that month."""
    today = datetime.now(PROGRAMME_ZONE).date()
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _empty_parts(value: Any, where: str = "data") -> list[str]:
    """Where a result holds nothing: a null field, an empty list or a zero total count."""
    if value is None:
        return [where]
    if isinstance(value, list):
        found = [] if value else [where]
        for number, item in enumerate(value):
            found += _empty_parts(item, f"{where}[{number}]")
        return found
    if isinstance(value, dict):
        found = [f"{where}.totalCount"] if value.get("totalCount") == 0 else []
        for key, item in value.items():
            if key in NULLABLE or (key, item, value.get("action")) == PUBLIC_CREATION:
                continue
            found += _empty_parts(item, f"{where}.{key}")
        return found
    return []


# A complaint's task is created by the public, without an account: the only audit event with no
# actor (tests/demo/test_demo_history.py holds the demo to that).
PUBLIC_CREATION = ("actor", None, "task.create")
# Fields that are null or empty for some rows by their nature (no deadline, no parent, a
# chain with nothing broken, the last page, a grant still held).
NULLABLE = {
    "dueAt",
    "feedback",  # a report still being handled has no answer yet
    "parent",
    "assignee",
    "firstBrokenSeq",
    "endCursor",
    "before",
    "after",
    "revokedAt",
    "hashes",  # the proof of the last leaf of a log of one
    "partner",  # a pairing names a partner unit or a water body, never both
    "waterBody",
}


def test_every_example_is_run() -> None:
    assert {path.stem for path in QUERIES.glob("*.graphql")} == set(RUN_AS)


@pytest.mark.parametrize("name", sorted(RUN_AS))
@in_module_loop
async def test_every_example_returns_data_for_its_account(
    demo_client: GraphQLClient, name: str
) -> None:
    if RUN_AS[name] == ANONYMOUS:
        body = await demo_client.run(operation(name), _heading_variables(name))
        assert "errors" not in body, body
        assert _empty_parts(body["data"]) == []
        return
    token = await demo_client.login(RUN_AS[name])
    me = await demo_client.run("{ me { roles { orgUnit { id code } } } }", token=token)
    unit = me["data"]["me"]["roles"][0]["orgUnit"]
    variables = {"township": unit["id"]}
    if name == "grid_leader_my_tasks":
        variables = {"grid": unit["code"]}
    elif name == "inspector_who_could_verify":
        verified = await demo_client.run(
            "{ tasks(filter: { status: [VERIFIED] }, first: 1)"
            " { edges { node { id createdAt } } } }",
            token=token,
        )
        task = verified["data"]["tasks"]["edges"][0]["node"]
        variables = {"task": task["id"], "at": task["createdAt"]}
    elif name == "inspector_prove_event":
        variables = await _a_verification_to_prove(demo_client, token)
    elif name == "township_head_complaint":
        variables = {"task": await _a_closed_complaint(demo_client, token)}
    elif name == "county_monthly_report":
        variables = {"county": unit["id"], "month": last_full_month()}
    elif name == "township_ranking":
        variables = {"unit": unit["id"], "period": last_full_month()}
    elif name != "township_dashboard":
        variables = {}

    body = await demo_client.run(operation(name), variables, token=token)

    assert "errors" not in body, body
    assert _empty_parts(body["data"]) == []


@in_module_loop
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


@in_module_loop
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
    engine = PolicyEngine()
    await engine.load()
    for holder in holders:
        assert datetime.fromisoformat(holder["grantedAt"]) <= moment
        assert holder["revokedAt"] is None or datetime.fromisoformat(holder["revokedAt"]) > moment
        # At the issuer or above it, or at a basin committee whose basin runs through it.
        held_at = holder["orgUnit"]["path"]
        assert issuer.startswith(held_at) or (
            holder["role"] == "basin_secretary"
            and any(issuer.startswith(p) for p in engine.covers(held_at)[1:])
        )
    assert {h["role"] for h in holders} <= {
        "county_admin",
        "township_head",
        "village_secretary",
        "department_head",
        "basin_secretary",
    }


async def _county_of(client: GraphQLClient, token: str) -> int:
    """The jurisdiction of the account's first role: the top unit of its path (``/1/5/``)."""
    me = await client.run("{ me { roles { orgUnit { path } } } }", token=token)
    return int(me["data"]["me"]["roles"][0]["orgUnit"]["path"].split("/")[1])


def _heading_variables(name: str) -> dict[str, Any]:
    """The variables an example's heading gives (``# Run as … Variables: {…}``)."""
    for line in operation(name).splitlines():
        if line.startswith("# Run as") and "Variables:" in line:
            found: dict[str, Any] = json.loads(line.partition("Variables:")[2])
            return found
    return {}


async def _a_closed_complaint(client: GraphQLClient, token: str) -> str:
    """The task of the oldest complaint the account was told of (closed in the demo)."""
    found = await client.run(
        "{ notifications(first: 50) { edges { node { kind task { id } } } } }", token=token
    )
    notices = [e["node"] for e in found["data"]["notifications"]["edges"]]
    complaints = [n["task"]["id"] for n in notices if n["kind"] == "COMPLAINT_RECEIVED"]
    assert complaints, notices
    return str(complaints[-1])


@in_module_loop
async def test_public_complaint_status_shows_the_feedback_and_nothing_else(
    demo_client: GraphQLClient,
) -> None:
    body = await demo_client.run(
        operation("public_complaint_status"), _heading_variables("public_complaint_status")
    )

    assert "errors" not in body, body
    status = body["data"]["complaintStatus"]
    assert set(status) == {"status", "feedback", "receivedAt", "segmentName"}
    assert status["status"] == "CLOSED" and status["segmentName"] == "倒流河罗布段"
    assert status["feedback"].startswith("已组织坪坝村保洁员")


@in_module_loop
async def test_township_head_complaint(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("luobu_head")
    task = await _a_closed_complaint(demo_client, token)

    body = await demo_client.run(operation("township_head_complaint"), {"task": task}, token=token)

    assert "errors" not in body, body
    found = body["data"]["task"]
    assert (found["origin"], found["status"]) == ("COMPLAINT", "VERIFIED")
    assert found["orgUnit"] == {"name": "坪坝村", "level": "VILLAGE"}
    assert found["complaint"]["contact"] == "13987650123"  # 罗布镇 reads personal data there
    assert found["complaint"]["segment"]["name"] == "倒流河罗布段"


async def _a_verification_to_prove(client: GraphQLClient, token: str) -> dict[str, Any]:
    """The inspector's county and the newest sign-off in its log."""
    me = await client.run("{ me { roles { orgUnit { id } } } }", token=token)
    found = await client.run(
        '{ auditEvents(filter: { action: "task.verify" }, first: 1) { edges { node { id } } } }',
        token=token,
    )
    return {
        "county": me["data"]["me"]["roles"][0]["orgUnit"]["id"],
        "event": found["data"]["auditEvents"]["edges"][0]["node"]["id"],
    }


@in_module_loop
async def test_inspector_prove_event_verifies_offline_with_the_public_key_alone(
    demo_client: GraphQLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await demo_client.login("inspector")
    variables = await _a_verification_to_prove(demo_client, token)

    body = await demo_client.run(operation("inspector_prove_event"), variables, token=token)

    assert "errors" not in body, body
    data = body["data"]
    checkpoint, proof, event = data["auditCheckpoint"], data["auditInclusionProof"], data["node"]
    assert event["action"] == "task.verify" and event["actor"]["username"]
    assert proof["treeSize"] == checkpoint["treeSize"] > proof["leafIndex"] == event["leafIndex"]
    assert proof["leafHash"] == event["leafHash"]
    note = tmp_path / "checkpoint.note"
    note.write_text(checkpoint["note"], encoding="utf-8")
    response = tmp_path / "response.json"
    response.write_text(json.dumps(body), encoding="utf-8")
    bent = tmp_path / "bent.json"
    bent.write_text(json.dumps({**proof, "leafIndex": proof["leafIndex"] ^ 1}), encoding="utf-8")
    check = ("verify-proof", "--key", data["auditPublicKey"], "--checkpoint", str(note))

    good = await in_process(monkeypatch, "sqlite://:memory:", *check, "--proof", str(response))
    forged = await in_process(monkeypatch, "sqlite://:memory:", *check, "--proof", str(bent))

    assert good.status == 0, good
    assert (
        f"leaf {event['leafHash']} is leaf {event['leafIndex']} of {checkpoint['origin']}"
        f" at size {checkpoint['treeSize']}"
    ) in good.out
    assert forged.status == 1, forged


@in_module_loop
async def test_grid_leader_my_tasks(demo_client: GraphQLClient) -> None:
    token = await demo_client.login("grid_leader")
    me = await demo_client.run("{ me { roles { orgUnit { code name } } } }", token=token)
    grid = me["data"]["me"]["roles"][0]["orgUnit"]

    body = await demo_client.run(
        operation("grid_leader_my_tasks"), {"grid": grid["code"]}, token=token
    )

    assert "errors" not in body, body
    tasks = [e["node"] for e in body["data"]["myTasks"]["edges"]]
    assert tasks and len(tasks) == body["data"]["myTasks"]["totalCount"]
    assert {t["status"] for t in tasks} <= {"ASSIGNED", "IN_PROGRESS", "REJECTED", "SUBMITTED"}
    due = [t["dueAt"] for t in tasks if t["dueAt"] is not None]
    assert due == sorted(due)
    unit = body["data"]["orgUnitByCode"]
    assert unit["name"] == grid["name"] and unit["level"] == "GRID"
    assert unit["tasks"]["totalCount"] == unit["taskStats"]["total"] > 0

"""One shape for FORBIDDEN (README, "Errors"): an operation the viewer may not perform is a
top-level error with ``extensions.code`` FORBIDDEN and ``data: null``, never a payload error,
and nothing is written — whether the viewer's roles never allow it anywhere (the guard) or
allow it, but not on this object (the object check). Every mutation is enumerated from the
schema, so a mutation added tomorrow without a case here fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from models.people import User
from tests.fixtures import PASSWORD_HASH, Tree
from tests.graph import codes, run
from tests.hostile import GRAPH, snapshot
from tests.http.client import GraphQLClient

AT = datetime(2025, 3, 1, 9, tzinfo=UTC).isoformat()
# Open on purpose: a failed login is INVALID_CREDENTIALS in its payload; every signed-in
# account marks its own notifications read, and another's is NOT_FOUND in the payload
# (tests/policies/test_notification_rights.py). Anyone may complain about a river segment,
# anonymously, throttled per address (tests/http/test_complaints.py).
NEEDS_NO_RIGHT = {"login", "markNotificationsRead", "submitComplaint"}

GRANT = """
mutation($input: GrantRoleInput!) { grantRole(input: $input) { grant { role } errors { code } } }
"""
REVOKE = """
mutation($input: GrantRoleInput!) { revokeRole(input: $input) { grant { role } errors { code } } }
"""
CREATE_TASK = """
mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } errors { code } } }
"""
ASSIGN = """
mutation($input: AssignTaskInput!) { assignTask(input: $input) { task { id } errors { code } } }
"""
TRANSITION = """
mutation($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { id } errors { code } }
}
"""
DECOMPOSE = """
mutation($input: DecomposeTaskInput!) {
  decomposeTask(input: $input) { subtasks { id } errors { code } }
}
"""
ESCALATE = """
mutation($input: EscalateTaskInput!) {
  escalateTask(input: $input) { record { id } errors { code } }
}
"""
REPORT_ISSUE = """
mutation($input: ReportIssueInput!) { reportIssue(input: $input) { task { id } errors { code } } }
"""
CREATE_RECORD = """
mutation($input: CreateRecordInput!) {
  createRecord(input: $input) { record { id } errors { code } }
}
"""
UPLOAD = """
mutation($file: Upload!) { uploadEvidence(file: $file) { evidence { id } errors { code } } }
"""
# An account that holds no role anywhere (a new account not yet placed): it is signed in,
# and refused whatever any role allows.
UNGRANTED = "ungranted"
REPORT = """
mutation($input: ReportObservationInput!) {
  reportObservation(input: $input) { observation { value } errors { code } }
}
"""


@dataclass(frozen=True)
class Case:
    """A viewer lacking the right, and the input it sends (``unit:``/``task:``/``user:``
    names become the tree's global IDs)."""

    mutation: str
    viewer: str
    document: str
    input: dict[str, Any]
    why: str

    def variables(self, tree: Tree) -> dict[str, Any]:
        def resolve(value: Any) -> Any:
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            kind, _, name = str(value).partition(":")
            if kind == "unit" and name:
                return tree.unit_gid(name)
            if kind == "task" and name:
                return tree.task_gid(name)
            if kind == "user" and name:
                return tree.user_gid(name)
            return value

        if self.document == UPLOAD:
            return dict(self.input)
        return {"input": resolve(self.input)}


CASES = [
    # -- roles that never hold the right anywhere: refused by the guard ----------------------
    Case(
        "grantRole",
        "grid_leader",
        GRANT,
        {"userId": "user:enterprise_chief", "role": "grid_leader", "orgUnitId": "unit:grid_a"},
        "grid leaders grant nothing",
    ),
    Case(
        "revokeRole",
        "inspector",
        REVOKE,
        {"userId": "user:grid_leader", "role": "grid_leader", "orgUnitId": "unit:grid_a"},
        "inspectors are read-only",
    ),
    Case(
        "createTask",
        "inspector",
        CREATE_TASK,
        {"title": "x", "category": "OTHER", "orgUnitId": "unit:shilong"},
        "inspectors issue no task",
    ),
    Case("assignTask", "grid_leader", ASSIGN, {"taskId": "task:grid_a"}, "nor do grid leaders"),
    Case(
        "transitionTask",
        "inspector",
        TRANSITION,
        {"taskId": "task:shilong", "action": "START"},
        "inspectors move no task",
    ),
    Case(
        "decomposeTask",
        "enterprise_chief",
        DECOMPOSE,
        {"taskId": "task:enterprise", "parts": [{"orgUnitId": "unit:enterprise"}]},
        "enterprise chiefs split no task",
    ),
    Case(
        "escalateTask",
        "grid_leader",
        ESCALATE,
        {"taskId": "task:grid_a", "note": "late"},
        "grid leaders press nobody",
    ),
    Case(
        "escalateTask",
        "inspector",
        ESCALATE,
        {"taskId": "task:grid_a", "note": "take it", "mode": "HAND_OVER"},
        "inspectors hand nothing over",
    ),
    Case(
        "reportIssue",
        "inspector",
        REPORT_ISSUE,
        {"title": "Dead fish", "orgUnitId": "unit:grid_a"},
        "inspectors report nothing upward",
    ),
    Case(
        "reportIssue",
        "grid_leader",
        REPORT_ISSUE,
        {"title": "Dead fish", "orgUnitId": "unit:shilong"},
        "the village above is seen, but reports are made from one's own unit",
    ),
    Case(
        "reportObservation",
        "grid_leader",
        REPORT,
        {
            "metric": "garbage_cleared_t",
            "orgUnitId": "unit:grid_a",
            "periodStart": "2026-01-01",
            "periodEnd": "2026-12-31",
            "value": 1,
        },
        "grid leaders report no indicator: their clean-ups feed them",
    ),
    Case(
        "uploadEvidence",
        UNGRANTED,
        UPLOAD,
        {"file": "photo.jpg"},
        "evidence is uploaded by those who may file some record, to cite it",
    ),
    # -- the right held, but not on this object: refused by the object check ------------------
    Case(
        "createTask",
        "zhaxi_head",
        CREATE_TASK,
        {"title": "x", "category": "OTHER", "orgUnitId": "unit:weixin"},
        "the county above is seen, but no task is handed up to it",
    ),
    Case(
        "transitionTask",
        "grid_leader",
        TRANSITION,
        {"taskId": "task:grid_a", "action": "CANCEL"},
        "only the issuing side cancels",
    ),
    Case(
        "createRecord",
        "inspector",
        CREATE_RECORD,
        {"type": "PLEDGE", "orgUnitId": "unit:shilong", "occurredAt": AT, "summary": "x"},
        "inspectors file findings only",
    ),
    Case(
        "createRecord",
        "zhaxi_head",
        CREATE_RECORD,
        {"type": "REWARD", "orgUnitId": "unit:zhaxi", "occurredAt": AT, "summary": "x"},
        "a reward goes only below the granting role's unit",
    ),
    Case(
        "reportObservation",
        "village_sec",
        REPORT,
        {
            "metric": "garbage_cleared_t",
            "orgUnitId": "unit:zhaxi",
            "periodStart": "2026-01-01",
            "periodEnd": "2026-12-31",
            "value": 1,
        },
        "the township above is seen, but reports its own figures",
    ),
    Case(
        "grantRole",
        "zhaxi_head",
        GRANT,
        {"userId": "user:zhaxi_head", "role": "inspector", "orgUnitId": "unit:shilong"},
        "nobody grants their own roles",
    ),
    Case(
        "grantRole",
        "zhaxi_head",
        GRANT,
        {"userId": "user:village_sec", "role": "county_admin", "orgUnitId": "unit:shilong"},
        "no grant of rights the granter lacks",
    ),
    Case(
        "revokeRole",
        "village_sec",
        REVOKE,
        {"userId": "user:village_sec", "role": "village_secretary", "orgUnitId": "unit:shilong"},
        "nobody revokes their own roles",
    ),
]


async def ensure_viewer(tree: Tree, username: str) -> None:
    """The tree's accounts, and the one that holds no role, made when a case needs it."""
    if username == UNGRANTED and username not in tree.users:
        tree.users[username] = await User.create(username=username, password_hash=PASSWORD_HASH)


def test_every_mutation_has_a_refusal_case() -> None:
    assert GRAPH.mutation_type is not None
    mutations = set(GRAPH.mutation_type.fields) - NEEDS_NO_RIGHT

    assert {case.mutation for case in CASES} == mutations


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.mutation}-{c.viewer}")
async def test_a_refused_mutation_is_a_top_level_forbidden_and_writes_nothing(
    db: TortoiseContext, tree: Tree, case: Case
) -> None:
    await ensure_viewer(tree, case.viewer)
    before = await snapshot(db)

    result = await run(tree, case.viewer, case.document, **case.variables(tree))

    assert codes(result) == ["FORBIDDEN"], (case.why, result)
    assert result.data is None
    assert await snapshot(db) == before


async def test_over_http_the_refusals_have_the_same_shape(
    db: TortoiseContext, tree: Tree, client: GraphQLClient
) -> None:
    for viewer in {c.viewer for c in CASES}:
        await ensure_viewer(tree, viewer)
    tokens = {viewer: await client.login(viewer) for viewer in {c.viewer for c in CASES}}
    before = await snapshot(db)

    bodies = [
        (case, await client.run(case.document, case.variables(tree), tokens[case.viewer]))
        for case in CASES
    ]

    for case, body in bodies:
        assert body["data"] is None, (case.why, body)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], case.why
    assert await snapshot(db) == before


async def test_a_payload_never_carries_forbidden(tree: Tree) -> None:
    """The other channel: what a viewer may not see is NOT_FOUND in the payload, as for an id
    of nothing; the object check's FORBIDDEN never lands there."""
    result = await run(
        tree, "luobu_head", TRANSITION, input={"taskId": tree.task_gid("zhaxi"), "action": "START"}
    )

    assert result.errors is None
    assert result.data == {"transitionTask": {"task": None, "errors": [{"code": "NOT_FOUND"}]}}

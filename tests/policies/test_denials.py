"""Refusals: out of scope reads as null / NOT_FOUND, rights never held are FORBIDDEN, every
refusal is logged, and explainAccess names the grant and rule behind a decision."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from models.audit import AuditEvent
from models.people import User
from models.policy import CasbinRule
from models.record import AccountabilityRecord
from models.task import Task
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import PASSWORD_HASH, Tree

ACCESS_LOGGER = "riverchief.access"


async def run(tree: Tree, username: str | None, query: str, **variables: Any) -> Any:
    return await schema.execute(query, variables, context_value=tree.context_for(username))


def gid(tree: Tree, kind: str, name: str) -> str:
    if kind == "Task":
        return tree.task_gid(name)
    if kind == "OrgUnit":
        return tree.unit_gid(name)
    if kind == "Person":
        return to_global_id("Person", tree.people[name].id)
    return tree.user_gid(name)


def denials(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]


def assert_logged(
    caplog: pytest.LogCaptureFixture, tree: Tree, viewer: str, resource: str, action: str
) -> None:
    viewer_id = tree.users[viewer].id
    wanted = f"viewer={viewer_id} resource={resource} action={action} "
    lines = denials(caplog)
    assert any(wanted in line for line in lines), f"no denial {wanted!r} in {lines}"


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    return caplog


async def snapshot() -> tuple[Any, ...]:
    """What a refused mutation must leave as it was."""
    tasks = sorted(await Task.all().values_list("id", "status", "version", "org_unit_id"))
    records = await AccountabilityRecord.all().count()
    events = await AuditEvent.all().count()
    return tasks, records, events


# -- out of scope reads as null --------------------------------------------------------

TASK = "query($id: ID!) { task(id: $id) { id title } }"
ORG_UNIT = "query($id: ID!) { orgUnit(id: $id) { id name } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"

OUT_OF_SCOPE = [
    # viewer, kind, object
    ("yzh_admin", "Task", "weixin"),
    ("yzh_admin", "OrgUnit", "zhaxi"),
    ("county_admin", "Task", "qixing"),
    ("county_admin", "OrgUnit", "yangzonghai"),
    ("grid_leader", "Task", "shilong"),  # the village above: its units seen, not its tasks
    ("grid_leader", "OrgUnit", "grid_b"),
    ("enterprise_chief", "Task", "shilong"),
    ("enterprise_chief", "OrgUnit", "dahetan"),
    ("dept_head", "Task", "zhaxi"),
    ("dept_head", "OrgUnit", "luobu"),  # above its paired village: not seen from a pairing
    ("zhaxi_head", "Task", "weixin"),  # the county above: its unit seen, not its tasks
    ("inspector", "Task", "tangchi"),
]


@pytest.mark.parametrize(("viewer", "kind", "name"), OUT_OF_SCOPE)
async def test_an_out_of_scope_object_reads_as_null_and_the_refusal_is_logged(
    tree: Tree, access_log: pytest.LogCaptureFixture, viewer: str, kind: str, name: str
) -> None:
    query, field, resource = (
        (TASK, "task", "task") if kind == "Task" else (ORG_UNIT, "orgUnit", "org")
    )

    direct = await run(tree, viewer, query, id=gid(tree, kind, name))
    as_node = await run(tree, viewer, NODE, id=gid(tree, kind, name))

    assert direct.errors is None and direct.data == {field: None}
    assert as_node.errors is None and as_node.data == {"node": None}
    assert_logged(access_log, tree, viewer, resource, "read")
    assert_logged(access_log, tree, viewer, "node", "read")


@pytest.mark.parametrize(
    ("viewer", "kind", "name"),
    [
        ("luobu_head", "Person", "zhaxi"),
        ("grid_leader", "Person", "shilong"),
        ("zhaxi_head", "User", "luobu_head"),  # another account
        ("zhaxi_head", "User", "county_admin"),  # the account above it
        ("yzh_admin", "User", "zhaxi_head"),  # an account in another county
    ],
)
async def test_people_and_accounts_out_of_reach_read_as_null_through_node(
    tree: Tree, access_log: pytest.LogCaptureFixture, viewer: str, kind: str, name: str
) -> None:
    result = await run(tree, viewer, NODE, id=gid(tree, kind, name))

    assert result.errors is None and result.data == {"node": None}
    assert_logged(access_log, tree, viewer, "node", "read")


async def test_the_same_objects_read_in_full_inside_scope_and_log_nothing(
    tree: Tree, access_log: pytest.LogCaptureFixture
) -> None:
    for viewer, kind, name in OUT_OF_SCOPE:
        insider = (
            "county_admin" if name not in {"qixing", "yangzonghai", "tangchi"} else "yzh_admin"
        )
        result = await run(tree, insider, NODE, id=gid(tree, kind, name))
        assert result.data == {"node": {"id": gid(tree, kind, name)}}, (viewer, kind, name)
    own = await run(tree, "zhaxi_head", NODE, id=gid(tree, "User", "zhaxi_head"))
    assert own.data == {"node": {"id": tree.user_gid("zhaxi_head")}}

    assert denials(access_log) == []


async def test_nested_fields_beyond_scope_are_null_not_errors(tree: Tree) -> None:
    """A grid leader sees the chain above its grid; a department head reaches its paired
    village and that village's grid, but not the township above them."""
    query = "query($id: ID!) { orgUnit(id: $id) { name parent { name parent { name } } } }"

    grid = await run(tree, "grid_leader", query, id=tree.unit_gid("grid_a"))
    dept = await run(tree, "dept_head", query, id=tree.unit_gid("grid_c"))

    assert grid.errors is None
    assert grid.data == {
        "orgUnit": {"name": "grid_a", "parent": {"name": "shilong", "parent": {"name": "zhaxi"}}}
    }
    # Paired with luobu's village: reaches its grid and the village, not the township above.
    assert dept.errors is None
    assert dept.data == {
        "orgUnit": {"name": "grid_c", "parent": {"name": "luobu_village", "parent": None}}
    }


# -- mutations on out-of-scope objects: NOT_FOUND --------------------------------------

TRANSITION = """
mutation($id: ID!, $action: TaskAction!) {
  transitionTask(input: {taskId: $id, action: $action}) { task { id } errors { field code } }
}
"""
ASSIGN = """
mutation($id: ID!) {
  assignTask(input: {taskId: $id}) { task { id } errors { field code } }
}
"""
CREATE_TASK = """
mutation($unit: ID!) {
  createTask(input: {title: "clear the weir", category: CLEANUP, orgUnitId: $unit}) {
    task { id } errors { field code }
  }
}
"""
DECOMPOSE = """
mutation($id: ID!, $unit: ID!) {
  decomposeTask(input: {taskId: $id, parts: [{orgUnitId: $unit}]}) {
    subtasks { id } errors { field code }
  }
}
"""
ESCALATE = """
mutation($id: ID!) {
  escalateTask(input: {taskId: $id, note: "overdue"}) { record { id } errors { field code } }
}
"""
CREATE_RECORD = """
mutation($unit: ID!, $type: RecordType!, $at: DateTime!) {
  createRecord(input: {type: $type, orgUnitId: $unit, occurredAt: $at, summary: "seen"}) {
    record { id } errors { field code }
  }
}
"""
NOW = datetime(2025, 3, 1, 9, tzinfo=UTC).isoformat()


def resolve(tree: Tree, variables: dict[str, str]) -> dict[str, str]:
    """``task:<unit>`` and ``unit:<name>`` become global IDs; ``at`` gets a time."""
    resolved = {}
    for key, value in variables.items():
        kind, _, name = value.partition(":")
        if kind == "task" and name:
            resolved[key] = tree.task_gid(name)
        elif kind == "unit" and name:
            resolved[key] = tree.unit_gid(name)
        else:
            resolved[key] = value
    return {**resolved, "at": NOW} if "type" in variables else resolved


# viewer, mutation, variables, payload field, the resource and action logged
OUT_OF_SCOPE_MUTATIONS = [
    (
        "luobu_head",
        TRANSITION,
        {"id": "task:zhaxi", "action": "START"},
        "transitionTask",
        "task",
        "transition",
    ),
    ("luobu_head", ASSIGN, {"id": "task:shilong"}, "assignTask", "task", "assign"),
    ("luobu_head", CREATE_TASK, {"unit": "unit:zhaxi"}, "createTask", "task", "create"),
    (
        "zhaxi_head",
        DECOMPOSE,
        {"id": "task:luobu", "unit": "unit:luobu_village"},
        "decomposeTask",
        "task",
        "create",
    ),
    ("zhaxi_head", ESCALATE, {"id": "task:luobu"}, "escalateTask", "task", "update"),
    (
        "zhaxi_head",
        CREATE_RECORD,
        {"unit": "unit:luobu", "type": "PLEDGE"},
        "createRecord",
        "record.pledge",
        "create",
    ),
    (
        "yzh_admin",
        TRANSITION,
        {"id": "task:grid_a", "action": "CANCEL"},
        "transitionTask",
        "task",
        "transition",
    ),
    (
        "grid_leader",
        TRANSITION,
        {"id": "task:grid_b", "action": "START"},
        "transitionTask",
        "task",
        "transition",
    ),
    (
        "enterprise_chief",
        CREATE_RECORD,
        {"unit": "unit:dahetan", "type": "PLEDGE"},
        "createRecord",
        "record.pledge",
        "create",
    ),
    ("dept_head", CREATE_TASK, {"unit": "unit:luobu"}, "createTask", "task", "create"),
]


@pytest.mark.parametrize(
    ("viewer", "mutation", "variables", "field", "resource", "action"), OUT_OF_SCOPE_MUTATIONS
)
async def test_a_mutation_on_an_out_of_scope_object_is_not_found_and_changes_nothing(
    tree: Tree,
    access_log: pytest.LogCaptureFixture,
    viewer: str,
    mutation: str,
    variables: dict[str, str],
    field: str,
    resource: str,
    action: str,
) -> None:
    before = await snapshot()

    result = await run(tree, viewer, mutation, **resolve(tree, variables))

    assert result.errors is None, result.errors
    assert [e["code"] for e in result.data[field]["errors"]] == ["NOT_FOUND"]
    assert await snapshot() == before
    assert_logged(access_log, tree, viewer, resource, action)


# -- inside scope, an action the role does not allow: FORBIDDEN at the top level --------


@pytest.mark.parametrize(
    ("viewer", "mutation", "variables", "field", "resource", "action"),
    [
        # the county above is seen from below, but no task is handed to it from there
        ("zhaxi_head", CREATE_TASK, {"unit": "unit:weixin"}, "createTask", "task", "create"),
        # inspectors write findings only
        (
            "inspector",
            CREATE_RECORD,
            {"unit": "unit:shilong", "type": "PLEDGE"},
            "createRecord",
            "record.pledge",
            "create",
        ),
        # only the issuing side verifies, and the grid leader is not it
        (
            "grid_leader",
            TRANSITION,
            {"id": "task:grid_a", "action": "CANCEL"},
            "transitionTask",
            "task",
            "update",
        ),
    ],
)
async def test_inside_scope_an_action_the_role_lacks_is_forbidden(
    tree: Tree,
    access_log: pytest.LogCaptureFixture,
    viewer: str,
    mutation: str,
    variables: dict[str, str],
    field: str,
    resource: str,
    action: str,
) -> None:
    before = await snapshot()

    result = await run(tree, viewer, mutation, **resolve(tree, variables))

    assert [(e.extensions or {}).get("code") for e in result.errors or []] == ["FORBIDDEN"]
    assert result.data is None, field
    assert await snapshot() == before
    assert_logged(access_log, tree, viewer, resource, action)


async def test_an_inspector_may_file_a_finding(
    tree: Tree, access_log: pytest.LogCaptureFixture
) -> None:
    result = await run(
        tree,
        "inspector",
        CREATE_RECORD,
        unit=tree.unit_gid("shilong"),
        type="INSPECTION_FINDING",
        at=NOW,
    )

    assert result.errors is None, result.errors
    assert result.data["createRecord"]["errors"] == []
    assert denials(access_log) == []


# -- roles that never hold an action: FORBIDDEN at the top level -----------------------

TOP_LEVEL = [
    ("inspector", CREATE_TASK, "createTask", "task", "create"),
    ("inspector", ASSIGN, "assignTask", "task", "assign"),
    ("inspector", TRANSITION, "transitionTask", "task", "transition"),
    ("inspector", ESCALATE, "escalateTask", "task", "update"),
    ("grid_leader", CREATE_TASK, "createTask", "task", "create"),
    ("grid_leader", ASSIGN, "assignTask", "task", "assign"),
    ("grid_leader", "{ auditEvents(first: 5) { totalCount } }", "auditEvents", "audit", "read"),
    ("grid_leader", "{ verifyAuditChain { ok } }", "verifyAuditChain", "audit", "read"),
    ("enterprise_chief", CREATE_TASK, "createTask", "task", "create"),
    ("enterprise_chief", ESCALATE, "escalateTask", "task", "update"),
    ("dept_head", "{ auditEvents(first: 5) { totalCount } }", "auditEvents", "audit", "read"),
    (
        "enterprise_chief",
        'query($u: ID!, $o: ID!) { explainAccess(userId: $u, resource: "task", '
        "action: read, orgUnitId: $o) { allowed } }",
        "explainAccess",
        "grant",
        "read",
    ),
    (
        "grid_leader",
        'query($id: ID!) { accessHolders(objectId: $id, action: "task:verify") { role } }',
        "accessHolders",
        "grant",
        "read",
    ),
    (
        "dept_head",
        'query($o: ID!) { accessHolders(objectId: $o, action: "org:read", '
        'at: "2025-03-01T09:00:00Z") { role } }',
        "accessHolders",
        "grant",
        "read",
    ),
]


@pytest.mark.parametrize(("viewer", "query", "field", "resource", "action"), TOP_LEVEL)
async def test_a_role_that_never_holds_the_action_is_forbidden_at_the_top_level(
    tree: Tree,
    access_log: pytest.LogCaptureFixture,
    viewer: str,
    query: str,
    field: str,
    resource: str,
    action: str,
) -> None:
    unit = {"grid_leader": "grid_a", "enterprise_chief": "enterprise"}.get(viewer, "shilong")
    variables = {
        "id": tree.task_gid(unit),
        "unit": tree.unit_gid(unit),
        "action": "START",
        "u": tree.user_gid(viewer),
        "o": tree.unit_gid(unit),
    }
    used = {k: v for k, v in variables.items() if f"${k}" in query}
    before = await snapshot()

    result = await run(tree, viewer, query, **used)

    assert result.data is None or result.data.get(field) is None
    assert [(e.path, (e.extensions or {}).get("code")) for e in result.errors or []] == [
        ([field], "FORBIDDEN")
    ]
    assert await snapshot() == before
    assert_logged(access_log, tree, viewer, resource, action)


async def test_anonymous_refusals_are_logged_too(
    tree: Tree, access_log: pytest.LogCaptureFixture
) -> None:
    tasks = await run(tree, None, "{ tasks { totalCount } }")
    node = await run(tree, None, NODE, id=tree.task_gid("zhaxi"))

    assert [(e.extensions or {}).get("code") for e in tasks.errors or []] == ["UNAUTHENTICATED"]
    assert [(e.extensions or {}).get("code") for e in node.errors or []] == ["UNAUTHENTICATED"]
    lines = denials(access_log)
    assert any("viewer=None resource=task action=read" in line for line in lines), lines
    assert any("viewer=None resource=node action=read" in line for line in lines), lines


# -- explainAccess ----------------------------------------------------------------------

EXPLAIN = """
query($user: ID!, $resource: String!, $action: PolicyAction!, $unit: ID!) {
  explainAccess(userId: $user, resource: $resource, action: $action, orgUnitId: $unit) {
    allowed grant { role orgUnit { name } } rule
  }
}
"""


@pytest.mark.parametrize(
    ("asker", "user", "resource", "action", "unit", "expected"),
    [
        (
            "county_admin",
            "zhaxi_head",
            "task",
            "verify",
            "shilong",
            {
                "allowed": True,
                "grant": {"role": "township_head", "orgUnit": {"name": "zhaxi"}},
                "rule": "p, township_head, *, task, verify",
            },
        ),
        (
            "county_admin",
            "zhaxi_head",
            "org",
            "update",
            "dahetan",
            {
                "allowed": True,
                "grant": {"role": "township_head", "orgUnit": {"name": "zhaxi"}},
                "rule": "p, township_head, VILLAGE, org, update",
            },
        ),
        (
            "county_admin",
            "zhaxi_head",
            "org",
            "update",
            "zhaxi",
            {"allowed": False, "grant": None, "rule": None},
        ),
        (
            "county_admin",
            "dept_head",
            "task",
            "read",
            "grid_c",
            {
                "allowed": True,
                "grant": {"role": "department_head", "orgUnit": {"name": "water_bureau"}},
                "rule": "p, department_head, *, task, read",
            },
        ),
        (
            "county_admin",
            "dept_head",
            "person_pii",
            "read",
            "luobu_village",
            {"allowed": False, "grant": None, "rule": None},
        ),
        (
            "county_admin",
            "dept_head",
            "person_pii",
            "read",
            "water_bureau",
            {
                "allowed": True,
                "grant": {"role": "department_head", "orgUnit": {"name": "water_bureau"}},
                "rule": "p, department_head, DEPARTMENT, person_pii, read",
            },
        ),
        (
            "inspector",
            "village_sec",
            "org",
            "read",
            "zhaxi",
            {
                "allowed": True,
                "grant": {"role": "village_secretary", "orgUnit": {"name": "shilong"}},
                "rule": "p, village_secretary, *, org, read",
            },
        ),
        (
            "inspector",
            "inspector",
            "task",
            "update",
            "shilong",
            {"allowed": False, "grant": None, "rule": None},
        ),
        (
            "inspector",
            "inspector",
            "record.finding",
            "create",
            "grid_b",
            {
                "allowed": True,
                "grant": {"role": "inspector", "orgUnit": {"name": "weixin"}},
                "rule": "p, inspector, *, record.finding, create",
            },
        ),
        (
            "zhaxi_head",
            "grid_leader",
            "task",
            "transition",
            "grid_a",
            {
                "allowed": True,
                "grant": {"role": "grid_leader", "orgUnit": {"name": "grid_a"}},
                "rule": "p, grid_leader, *, task, transition",
            },
        ),
        (
            "zhaxi_head",
            "newcomer",  # a new account placed nowhere: any granter may ask about it
            "task",
            "read",
            "shilong",
            {"allowed": False, "grant": None, "rule": None},
        ),
    ],
)
async def test_explain_access_names_the_deciding_grant_and_rule(
    tree: Tree,
    asker: str,
    user: str,
    resource: str,
    action: str,
    unit: str,
    expected: dict[str, Any],
) -> None:
    if user not in tree.users:
        tree.users[user] = await User.create(username=user, password_hash=PASSWORD_HASH)
    result = await run(
        tree,
        asker,
        EXPLAIN,
        user=tree.user_gid(user),
        resource=resource,
        action=action,
        unit=tree.unit_gid(unit),
    )

    assert result.errors is None, result.errors
    assert result.data["explainAccess"] == expected
    target = tree.units[unit]
    assert expected["allowed"] == tree.engine.enforce(
        f"user:{tree.users[user].id}", target.path, target.level.value, resource, action
    )


async def test_explain_access_about_a_unit_outside_the_askers_scope_is_null(
    tree: Tree, access_log: pytest.LogCaptureFixture
) -> None:
    result = await run(
        tree,
        "zhaxi_head",
        EXPLAIN,
        user=tree.user_gid("luobu_head"),
        resource="task",
        action="read",
        unit=tree.unit_gid("luobu"),
    )

    assert result.errors is None
    assert result.data == {"explainAccess": None}
    assert_logged(access_log, tree, "zhaxi_head", "grant", "read")


NO_ACCOUNT = to_global_id("User", 99999)


@pytest.mark.parametrize(
    ("asker", "outsider", "unit"),
    [
        ("zhaxi_head", "luobu_head", "shilong"),  # a peer township's head
        ("village_sec", "county_admin", "shilong"),  # the county, seen only from below
        ("village_sec", "zhaxi_head", "grid_a"),
        ("yzh_admin", "county_admin", "qixing"),  # another county
    ],
)
async def test_explain_access_about_a_user_outside_the_askers_scope_reads_like_no_user(
    tree: Tree, access_log: pytest.LogCaptureFixture, asker: str, outsider: str, unit: str
) -> None:
    asked = {"outsider": tree.user_gid(outsider), "nobody": NO_ACCOUNT}
    answers, logged = {}, {}

    for who, user in asked.items():
        access_log.clear()
        result = await run(
            tree,
            asker,
            EXPLAIN,
            user=user,
            resource="task",
            action="read",
            unit=tree.unit_gid(unit),
        )
        answers[who] = (result.data, result.errors)
        logged[who] = [line.replace(user, "<user>") for line in denials(access_log)]

    assert answers["outsider"] == answers["nobody"] == ({"explainAccess": None}, None)
    assert logged["outsider"] == logged["nobody"] != []


async def test_explain_access_never_names_a_grant_outside_the_askers_scope(tree: Tree) -> None:
    """A shilong resident is also the county's inspector. The village secretary may ask about
    the account (its person is in the village) and learns that it reads the village's tasks,
    not which role at the county allows it; the county admin learns that too."""
    resident = await User.create(
        username="resident", password_hash=PASSWORD_HASH, person=tree.people["shilong"]
    )
    tree.users["resident"] = resident
    await CasbinRule.create(
        ptype="g", v0=f"user:{resident.id}", v1="inspector", v2=f"{tree.units['weixin'].path}*"
    )
    await tree.engine.reload()
    about = {"user": tree.user_gid("resident"), "resource": "task", "action": "read"}

    by_village = await run(tree, "village_sec", EXPLAIN, **about, unit=tree.unit_gid("shilong"))
    by_county = await run(tree, "county_admin", EXPLAIN, **about, unit=tree.unit_gid("shilong"))

    assert by_village.errors is None and by_county.errors is None
    assert by_village.data == {"explainAccess": {"allowed": True, "grant": None, "rule": None}}
    assert by_county.data == {
        "explainAccess": {
            "allowed": True,
            "grant": {"role": "inspector", "orgUnit": {"name": "weixin"}},
            "rule": "p, inspector, *, task, read",
        }
    }

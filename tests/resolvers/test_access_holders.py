"""accessHolders and explainAccess(at): who could act on an object at a past moment, decided
with the grants and the role policy of that moment, shown within the asker's scope."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.audit import AuditEvent
from models.people import User
from models.policy import CasbinRule, GrantHistory, RolePolicyHistory
from policies.engine import Permission
from resolvers.role_policy import change_role_policy
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import PASSWORD_HASH, Tree

HOLDERS = """
query Holders($object: ID!, $action: String!, $at: DateTime) {
  accessHolders(objectId: $object, action: $action, at: $at) {
    user { username } role orgUnit { name } grantedAt revokedAt
  }
}
"""
EXPLAIN = """
query Explain($user: ID!, $resource: String!, $action: PolicyAction!, $unit: ID!, $at: DateTime) {
  explainAccess(userId: $user, resource: $resource, action: $action, orgUnitId: $unit, at: $at) {
    allowed rule grant { role orgUnit { name } grantedAt revokedAt }
  }
}
"""
GRANT = """
mutation Grant($input: GrantRoleInput!) {
  grantRole(input: $input) {
    grant { role grantedAt grantedBy { username } revokedAt revokedBy { username } }
    errors { code }
  }
}
"""
REVOKE = """
mutation Revoke($input: GrantRoleInput!) {
  revokeRole(input: $input) {
    grant { role grantedAt grantedBy { username } revokedAt revokedBy { username } }
    errors { code }
  }
}
"""
MY_ROLES = "{ me { roles { role orgUnit { name } grantedAt grantedBy { username } revokedAt } } }"
VERIFY_RULE = Permission("township_head", "*", "task", "verify")


async def run(tree: Tree, username: str, query: str, **variables: Any) -> Any:
    return await schema.execute(query, variables, context_value=tree.context_for(username))


async def holders(tree: Tree, asker: str, task: str, action: str, at: str | None) -> Any:
    result = await run(tree, asker, HOLDERS, object=tree.task_gid(task), action=action, at=at)
    assert result.errors is None, result.errors
    return result.data["accessHolders"]


async def change(tree: Tree, granter: str, mutation: str, user: str, unit: str) -> Any:
    variables = {"userId": tree.user_gid(user), "role": "township_head"}
    variables["orgUnitId"] = tree.unit_gid(unit)
    result = await run(tree, granter, mutation, input=variables)
    assert result.errors is None, result.errors
    field = "grantRole" if mutation is GRANT else "revokeRole"
    assert result.data[field]["errors"] == []
    return result.data[field]["grant"]


def between(earlier: str, later: str) -> str:
    first, second = datetime.fromisoformat(earlier), datetime.fromisoformat(later)
    return (first + (second - first) / 2).isoformat()


def holder(username: str, role: str, unit: str, granted: str, revoked: str | None) -> Any:
    return {
        "user": {"username": username},
        "role": role,
        "orgUnit": {"name": unit},
        "grantedAt": granted,
        "revokedAt": revoked,
    }


async def granted_at(tree: Tree, username: str) -> str:
    row = await GrantHistory.get(user_id=tree.users[username].id)
    return row.granted_at.astimezone(UTC).isoformat()


# -- who could verify this task on that day ----------------------------------------------------


async def test_who_could_verify_a_task_across_a_grant_a_revocation_and_a_second_grant(
    tree: Tree,
) -> None:
    """The task of shilong is issued by zhaxi: verifying it is decided at zhaxi."""
    tree.users["deputy"] = await User.create(username="deputy", password_hash=PASSWORD_HASH)
    before_any = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    first = await change(tree, "county_admin", GRANT, "deputy", "zhaxi")
    ended = await change(tree, "county_admin", REVOKE, "deputy", "zhaxi")
    second = await change(tree, "county_admin", GRANT, "deputy", "zhaxi")
    admin = await granted_at(tree, "county_admin")
    head = await granted_at(tree, "zhaxi_head")
    always = [
        holder("county_admin", "county_admin", "weixin", admin, None),
        holder("zhaxi_head", "township_head", "zhaxi", head, None),
    ]
    while_held = between(first["grantedAt"], ended["revokedAt"])
    in_between = between(ended["revokedAt"], second["grantedAt"])

    asked = {
        "before any grant": await holders(tree, "inspector", "shilong", "task:verify", before_any),
        "while first held": await holders(tree, "inspector", "shilong", "task:verify", while_held),
        "at the grant": await holders(
            tree, "inspector", "shilong", "task:verify", first["grantedAt"]
        ),
        "at the revocation": await holders(
            tree, "inspector", "shilong", "task:verify", ended["revokedAt"]
        ),
        "in between": await holders(tree, "inspector", "shilong", "task:verify", in_between),
        "now": await holders(tree, "inspector", "shilong", "task:verify", None),
    }

    assert first["grantedBy"] == {"username": "county_admin"}
    assert ended["revokedBy"] == {"username": "county_admin"}
    assert ended["grantedAt"] == first["grantedAt"]
    assert first["grantedAt"] < ended["revokedAt"] < second["grantedAt"]
    first_holding = holder(
        "deputy", "township_head", "zhaxi", first["grantedAt"], ended["revokedAt"]
    )
    second_holding = holder("deputy", "township_head", "zhaxi", second["grantedAt"], None)
    assert asked == {
        "before any grant": [],
        "while first held": [always[0], first_holding, always[1]],
        "at the grant": [always[0], first_holding, always[1]],
        "at the revocation": always,
        "in between": always,
        "now": [always[0], second_holding, always[1]],
    }


async def test_a_task_is_progressed_at_its_own_unit_and_verified_at_its_issuer(
    tree: Tree,
) -> None:
    progress = await holders(tree, "county_admin", "grid_a", "task:transition", None)
    verify = await holders(tree, "county_admin", "grid_a", "task:verify", None)

    assert [(h["user"]["username"], h["orgUnit"]["name"]) for h in progress] == [
        ("county_admin", "weixin"),
        ("grid_leader", "grid_a"),
        ("village_sec", "shilong"),
        ("zhaxi_head", "zhaxi"),
    ]
    # grid_a's task is issued by shilong: the grid leader does not verify it.
    assert [(h["user"]["username"], h["orgUnit"]["name"]) for h in verify] == [
        ("county_admin", "weixin"),
        ("village_sec", "shilong"),
        ("zhaxi_head", "zhaxi"),
    ]


async def test_units_and_records_are_asked_about_at_their_own_unit(tree: Tree) -> None:
    result = await run(
        tree, "county_admin", HOLDERS, object=tree.unit_gid("grid_c"), action="task:read", at=None
    )

    assert result.errors is None, result.errors
    # The water bureau is paired with luobu's village: reading passes through the pairing.
    assert [(h["user"]["username"], h["role"]) for h in result.data["accessHolders"]] == [
        ("county_admin", "county_admin"),
        ("dept_head", "department_head"),
        ("inspector", "inspector"),
        ("luobu_head", "township_head"),
    ]


# -- the role policy of the day ----------------------------------------------------------------


async def test_a_removed_permission_line_still_decides_the_moments_before_its_removal(
    tree: Tree,
) -> None:
    before = datetime.now(UTC).isoformat()
    await change_role_policy(tree.context_for(None), remove=[VERIFY_RULE])
    removed = await RolePolicyHistory.get(
        role="township_head", resource="task", action="verify", removed_at__not_isnull=True
    )
    after = datetime.now(UTC).isoformat()
    about = {
        "user": tree.user_gid("zhaxi_head"),
        "resource": "task",
        "action": "verify",
        "unit": tree.unit_gid("shilong"),
    }

    then = await holders(tree, "inspector", "shilong", "task:verify", before)
    now = await holders(tree, "inspector", "shilong", "task:verify", after)
    explained_then = await run(tree, "county_admin", EXPLAIN, **about, at=before)
    explained_now = await run(tree, "county_admin", EXPLAIN, **about, at=after)
    explained_live = await run(tree, "county_admin", EXPLAIN, **about, at=None)

    assert before < removed.removed_at.isoformat() < after
    assert [h["user"]["username"] for h in then] == ["county_admin", "zhaxi_head"]
    assert [h["user"]["username"] for h in now] == ["county_admin"]
    head = await granted_at(tree, "zhaxi_head")
    assert explained_then.errors is None and explained_now.errors is None
    assert explained_then.data["explainAccess"] == {
        "allowed": True,
        "rule": "p, township_head, *, task, verify",
        "grant": {
            "role": "township_head",
            "orgUnit": {"name": "zhaxi"},
            "grantedAt": head,
            "revokedAt": None,
        },
    }
    assert explained_now.data["explainAccess"] == {"allowed": False, "rule": None, "grant": None}
    assert explained_live.data == explained_now.data
    event = await AuditEvent.get(action="policy.remove")
    assert (event.actor_id, event.entity_type, event.org_path) == (None, "role_policy", "")
    assert event.before == {"rules": [["township_head", "*", "task", "verify"]]}
    assert event.at == removed.removed_at


async def test_explain_access_before_a_user_held_any_grant_is_a_denial(tree: Tree) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC).isoformat()

    result = await run(
        tree,
        "county_admin",
        EXPLAIN,
        user=tree.user_gid("zhaxi_head"),
        resource="task",
        action="verify",
        unit=tree.unit_gid("shilong"),
        at=long_ago,
    )

    assert result.errors is None, result.errors
    assert result.data["explainAccess"] == {"allowed": False, "rule": None, "grant": None}


# -- scope -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asker", "kind", "name"),
    [
        ("luobu_head", "Task", "shilong"),  # another township's task
        ("luobu_head", "OrgUnit", "zhaxi"),
        ("yzh_admin", "Task", "weixin"),  # another county
        ("village_sec", "Task", "zhaxi"),  # the township above: its unit seen, not its tasks
    ],
)
async def test_an_object_outside_the_askers_scope_is_not_found_and_the_refusal_logged(
    tree: Tree, caplog: pytest.LogCaptureFixture, asker: str, kind: str, name: str
) -> None:
    caplog.set_level(logging.INFO, logger="riverchief.access")
    object_id = tree.task_gid(name) if kind == "Task" else tree.unit_gid(name)
    events = await AuditEvent.all().count()

    result = await run(tree, asker, HOLDERS, object=object_id, action="task:verify", at=None)

    assert result.data is None
    assert [(e.path, (e.extensions or {}).get("code")) for e in result.errors or []] == [
        (["accessHolders"], "NOT_FOUND")
    ]
    assert result.errors[0].message == "No such object."
    assert await AuditEvent.all().count() == events
    viewer = tree.users[asker].id
    lines = [r.getMessage() for r in caplog.records if r.name == "riverchief.access"]
    assert any(f"viewer={viewer} resource=grant action=read " in line for line in lines), lines


async def test_holders_outside_the_askers_scope_are_not_listed(tree: Tree) -> None:
    """The county admin's grant at weixin allows verifying zhaxi's tasks too, but zhaxi's head
    sees the county only from below: that grant is not its to know."""
    by_township = await holders(tree, "zhaxi_head", "shilong", "task:verify", None)
    by_county = await holders(tree, "county_admin", "shilong", "task:verify", None)

    assert [h["user"]["username"] for h in by_township] == ["zhaxi_head"]
    assert [h["user"]["username"] for h in by_county] == ["county_admin", "zhaxi_head"]


@pytest.mark.parametrize(
    ("object_kind", "action", "message"),
    [
        ("Task", "verify", "Name the right as <resource>:<action>, e.g. task:verify."),
        ("Task", "task:", "Name the right as <resource>:<action>, e.g. task:verify."),
        ("Task", "Task:Verify", "Name the right as <resource>:<action>, e.g. task:verify."),
        ("Person", "task:verify", "Ask about a task, an org unit or a record."),
    ],
)
async def test_a_malformed_right_or_an_object_of_another_kind_is_a_validation_error(
    tree: Tree, object_kind: str, action: str, message: str
) -> None:
    object_id = (
        tree.task_gid("shilong")
        if object_kind == "Task"
        else to_global_id("Person", tree.people["shilong"].id)
    )

    result = await run(tree, "county_admin", HOLDERS, object=object_id, action=action, at=None)

    assert result.data is None
    assert [(e.message, (e.extensions or {}).get("code")) for e in result.errors or []] == [
        (message, "VALIDATION")
    ]


# -- grants keep their history -----------------------------------------------------------------


async def test_a_grant_and_its_revocation_are_written_with_the_time_of_their_audit_events(
    tree: Tree,
) -> None:
    tree.users["deputy"] = await User.create(username="deputy", password_hash=PASSWORD_HASH)

    made = await change(tree, "county_admin", GRANT, "deputy", "zhaxi")
    ended = await change(tree, "county_admin", REVOKE, "deputy", "zhaxi")

    row = await GrantHistory.get(user_id=tree.users["deputy"].id)
    granted = await AuditEvent.get(action="role.grant")
    revoked = await AuditEvent.get(action="role.revoke")
    assert (row.role, row.path, row.unit_id) == (
        "township_head",
        tree.units["zhaxi"].path,
        tree.units["zhaxi"].id,
    )
    assert (row.granted_at, row.granted_by_id) == (granted.at, tree.users["county_admin"].id)
    assert (row.revoked_at, row.revoked_by_id) == (revoked.at, tree.users["county_admin"].id)
    assert made == {
        "role": "township_head",
        "grantedAt": granted.at.isoformat(),
        "grantedBy": {"username": "county_admin"},
        "revokedAt": None,
        "revokedBy": None,
    }
    assert ended == made | {
        "revokedAt": revoked.at.isoformat(),
        "revokedBy": {"username": "county_admin"},
    }
    assert not await CasbinRule.filter(v0=f"user:{tree.users['deputy'].id}").exists()


async def test_a_refused_grant_writes_no_history(tree: Tree) -> None:
    tree.users["deputy"] = await User.create(username="deputy", password_hash=PASSWORD_HASH)
    history = await GrantHistory.all().count()
    variables = {
        "userId": tree.user_gid("deputy"),
        "role": "township_head",
        "orgUnitId": tree.unit_gid("zhaxi"),
    }

    result = await run(tree, "luobu_head", GRANT, input=variables)

    assert result.data["grantRole"] == {"grant": None, "errors": [{"code": "NOT_FOUND"}]}
    assert await GrantHistory.all().count() == history


async def test_the_granter_of_a_role_shows_only_to_those_who_may_read_that_account(
    tree: Tree,
) -> None:
    """The county admin granted the deputy its role; the deputy may not read the county
    admin's account (its person is at the county, its grant above the deputy's scope)."""
    tree.users["deputy"] = await User.create(
        username="deputy", password_hash=PASSWORD_HASH, person=tree.people["zhaxi"]
    )
    made = await change(tree, "county_admin", GRANT, "deputy", "zhaxi")

    own = await run(tree, "deputy", MY_ROLES)
    admin = await run(tree, "county_admin", MY_ROLES)

    assert own.errors is None and admin.errors is None
    assert own.data["me"]["roles"] == [
        {
            "role": "township_head",
            "orgUnit": {"name": "zhaxi"},
            "grantedAt": made["grantedAt"],
            "grantedBy": None,
            "revokedAt": None,
        }
    ]
    # The fixture's grants were loaded without an event: held since the tree was built.
    assert admin.data["me"]["roles"] == [
        {
            "role": "county_admin",
            "orgUnit": {"name": "weixin"},
            "grantedAt": await granted_at(tree, "county_admin"),
            "grantedBy": None,
            "revokedAt": None,
        }
    ]

"""grantRole / revokeRole through the graph: never beyond the granter's scope or rights."""

from __future__ import annotations

from typing import Any

import pytest

from models.audit import AuditEvent
from models.enums import LinkKind, WaterKind
from models.org import OrgLink, WaterBody
from models.people import User
from models.policy import CasbinRule
from schema.build import schema
from schema.node import to_global_id
from tests.fixtures import PASSWORD_HASH, Tree
from tests.graph import as_payload

GRANT = """
mutation Grant($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role orgUnit { name } } errors { field code message } }
}
"""
REVOKE = """
mutation Revoke($input: GrantRoleInput!) {
  revokeRole(input: $input) { grant { role orgUnit { name } } errors { field code message } }
}
"""
TASK_TITLES = "{ tasks(first: 100) { totalCount edges { node { title } } } }"
ME = "{ me { username roles { role orgUnit { name } } } }"


async def run(tree: Tree, username: str | None, query: str, **variables: Any) -> Any:
    return await schema.execute(query, variables, context_value=tree.context_for(username))


def grant_input(tree: Tree, user: str, role: str, unit: str) -> dict[str, str]:
    return {"userId": tree.user_gid(user), "role": role, "orgUnitId": tree.unit_gid(unit)}


async def grant(tree: Tree, granter: str, user: str, role: str, unit: str) -> Any:
    result = await run(tree, granter, GRANT, input=grant_input(tree, user, role, unit))
    return as_payload(result)


async def revoke(tree: Tree, granter: str, user: str, role: str, unit: str) -> Any:
    result = await run(tree, granter, REVOKE, input=grant_input(tree, user, role, unit))
    return as_payload(result)


def codes(payload: Any) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def add_user(tree: Tree, username: str, unit: str | None = None) -> User:
    """A new account: placed nowhere (no person, no grant) unless ``unit`` names the unit of
    its person."""
    person = tree.people[unit] if unit is not None else None
    user = await User.create(username=username, password_hash=PASSWORD_HASH, person=person)
    tree.users[username] = user
    return user


async def policy_state(tree: Tree) -> tuple[Any, ...]:
    """Everything a grant may change: the rule rows, this process's grants, the audit trail."""
    rows = sorted(await CasbinRule.all().values_list("ptype", "v0", "v1", "v2", "v3", "v4", "v5"))
    loaded = sorted(tuple(g) for g in tree.engine.enforcer.get_grouping_policy())
    events = await AuditEvent.all().count()
    return rows, loaded, events


async def titles(tree: Tree, username: str) -> set[str]:
    result = await run(tree, username, TASK_TITLES)
    assert result.errors is None, result.errors
    return {e["node"]["title"] for e in result.data["tasks"]["edges"]}


# -- allowed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granter", "role", "unit"),
    [
        ("county_admin", "township_head", "luobu"),
        ("county_admin", "department_head", "water_bureau"),
        ("zhaxi_head", "village_secretary", "dahetan"),
        ("zhaxi_head", "grid_leader", "grid_b"),
        ("zhaxi_head", "enterprise_chief", "enterprise"),
        ("village_sec", "grid_leader", "grid_a"),
        ("yzh_admin", "township_head", "tangchi"),
    ],
)
async def test_a_grant_inside_ones_scope_of_a_role_one_holds_the_rights_of(
    tree: Tree, granter: str, role: str, unit: str
) -> None:
    grantee = await add_user(tree, "newcomer")
    before = await AuditEvent.all().count()

    payload = await grant(tree, granter, "newcomer", role, unit)

    assert payload == {"grant": {"role": role, "orgUnit": {"name": unit}}, "errors": []}
    rule = f"{tree.units[unit].path}*"
    assert (
        await CasbinRule.filter(ptype="g", v0=f"user:{grantee.id}", v1=role, v2=rule).count() == 1
    )
    assert [f"user:{grantee.id}", role, rule] in tree.engine.enforcer.get_grouping_policy()
    events = await AuditEvent.filter(seq__gt=before).order_by("seq")
    assert [e.action for e in events] == ["role.grant"]
    event = events[0]
    assert event.actor_id == tree.users[granter].id
    assert event.entity_type == "user" and event.entity_id == str(grantee.id)
    assert event.org_path == tree.units[unit].path
    assert event.after == {"user_id": grantee.id, "role": role, "unit": tree.units[unit].path}


async def test_a_revoke_inside_ones_scope_removes_the_grant_with_one_audit_event(
    tree: Tree,
) -> None:
    before = await AuditEvent.all().count()
    subject = f"user:{tree.users['village_sec'].id}"

    payload = await revoke(tree, "zhaxi_head", "village_sec", "village_secretary", "shilong")

    assert payload == {
        "grant": {"role": "village_secretary", "orgUnit": {"name": "shilong"}},
        "errors": [],
    }
    assert not await CasbinRule.filter(ptype="g", v0=subject).exists()
    assert tree.engine.grants_of(subject) == []
    events = await AuditEvent.filter(seq__gt=before)
    assert [e.action for e in events] == ["role.revoke"]
    assert events[0].actor_id == tree.users["zhaxi_head"].id
    assert events[0].before == {
        "user_id": tree.users["village_sec"].id,
        "role": "village_secretary",
        "unit": tree.units["shilong"].path,
    }
    assert events[0].after is None


# -- refused: outside one's scope -------------------------------------------------------


@pytest.mark.parametrize(
    ("granter", "role", "unit"),
    [
        ("zhaxi_head", "grid_leader", "grid_c"),  # the other township
        ("zhaxi_head", "village_secretary", "luobu_village"),
        ("luobu_head", "village_secretary", "shilong"),
        ("village_sec", "grid_leader", "grid_b"),  # a sibling village's grid
        ("yzh_admin", "township_head", "zhaxi"),  # another county altogether
        ("county_admin", "township_head", "tangchi"),
    ],
)
async def test_a_grant_outside_ones_scope_is_not_found_and_changes_nothing(
    tree: Tree, granter: str, role: str, unit: str
) -> None:
    await add_user(tree, "newcomer")
    before = await policy_state(tree)

    payload = await grant(tree, granter, "newcomer", role, unit)

    assert payload["grant"] is None
    assert codes(payload) == ["NOT_FOUND"]
    assert payload["errors"][0]["field"] == "orgUnitId"
    assert await policy_state(tree) == before


@pytest.mark.parametrize(
    ("granter", "role", "unit"),
    [
        ("zhaxi_head", "township_head", "weixin"),  # the county above: seen, not governed
        ("village_sec", "village_secretary", "zhaxi"),
    ],
)
async def test_a_grant_at_a_unit_seen_only_from_below_is_forbidden(
    tree: Tree, granter: str, role: str, unit: str
) -> None:
    await add_user(tree, "newcomer")
    before = await policy_state(tree)

    payload = await grant(tree, granter, "newcomer", role, unit)

    assert payload["grant"] is None
    assert codes(payload) == ["FORBIDDEN"]
    assert await policy_state(tree) == before


async def test_a_grant_whose_pairing_reaches_outside_ones_scope_is_refused(tree: Tree) -> None:
    """dahetan is paired with a river segment that runs through a village of the other
    township: a village secretary granted at dahetan would read it, so zhaxi's head may not
    grant that."""
    river = await WaterBody.create(code="seg", name="segment", kind=WaterKind.SEGMENT)
    await river.units.add(tree.units["luobu_village"])
    await OrgLink.create(unit=tree.units["dahetan"], water_body=river, kind=LinkKind.RIVER_PAIRING)
    await tree.engine.reload()
    await add_user(tree, "newcomer")
    before = await policy_state(tree)

    refused = await grant(tree, "zhaxi_head", "newcomer", "village_secretary", "dahetan")

    assert refused["grant"] is None
    assert codes(refused) == ["FORBIDDEN"]
    assert await policy_state(tree) == before

    # The county admin governs both ends, so it may.
    allowed = await grant(tree, "county_admin", "newcomer", "village_secretary", "dahetan")
    assert allowed["errors"] == []
    assert "task of luobu_village" in await titles(tree, "newcomer")


async def test_an_enterprise_responsibility_segment_reaches_no_village(tree: Tree) -> None:
    """The enterprise's responsibility segment runs through a village of the other township:
    it names the water its records are about and widens nothing, so zhaxi's head may grant
    an enterprise chief there, who reads its enterprise alone."""
    river = await WaterBody.create(code="seg", name="segment", kind=WaterKind.SEGMENT)
    await river.units.add(tree.units["luobu_village"], tree.units["shilong"])
    await OrgLink.create(
        unit=tree.units["enterprise"], water_body=river, kind=LinkKind.RESPONSIBILITY
    )
    await tree.engine.reload()
    await add_user(tree, "newcomer")

    payload = await grant(tree, "zhaxi_head", "newcomer", "enterprise_chief", "enterprise")

    assert payload["errors"] == []
    assert await titles(tree, "newcomer") == {"task of enterprise"}


# -- refused: accounts outside one's scope read as no account ----------------------------

NO_ACCOUNT = to_global_id("User", 99999)
NO_SUCH_USER = [{"field": "userId", "code": "NOT_FOUND", "message": "No such user."}]


def denial_lines(caplog: pytest.LogCaptureFixture, user_gid: str) -> list[str]:
    """The access log's lines, with the user id asked about blotted out."""
    return [
        r.getMessage().replace(user_gid, "<user>")
        for r in caplog.records
        if r.name == "riverchief.access"
    ]


@pytest.mark.parametrize("mutation", [GRANT, REVOKE])
@pytest.mark.parametrize(
    ("granter", "outsider", "role", "unit"),
    [
        ("zhaxi_head", "luobu_head", "grid_leader", "grid_b"),  # a peer township's head
        ("village_sec", "zhaxi_head", "grid_leader", "grid_a"),  # its own township head
        ("zhaxi_head", "county_admin", "village_secretary", "dahetan"),  # the county above
        ("yzh_admin", "village_sec", "county_admin", "yangzonghai"),  # another county's
        ("yzh_admin", "grid_leader", "township_head", "tangchi"),
    ],
)
async def test_an_account_outside_ones_scope_reads_exactly_like_no_account(
    tree: Tree,
    caplog: pytest.LogCaptureFixture,
    mutation: str,
    granter: str,
    outsider: str,
    role: str,
    unit: str,
) -> None:
    caplog.set_level("INFO", logger="riverchief.access")
    before = await policy_state(tree)
    outsider_input = grant_input(tree, outsider, role, unit)
    missing_input = {**outsider_input, "userId": NO_ACCOUNT}

    to_outsider = await run(tree, granter, mutation, input=outsider_input)
    outsider_log = denial_lines(caplog, outsider_input["userId"])
    caplog.clear()
    to_nobody = await run(tree, granter, mutation, input=missing_input)
    missing_log = denial_lines(caplog, NO_ACCOUNT)

    assert to_outsider.errors is None and to_nobody.errors is None
    (outsider_payload,) = to_outsider.data.values()
    (missing_payload,) = to_nobody.data.values()
    assert outsider_payload == missing_payload == {"grant": None, "errors": NO_SUCH_USER}
    assert outsider_log == missing_log != []
    assert await policy_state(tree) == before


async def test_a_new_account_placed_nowhere_may_be_placed_by_any_granter(tree: Tree) -> None:
    await add_user(tree, "newcomer")

    payload = await grant(tree, "yzh_admin", "newcomer", "township_head", "tangchi")

    assert payload == {
        "grant": {"role": "township_head", "orgUnit": {"name": "tangchi"}},
        "errors": [],
    }


async def test_an_account_whose_person_is_in_scope_may_be_granted(tree: Tree) -> None:
    await add_user(tree, "cleaner", unit="grid_b")

    payload = await grant(tree, "zhaxi_head", "cleaner", "grid_leader", "grid_b")

    assert payload["errors"] == []


async def test_an_account_holding_a_grant_in_scope_may_be_granted_more(tree: Tree) -> None:
    """A Yangzonghai person holds a grid at luobu (placed by the operator): luobu's head may
    grant that account more."""
    transferee = await add_user(tree, "transferee", unit="qixing")
    await CasbinRule.create(
        ptype="g", v0=f"user:{transferee.id}", v1="grid_leader", v2=f"{tree.units['grid_c'].path}*"
    )
    await tree.engine.reload()

    payload = await grant(tree, "luobu_head", "transferee", "village_secretary", "luobu_village")
    elsewhere = await grant(tree, "zhaxi_head", "transferee", "grid_leader", "grid_b")

    assert payload["errors"] == []
    assert elsewhere["errors"] == NO_SUCH_USER


# -- refused: escalation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("granter", "role", "unit"),
    [
        ("zhaxi_head", "county_admin", "zhaxi"),  # a wider role than one's own
        ("zhaxi_head", "county_admin", "shilong"),
        ("zhaxi_head", "inspector", "zhaxi"),  # inspectors file findings; a head does not
        ("county_admin", "inspector", "weixin"),  # nor does a county admin (record.finding)
        ("village_sec", "township_head", "shilong"),  # edits villages; a secretary does not
        ("village_sec", "county_admin", "grid_a"),
        ("luobu_head", "county_admin", "luobu_village"),
    ],
)
async def test_granting_a_role_with_rights_one_lacks_is_forbidden(
    tree: Tree, granter: str, role: str, unit: str
) -> None:
    await add_user(tree, "newcomer")
    before = await policy_state(tree)

    payload = await grant(tree, granter, "newcomer", role, unit)

    assert payload["grant"] is None
    assert codes(payload) == ["FORBIDDEN"]
    assert payload["errors"][0]["field"] == "role"
    assert await policy_state(tree) == before


@pytest.mark.parametrize("granter", ["grid_leader", "inspector", "dept_head", "enterprise_chief"])
@pytest.mark.parametrize("mutation", [GRANT, REVOKE])
async def test_roles_that_never_grant_are_refused_at_the_top_level(
    tree: Tree, granter: str, mutation: str
) -> None:
    await add_user(tree, "newcomer")
    unit = {"grid_leader": "grid_a", "inspector": "weixin", "dept_head": "water_bureau"}.get(
        granter, "enterprise"
    )
    before = await policy_state(tree)

    result = await run(
        tree, granter, mutation, input=grant_input(tree, "newcomer", "grid_leader", unit)
    )

    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [{"code": "FORBIDDEN"}]
    assert await policy_state(tree) == before


async def test_anonymous_grants_are_unauthenticated(tree: Tree) -> None:
    before = await policy_state(tree)

    result = await run(
        tree, None, GRANT, input=grant_input(tree, "grid_leader", "county_admin", "weixin")
    )

    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [{"code": "UNAUTHENTICATED"}]
    assert await policy_state(tree) == before


@pytest.mark.parametrize(
    ("granter", "role", "unit"),
    [
        ("zhaxi_head", "village_secretary", "shilong"),  # within scope, but for oneself
        ("zhaxi_head", "township_head", "zhaxi"),  # the role one already holds
        ("county_admin", "county_admin", "yangzonghai"),  # out of scope as well
    ],
)
async def test_nobody_grants_themselves_anything(
    tree: Tree, granter: str, role: str, unit: str
) -> None:
    before = await policy_state(tree)

    payload = await grant(tree, granter, granter, role, unit)

    assert payload["grant"] is None
    assert codes(payload) in (["FORBIDDEN"], ["NOT_FOUND"])
    assert await policy_state(tree) == before


async def test_a_self_grant_inside_scope_is_forbidden_on_the_user(tree: Tree) -> None:
    result = await run(
        tree,
        "zhaxi_head",
        GRANT,
        input=grant_input(tree, "zhaxi_head", "village_secretary", "shilong"),
    )

    assert result.data is None
    assert [e.extensions for e in result.errors or []] == [{"code": "FORBIDDEN", "field": "userId"}]
    assert result.errors is not None and result.errors[0].message == (
        "Nobody grants or revokes their own roles."
    )


async def test_nobody_revokes_their_own_role(tree: Tree) -> None:
    before = await policy_state(tree)

    payload = await revoke(tree, "zhaxi_head", "zhaxi_head", "township_head", "zhaxi")

    assert codes(payload) == ["FORBIDDEN"]
    assert await policy_state(tree) == before


@pytest.mark.parametrize(
    ("revoker", "holder", "role", "unit", "code"),
    [
        # superiors: accounts outside one's scope read as no account at all
        ("zhaxi_head", "county_admin", "county_admin", "weixin", "NOT_FOUND"),
        ("zhaxi_head", "inspector", "inspector", "weixin", "NOT_FOUND"),
        ("luobu_head", "zhaxi_head", "township_head", "zhaxi", "NOT_FOUND"),  # a peer's unit
        ("village_sec", "zhaxi_head", "township_head", "zhaxi", "NOT_FOUND"),
        ("yzh_admin", "county_admin", "county_admin", "weixin", "NOT_FOUND"),
    ],
)
async def test_revoking_a_superiors_or_outsiders_grant_is_refused(
    tree: Tree, revoker: str, holder: str, role: str, unit: str, code: str
) -> None:
    before = await policy_state(tree)

    payload = await revoke(tree, revoker, holder, role, unit)

    assert codes(payload) == [code]
    assert await policy_state(tree) == before


async def test_revoking_a_wider_role_held_inside_ones_scope_is_refused(tree: Tree) -> None:
    """A county admin placed a county_admin at zhaxi; zhaxi's head may not take it away."""
    await add_user(tree, "deputy")
    assert (await grant(tree, "county_admin", "deputy", "county_admin", "zhaxi"))["errors"] == []
    before = await policy_state(tree)

    payload = await revoke(tree, "zhaxi_head", "deputy", "county_admin", "zhaxi")

    assert codes(payload) == ["FORBIDDEN"]
    assert await policy_state(tree) == before


# -- conflicts and bad input ------------------------------------------------------------


async def test_a_duplicate_grant_is_a_conflict_and_writes_nothing(tree: Tree) -> None:
    await add_user(tree, "newcomer")
    first = await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_b")
    assert first["errors"] == []
    before = await policy_state(tree)

    again = await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_b")

    assert again["grant"] is None
    assert codes(again) == ["CONFLICT"]
    assert await policy_state(tree) == before


async def test_revoking_a_grant_that_does_not_exist_is_not_found(tree: Tree) -> None:
    await add_user(tree, "newcomer")
    before = await policy_state(tree)

    payload = await revoke(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_b")

    assert codes(payload) == ["NOT_FOUND"]
    assert await policy_state(tree) == before


async def test_an_unknown_role_or_user_is_refused(tree: Tree) -> None:
    before = await policy_state(tree)
    bad_role = grant_input(tree, "grid_leader", "emperor", "grid_a")
    missing_user = {
        "userId": "VXNlcjo5OTk5OQ==",  # User:99999
        "role": "grid_leader",
        "orgUnitId": tree.unit_gid("grid_a"),
    }

    unknown = await run(tree, "county_admin", GRANT, input=bad_role)
    nobody = await run(tree, "county_admin", GRANT, input=missing_user)

    # `role` is a `Role`: a name outside it is refused before anything runs.
    assert unknown.data is None
    assert [(e.extensions or {}).get("code") for e in unknown.errors or []] == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    assert "emperor" in (unknown.errors or [])[0].message
    assert codes(nobody.data["grantRole"]) == ["NOT_FOUND"]
    assert nobody.data["grantRole"]["errors"][0]["field"] == "userId"
    assert await policy_state(tree) == before


# -- the grantee sees the change at once ------------------------------------------------


async def test_a_grant_takes_effect_at_once_and_a_revoke_ends_it(tree: Tree) -> None:
    luobu = {"task of luobu", "task of luobu_village", "task of grid_c"}
    zhaxi = {
        "task of zhaxi",
        "task of shilong",
        "task of dahetan",
        "task of grid_a",
        "task of grid_b",
        "task of enterprise",
    }
    assert await titles(tree, "luobu_head") == luobu

    granted = await grant(tree, "county_admin", "luobu_head", "township_head", "zhaxi")
    assert granted["errors"] == []

    assert await titles(tree, "luobu_head") == luobu | zhaxi
    me = await run(tree, "luobu_head", ME)
    assert sorted((r["role"], r["orgUnit"]["name"]) for r in me.data["me"]["roles"]) == [
        ("township_head", "luobu"),
        ("township_head", "zhaxi"),
    ]

    revoked = await revoke(tree, "county_admin", "luobu_head", "township_head", "zhaxi")
    assert revoked["errors"] == []

    assert await titles(tree, "luobu_head") == luobu
    me = await run(tree, "luobu_head", ME)
    assert [(r["role"], r["orgUnit"]["name"]) for r in me.data["me"]["roles"]] == [
        ("township_head", "luobu")
    ]


async def test_a_newcomer_without_roles_gains_exactly_the_granted_subtree(tree: Tree) -> None:
    await add_user(tree, "newcomer")
    before = await run(tree, "newcomer", TASK_TITLES)
    assert before.data is None
    assert [e.extensions for e in before.errors or []] == [{"code": "FORBIDDEN"}]

    assert (await grant(tree, "village_sec", "newcomer", "grid_leader", "grid_a"))["errors"] == []

    assert await titles(tree, "newcomer") == {"task of grid_a"}


async def test_a_chain_of_grants_never_widens_past_the_first_granter(tree: Tree) -> None:
    """zhaxi's head makes a village secretary, who may then grant only inside the village."""
    await add_user(tree, "secretary")
    await add_user(tree, "leader")
    assert (await grant(tree, "zhaxi_head", "secretary", "village_secretary", "dahetan"))[
        "errors"
    ] == []

    inside = await grant(tree, "secretary", "leader", "grid_leader", "grid_b")
    outside = await grant(tree, "secretary", "leader", "grid_leader", "grid_a")
    upward = await grant(tree, "secretary", "zhaxi_head", "village_secretary", "dahetan")
    wider = await grant(tree, "secretary", "leader", "township_head", "dahetan")

    assert inside["errors"] == []
    assert outside["errors"][0]["code"] == "NOT_FOUND"
    assert outside["errors"][0]["field"] == "orgUnitId"
    # The township head is no account of the village's: not found, like no account at all.
    assert upward["errors"] == [
        {"field": "userId", "code": "NOT_FOUND", "message": "No such user."}
    ]
    assert codes(wider) == ["FORBIDDEN"]

"""``riverchief deactivate-user``, ``grant`` and ``revoke``: the API's rules and audit events,
from the operator's shell."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise import connections

from app.authentication import AuthenticationError, viewer_for_token
from core.security import issue_token
from models.audit import AuditEvent
from models.people import User
from models.policy import CasbinRule
from ops.accounts import change_role, deactivate
from policies.announcer import PolicyAnnouncer, announcing
from policies.engine import PolicyEngine
from policies.watcher import PgPolicyWatcher
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL
from tests.fixtures import PASSWORD_HASH, TEST_SECRET, Tree
from tests.operator_cli import database, in_process, riverchief, small_county


async def add_user(tree: Tree, username: str) -> User:
    user = await User.create(username=username, password_hash=PASSWORD_HASH)
    tree.users[username] = user
    return user


async def policy_state(tree: Tree) -> tuple[Any, ...]:
    """Everything a grant may change: the rule rows, this process's grants, the audit trail."""
    rows = sorted(await CasbinRule.all().values_list("ptype", "v0", "v1", "v2", "v3", "v4", "v5"))
    loaded = sorted(tuple(g) for g in tree.engine.enforcer.get_grouping_policy())
    return rows, loaded, await AuditEvent.all().count()


# -- deactivate-user ------------------------------------------------------------------------


async def test_deactivation_stops_the_accounts_tokens_at_once_with_an_audit_event(
    tree: Tree,
) -> None:
    user = tree.users["zhaxi_head"]
    token = issue_token(user.id, user.token_version, TEST_SECRET, 3600)
    assert (await viewer_for_token(token, TEST_SECRET)).id == user.id

    outcome = await deactivate("zhaxi_head")

    assert outcome.ok and outcome.code is None
    assert outcome.message.startswith(f"deactivated zhaxi_head (id {user.id})")
    assert "still holds 1 role grant(s)" in outcome.message
    stored = await User.get(id=user.id)
    assert (stored.is_active, stored.token_version) == (False, 1)
    with pytest.raises(AuthenticationError):
        await viewer_for_token(token, TEST_SECRET)
    (event,) = await AuditEvent.filter(action="user.deactivate")
    assert (event.entity_type, event.entity_id) == ("user", str(user.id))
    assert event.actor_id is None  # the operator: no account
    assert event.org_path == tree.units["zhaxi"].path
    assert event.before == {"is_active": True, "token_version": 0}
    assert event.after == {"is_active": False, "token_version": 1}
    assert event.request_id.startswith("cli-deactivate-user-")


@pytest.mark.parametrize(("username", "code"), [("inspector", "CONFLICT"), ("nobody", "NOT_FOUND")])
async def test_deactivating_an_inactive_or_unknown_account_changes_nothing(
    tree: Tree, username: str, code: str
) -> None:
    await User.filter(username="inspector").update(is_active=False)
    accounts = await User.all().order_by("id").values_list("id", "is_active", "token_version")

    outcome = await deactivate(username)

    assert (outcome.ok, outcome.code) == (False, code)
    assert (
        await User.all().order_by("id").values_list("id", "is_active", "token_version") == accounts
    )
    assert await AuditEvent.all().count() == 0


# -- grant / revoke -------------------------------------------------------------------------


async def test_a_grant_and_its_revocation_are_the_apis_with_the_acting_account_as_actor(
    tree: Tree,
) -> None:
    grantee = await add_user(tree, "newcomer")
    shilong = tree.units["shilong"]
    rule = {"ptype": "g", "v0": f"user:{grantee.id}", "v1": "village_secretary"}

    granted = await change_role(
        tree.engine,
        acting="zhaxi_head",
        username="newcomer",
        role="village_secretary",
        unit_code=shilong.code,
    )

    assert granted.ok, granted
    assert granted.message == (
        f"granted village_secretary at shilong [{shilong.code}] to newcomer, acting as zhaxi_head"
    )
    assert await CasbinRule.filter(**rule, v2=f"{shilong.path}*").count() == 1
    assert [g.prefix for g in tree.engine.grants_of(f"user:{grantee.id}")] == [shilong.path]

    revoked = await change_role(
        tree.engine,
        acting="zhaxi_head",
        username="newcomer",
        role="village_secretary",
        unit_code=shilong.code,
        revoke=True,
    )

    assert revoked.ok, revoked
    assert revoked.message.startswith("revoked village_secretary at shilong")
    assert not await CasbinRule.filter(**rule).exists()
    assert tree.engine.grants_of(f"user:{grantee.id}") == []
    facts = {"user_id": grantee.id, "role": "village_secretary", "unit": shilong.path}
    events = await AuditEvent.all().order_by("seq")
    assert [(e.action, e.actor_id, e.org_path) for e in events] == [
        ("role.grant", tree.users["zhaxi_head"].id, shilong.path),
        ("role.revoke", tree.users["zhaxi_head"].id, shilong.path),
    ]
    assert (events[0].before, events[0].after) == (None, facts)
    assert (events[1].before, events[1].after) == (facts, None)
    assert events[0].request_id.startswith("cli-grant-")
    assert events[1].request_id.startswith("cli-revoke-")


@pytest.mark.parametrize(
    ("acting", "role", "unit", "code", "message"),
    [
        # out of scope reads as not found, as through the API
        ("luobu_head", "village_secretary", "shilong", "NOT_FOUND", "No such org unit."),
        # seen from below, not governed
        ("zhaxi_head", "township_head", "weixin", "FORBIDDEN", "You may not grant this grant."),
        # no escalation: a village secretary may not hand out a township head's rights
        ("village_sec", "township_head", "shilong", "FORBIDDEN", "township_head may "),
        # the field guard itself: a grid leader may grant nothing anywhere
        ("grid_leader", "grid_leader", "grid_a", "FORBIDDEN", "You may not grant grant."),
        ("zhaxi_head", "chief_of_everything", "shilong", "VALIDATION", "Unknown role"),
        ("zhaxi_head", "grid_leader", "no-such-unit", "NOT_FOUND", "no org unit has the code"),
        ("nobody", "grid_leader", "grid_a", "UNAUTHENTICATED", "no account named 'nobody'"),
        ("retired", "grid_leader", "grid_a", "UNAUTHENTICATED", "is deactivated"),
    ],
)
async def test_a_refused_grant_prints_the_typed_error_and_changes_nothing(
    tree: Tree, acting: str, role: str, unit: str, code: str, message: str
) -> None:
    await add_user(tree, "newcomer")
    retired = await add_user(tree, "retired")
    await User.filter(id=retired.id).update(is_active=False)
    await CasbinRule.create(
        ptype="g", v0=f"user:{retired.id}", v1="county_admin", v2=f"{tree.units['weixin'].path}*"
    )
    await tree.engine.reload()
    before = await policy_state(tree)
    code_of_unit = tree.units[unit].code if unit in tree.units else unit

    outcome = await change_role(
        tree.engine, acting=acting, username="newcomer", role=role, unit_code=code_of_unit
    )

    assert (outcome.ok, outcome.code) == (False, code)
    assert message in outcome.message
    assert await policy_state(tree) == before


async def test_nobody_grants_themselves_through_the_cli_either(tree: Tree) -> None:
    before = await policy_state(tree)

    outcome = await change_role(
        tree.engine,
        acting="zhaxi_head",
        username="zhaxi_head",
        role="village_secretary",
        unit_code=tree.units["shilong"].code,
    )

    assert (outcome.ok, outcome.code) == (False, "FORBIDDEN")
    assert outcome.message == "Nobody grants or revokes their own roles."
    assert await policy_state(tree) == before


# -- running servers hear of it -------------------------------------------------------------


@pytest.mark.skipif(not ON_POSTGRES, reason="LISTEN/NOTIFY: PostgreSQL only")
async def test_a_running_server_reloads_when_a_cli_grant_commits(tree: Tree) -> None:
    """A server's watcher on the same database hears ``riverchief grant`` (a process of its
    own, listening to nothing) and reloads; a refused grant announces nothing."""
    (row,) = await connections.get("default").execute_query_dict("SELECT current_database()")
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/" + row["current_database"]
    server = PolicyEngine()
    await server.reload()
    watcher = PgPolicyWatcher(server, url, check_every=0.2)
    await watcher.start()
    try:
        grantee = await add_user(tree, "newcomer")
        grid_a = tree.units["grid_a"]
        engine = announcing(tree.engine)
        reloads = watcher.reloads
        refused = await change_role(
            engine,
            acting="luobu_head",
            username="newcomer",
            role="grid_leader",
            unit_code=grid_a.code,
        )
        assert refused.code == "NOT_FOUND"
        assert isinstance(engine.watcher, PolicyAnnouncer) and engine.watcher.announced == 0

        granted = await riverchief(
            url, "grant", "newcomer", "grid_leader", grid_a.code, "--as", "zhaxi_head"
        )

        assert granted.status == 0, granted.err
        for _ in range(50):
            if server.grants_of(f"user:{grantee.id}"):
                break
            await asyncio.sleep(0.05)
        assert [g.prefix for g in server.grants_of(f"user:{grantee.id}")] == [grid_a.path]
        assert watcher.reloads == reloads + 1
    finally:
        await watcher.stop()
        tree.engine.watcher = None


async def test_the_announcer_is_quiet_where_nobody_listens(tree: Tree) -> None:
    announcer = PolicyAnnouncer()
    connection = connections.get("default")

    await announcer.announce(connection)

    assert announcer.announced == (1 if ON_POSTGRES else 0)


# -- from the shell -------------------------------------------------------------------------


async def test_grant_and_deactivate_user_from_the_shell(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        ids = await small_county()

    granted = await riverchief(
        empty_database_url, "grant", "alice", "township_head", "zx", "--as", "admin"
    )
    refused = await in_process(
        monkeypatch, empty_database_url, "grant", "bob", "county_admin", "wx", "--as", "alice"
    )
    deactivated = await in_process(monkeypatch, empty_database_url, "deactivate-user", "bob")
    again = await in_process(monkeypatch, empty_database_url, "deactivate-user", "bob")
    unusable = await in_process(monkeypatch, empty_database_url, "grant", "bob", "county_admin")

    assert (granted.status, granted.out) == (
        0,
        "granted township_head at 扎西镇 [zx] to alice, acting as admin\n",
    )
    assert refused.status == 1
    assert "riverchief: FORBIDDEN: You may not grant this grant." in refused.err
    assert "Traceback" not in refused.err
    assert deactivated.status == 0
    assert deactivated.out.startswith(f"deactivated bob (id {ids['bob']})")
    assert (again.status, again.err.strip().splitlines()[-1]) == (
        1,
        "riverchief: CONFLICT: That account is already deactivated.",
    )
    assert unusable.status == 2 and "--as" in unusable.err
    async with database(empty_database_url):
        grants = await CasbinRule.filter(ptype="g").order_by("id").values_list("v0", "v1")
        assert grants == [
            (f"user:{ids['admin']}", "county_admin"),
            (f"user:{ids['alice']}", "township_head"),
        ]
        assert not (await User.get(id=ids["bob"])).is_active
        events = await AuditEvent.all().order_by("seq").values_list("action", "actor_id")
        assert events == [("role.grant", ids["admin"]), ("user.deactivate", None)]

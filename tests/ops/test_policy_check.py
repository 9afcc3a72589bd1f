"""``riverchief policy check``: grants their granter could no longer make, and grants that
name missing or inactive accounts or missing units."""

from __future__ import annotations

import json

import pytest

from models.audit import AuditEvent
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from ops.accounts import change_role
from ops.policy_check import PolicyReport, check_policy
from policies.engine import PolicyEngine
from tests.fixtures import ACCOUNTS, PASSWORD_HASH, Tree
from tests.operator_cli import database, in_process, riverchief, small_county


async def newcomer() -> User:
    return await User.create(username="newcomer", password_hash=PASSWORD_HASH)


async def grant(
    tree: Tree, acting: str, username: str, role: str, unit: str, *, revoke: bool = False
) -> None:
    """Through the API's mutation (as ``riverchief grant`` runs it)."""
    outcome = await change_role(
        tree.engine,
        acting=acting,
        username=username,
        role=role,
        unit_code=tree.units[unit].code,
        revoke=revoke,
    )
    assert outcome.ok, outcome


def kinds(report: PolicyReport) -> list[tuple[str, str | None, str]]:
    return [(f.kind, f.username, f.role) for f in report.findings]


async def test_grants_made_through_the_api_inside_the_granters_scope_are_clean(
    tree: Tree,
) -> None:
    await newcomer()
    await grant(tree, "zhaxi_head", "newcomer", "village_secretary", "shilong")

    report = await check_policy(tree.engine)

    assert report.grants == len(ACCOUNTS) + 1
    assert report.findings == []
    # the fixture's grants were written straight in, as demo data is: nobody granted them
    assert sorted(f.username or "" for f in report.unattributed) == sorted(ACCOUNTS)
    assert report.clean() and not report.clean(strict=True)


async def test_a_grant_whose_granter_has_lost_the_scope_is_a_finding(tree: Tree) -> None:
    await newcomer()
    await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_a")
    granted = await AuditEvent.get(action="role.grant")
    await grant(tree, "county_admin", "zhaxi_head", "township_head", "zhaxi", revoke=True)

    report = await check_policy(tree.engine)

    (finding,) = report.findings
    assert (finding.kind, finding.username, finding.role) == (
        "outside_granter_scope",
        "newcomer",
        "grid_leader",
    )
    assert (finding.granter, finding.granted_in_seq) == ("zhaxi_head", granted.seq)
    assert (finding.path, finding.unit_code) == (
        tree.units["grid_a"].path,
        tree.units["grid_a"].code,
    )
    assert finding.detail == "zhaxi_head could not grant it today: NOT_FOUND: No such org unit."
    assert not report.clean()


async def test_grants_of_missing_or_inactive_accounts_and_at_missing_units(tree: Tree) -> None:
    user = await newcomer()
    await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_a")
    await CasbinRule.create(
        ptype="g", v0="user:99999", v1="grid_leader", v2=f"{tree.units['grid_b'].path}*"
    )
    await CasbinRule.create(ptype="g", v0=f"user:{user.id}", v1="grid_leader", v2="/999/*")
    await CasbinRule.create(ptype="g", v0="group:x", v1="grid_leader", v2="/1/*")
    await User.filter(username="village_sec").update(is_active=False)
    await tree.engine.reload()

    report = await check_policy(tree.engine)

    assert kinds(report) == [
        ("inactive_user", "village_sec", "village_secretary"),
        ("missing_user", None, "grid_leader"),
        ("missing_unit", "newcomer", "grid_leader"),
        ("malformed", None, "grid_leader"),
    ]
    assert report.findings[1].detail == "no account has id 99999"
    assert report.findings[2].path == "/999/"


async def test_a_grant_put_back_after_its_revocation_is_unattributed(tree: Tree) -> None:
    user = await newcomer()
    await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_a")
    await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_a", revoke=True)
    await CasbinRule.create(
        ptype="g", v0=f"user:{user.id}", v1="grid_leader", v2=f"{tree.units['grid_a'].path}*"
    )
    await tree.engine.reload()

    report = await check_policy(tree.engine)

    assert report.findings == []
    put_back = [f for f in report.unattributed if f.username == "newcomer"]
    assert [(f.role, f.granter, f.granted_in_seq) for f in put_back] == [
        ("grid_leader", None, None)
    ]
    assert not report.clean(strict=True)


async def test_a_grant_whose_granters_account_is_gone(tree: Tree) -> None:
    await newcomer()
    await grant(tree, "zhaxi_head", "newcomer", "grid_leader", "grid_a")
    await User.filter(username="zhaxi_head").delete()

    report = await check_policy(tree.engine)

    assert kinds(report) == [
        ("missing_user", None, "township_head"),
        ("outside_granter_scope", "newcomer", "grid_leader"),
    ]
    assert report.findings[1].detail == (
        f"the granter's account (id {tree.users['zhaxi_head'].id}) no longer exists"
    )


# -- from the shell -------------------------------------------------------------------------


async def test_policy_check_from_the_shell(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        ids = await small_county()
        engine = PolicyEngine()
        await engine.reload()
        outcome = await change_role(
            engine, acting="admin", username="alice", role="township_head", unit_code="zx"
        )
        assert outcome.ok, outcome
        # the county administrator's own grant goes: alice's now reaches past its granter
        await CasbinRule.filter(v0=f"user:{ids['admin']}").delete()
        zx = await OrgUnit.get(code="zx")

    as_json = await riverchief(empty_database_url, "policy", "check", "--json")
    as_text = await in_process(monkeypatch, empty_database_url, "policy", "check")

    assert as_json.status == 1, as_json.err
    report = json.loads(as_json.out)
    assert (report["clean"], report["grants"], report["unattributed"]) == (False, 1, [])
    (finding,) = report["findings"]
    assert {k: finding[k] for k in ("kind", "username", "role", "path", "unit_code")} == {
        "kind": "outside_granter_scope",
        "username": "alice",
        "role": "township_head",
        "path": zx.path,
        "unit_code": "zx",
    }
    assert (finding["granter"], finding["granted_in_seq"]) == ("admin", 1)
    assert as_text.status == 1
    assert as_text.out.splitlines() == [
        "checked 1 grant(s): 1 finding(s), 0 unattributed (not counted without --strict)",
        f"  outside_granter_scope  alice (user:{ids['alice']}): township_head at zx {zx.path}; "
        "granted by admin in audit event 1: admin could not grant it today: NOT_FOUND: "
        "No such org unit.",
    ]

    async with database(empty_database_url):
        await CasbinRule.filter(v0=f"user:{ids['alice']}").delete()
    clean = await in_process(monkeypatch, empty_database_url, "policy", "check", "--strict")

    assert (clean.status, clean.out) == (
        0,
        "checked 0 grant(s): 0 finding(s), 0 unattributed (counted: --strict)\n",
    )

"""Changes to the role policy: each an audit event, each line's history kept, so that a past
decision can be reproduced with the policy of its day."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext

from core.errors import DomainError, ErrorCode
from models.audit import AuditEvent
from models.policy import CasbinRule, RolePolicyHistory
from policies.engine import Permission, read_role_policy
from resolvers.role_policy import change_role_policy, seed_role_policy
from tests.fixtures import Tree

SHIPPED = [[r.role, r.level, r.resource, r.action] for r in read_role_policy()]
INSPECTOR_VERIFIES = Permission("inspector", "*", "task", "verify")
HEAD_VERIFIES = Permission("township_head", "*", "task", "verify")


async def policy_state() -> tuple[Any, ...]:
    rules = sorted(await CasbinRule.filter(ptype="p").values_list("v0", "v1", "v2", "v3"))
    history = sorted(
        await RolePolicyHistory.all().values_list(
            "role", "level", "resource", "action", "added_at", "removed_at"
        )
    )
    return rules, history, await AuditEvent.all().count()


async def test_the_first_start_seeds_the_shipped_policy_as_one_recorded_change(
    db: TortoiseContext,
) -> None:
    first = await seed_role_policy()
    second = await seed_role_policy()

    assert (first, second) == (True, False)
    (event,) = await AuditEvent.all()
    assert (event.action, event.entity_type, event.entity_id) == (
        "policy.add",
        "role_policy",
        "roles.csv",
    )
    assert (event.actor_id, event.org_path, event.before) == (None, "", None)
    assert event.after == {"rules": SHIPPED}
    lines = await RolePolicyHistory.all().order_by("id")
    assert [[x.role, x.level, x.resource, x.action] for x in lines] == SHIPPED
    assert {(x.added_at, x.added_by_id, x.removed_at) for x in lines} == {(event.at, None, None)}
    assert await CasbinRule.filter(ptype="p").count() == len(SHIPPED)


async def test_a_change_is_an_event_a_history_and_a_reload(tree: Tree) -> None:
    shilong = tree.units["shilong"]
    inspector = f"user:{tree.users['inspector'].id}"
    could = tree.engine.enforce(inspector, shilong.path, "VILLAGE", "task", "verify")

    done = await change_role_policy(
        tree.context_for("county_admin"), add=[INSPECTOR_VERIFIES], remove=[HEAD_VERIFIES]
    )

    assert (done.added, done.removed) == ([INSPECTOR_VERIFIES], [HEAD_VERIFIES])
    assert could is False
    assert tree.engine.enforce(inspector, shilong.path, "VILLAGE", "task", "verify") is True
    added, removed = await AuditEvent.all().order_by("seq")
    admin = tree.users["county_admin"].id
    assert (added.action, added.actor_id, added.after, added.before) == (
        "policy.add",
        admin,
        {"rules": [["inspector", "*", "task", "verify"]]},
        None,
    )
    assert (removed.action, removed.actor_id, removed.before, removed.after) == (
        "policy.remove",
        admin,
        {"rules": [["township_head", "*", "task", "verify"]]},
        None,
    )
    new = await RolePolicyHistory.get(role="inspector", action="verify")
    old = await RolePolicyHistory.get(role="township_head", action="verify")
    assert (new.added_at, new.added_by_id, new.removed_at) == (added.at, admin, None)
    assert (old.removed_at, old.removed_by_id) == (removed.at, admin)
    assert not await CasbinRule.filter(ptype="p", v0="township_head", v3="verify").exists()


@pytest.mark.parametrize(
    ("add", "remove", "code"),
    [
        ([Permission("inspector", "*", "task", "delete")], [], ErrorCode.VALIDATION),
        ([Permission("auditor", "*", "task", "read")], [], ErrorCode.VALIDATION),
        ([Permission("inspector", "HAMLET", "task", "read")], [], ErrorCode.VALIDATION),
        ([HEAD_VERIFIES], [], ErrorCode.CONFLICT),
        ([INSPECTOR_VERIFIES], [INSPECTOR_VERIFIES], ErrorCode.NOT_FOUND),
    ],
)
async def test_a_refused_change_changes_nothing(
    tree: Tree, add: list[Permission], remove: list[Permission], code: ErrorCode
) -> None:
    before = await policy_state()

    with pytest.raises(DomainError) as refused:
        await change_role_policy(tree.context_for("county_admin"), add=add, remove=remove)

    assert (refused.value.code, refused.value.field) == (code, "rules")
    assert await policy_state() == before

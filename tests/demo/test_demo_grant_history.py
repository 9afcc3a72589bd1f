"""The demo's grants have their history, so that past moments of the demo can be asked about."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.context import TortoiseContext

from demo.loader import load_demo, read_demo
from models.audit import AuditEvent
from models.policy import CasbinRule, GrantHistory


async def test_every_demo_grant_is_held_from_its_role_grant_event_or_from_the_load(
    db: TortoiseContext,
) -> None:
    moment = datetime(2025, 3, 1, 1, tzinfo=UTC)

    assert await load_demo(now=moment)

    rules = await CasbinRule.filter(ptype="g").values_list("v0", "v1", "v2")
    rows = await GrantHistory.all()
    events = {
        (e.after["user_id"], e.after["role"], e.after["unit"]): (e.at, e.actor_id)
        for e in await AuditEvent.filter(action="role.grant").order_by("seq")
        if e.after is not None
    }
    demo = read_demo()
    assert len(rules) == len(demo.accounts) + len(demo.illustrative)  # one grant per account
    assert sorted((f"user:{r.user_id}", r.role, f"{r.path}*") for r in rows) == sorted(rules)
    for row in rows:
        assert row.revoked_at is None and row.unit_id is not None
        key = (row.user_id, row.role, row.path)
        assert (row.granted_at, row.granted_by_id) == events.get(key, (moment, None)), key

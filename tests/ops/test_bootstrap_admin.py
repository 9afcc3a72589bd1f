"""A new installation from the operator's shell: the first grant, and only the first.

Nothing but the CLI: migrate, an account, the county's org tree from CSV, then
``bootstrap-admin`` for the first county administrator, who can then grant as the API
allows. A second bootstrap is refused: from then on every grant has a granter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.audit import AuditEvent
from models.people import User
from models.policy import CasbinRule
from tests.operator_cli import database, in_process, riverchief

PASSWORD = b"Str0ng-first-river-chief!\n"
TREE = "code,name,level,parent_code\nwx,威信县,COUNTY,\nzx,扎西镇,TOWNSHIP,wx\n"


async def test_a_fresh_installation_gets_its_first_administrator_and_only_one(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_database_url
    tree = tmp_path / "tree.csv"
    tree.write_text(TREE, encoding="utf-8")
    for name in ("admin", "alice"):
        made = await riverchief(url, "create-user", name, "--password-stdin", stdin=PASSWORD)
        assert made.status == 0, made.err
    imported = await in_process(monkeypatch, url, "import-org", str(tree))
    assert imported.status == 0, imported.err
    before_first = await in_process(
        monkeypatch, url, "grant", "alice", "township_head", "zx", "--as", "admin"
    )

    first = await riverchief(url, "bootstrap-admin", "admin", "wx")
    second = await in_process(monkeypatch, url, "bootstrap-admin", "alice", "wx")
    granted = await in_process(
        monkeypatch, url, "grant", "alice", "township_head", "zx", "--as", "admin"
    )

    assert before_first.status == 1 and "FORBIDDEN" in before_first.err  # nobody may grant yet
    assert first.status == 0, first.err
    assert "first grant" in first.out
    assert second.status == 1
    assert "FORBIDDEN" in second.err and "--as" in second.err
    assert granted.status == 0, granted.err
    async with database(url):
        admin = await User.get(username="admin")
        alice = await User.get(username="alice")
        grants = await CasbinRule.filter(ptype="g").order_by("id").values_list("v0", "v1")
        events = await AuditEvent.filter(action="role.grant").order_by("seq")
    assert grants == [(f"user:{admin.id}", "county_admin"), (f"user:{alice.id}", "township_head")]
    assert [e.actor_id for e in events] == [None, admin.id]  # the bootstrap acts as nobody
    assert events[0].after is not None and events[0].after["bootstrap"] is True
    assert events[1].after is not None and "bootstrap" not in events[1].after

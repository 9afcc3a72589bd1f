"""The operator's grants keep their history as the API's do: ``bootstrap-admin``, ``grant``
and ``revoke`` each write the grant's history at the time of their audit event."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from models.audit import AuditEvent
from models.people import User
from models.policy import GrantHistory
from tests.operator_cli import database, in_process

PASSWORD = "Str0ng-first-river-chief!\n"
TREE = "code,name,level,parent_code\nwx,威信县,COUNTY,\nzx,扎西镇,TOWNSHIP,wx\n"


async def test_bootstrap_grant_and_revoke_from_the_shell_record_the_grants_history(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = empty_database_url
    tree = tmp_path / "tree.csv"
    tree.write_text(TREE, encoding="utf-8")
    for name in ("admin", "alice"):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD))
        made = await in_process(monkeypatch, url, "create-user", name, "--password-stdin")
        assert made.status == 0, made.err
    steps = [
        ("import-org", str(tree)),
        ("bootstrap-admin", "admin", "wx"),
        ("grant", "alice", "township_head", "zx", "--as", "admin"),
        ("revoke", "alice", "township_head", "zx", "--as", "admin"),
    ]

    done = [await in_process(monkeypatch, url, *step) for step in steps]

    assert [d.status for d in done] == [0, 0, 0, 0], [d.err for d in done]
    async with database(url):
        admin = await User.get(username="admin")
        alice = await User.get(username="alice")
        first, granted, revoked = await AuditEvent.filter(
            action__in=["role.grant", "role.revoke"]
        ).order_by("seq")
        rows = await GrantHistory.all().order_by("id")
    assert [
        (r.user_id, r.role, r.granted_at, r.granted_by_id, r.revoked_at, r.revoked_by_id)
        for r in rows
    ] == [
        (admin.id, "county_admin", first.at, None, None, None),
        (alice.id, "township_head", granted.at, admin.id, revoked.at, admin.id),
    ]

"""``riverchief create-user``: the password policy, and the account it stores."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from app.cli import main
from core.security import password_problem, verify_password


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1A", "at least 10"),
        ("alllowercaseletters", "two of"),
        ("1234567890", "two of"),
        ("Password123".lower(), "too easy"),
        ("aaaaaaaaA1", "too easy"),
        ("my-ZHAXI_head-1", "username"),
    ],
)
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    found = password_problem(password, "zhaxi_head")

    assert found is not None and problem in found


def test_a_reasonable_password_passes() -> None:
    assert password_problem("Chishui-river-2026", "zhaxi_head") is None


def test_create_user_stores_a_verifiable_hash_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{database}")
    monkeypatch.setenv("RIVERCHIEF_SECRET", "s" * 40)

    monkeypatch.setattr("sys.stdin", io.StringIO("weak\n"))
    assert main(["create-user", "operator", "--password-stdin"]) == 2
    assert "at least 10" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO("Chishui-river-2026\n"))
    assert main(["create-user", "operator", "--password-stdin"]) == 0
    assert "created user operator" in capsys.readouterr().out
    with closing(sqlite3.connect(database)) as conn:
        (stored,) = conn.execute(
            "SELECT password_hash FROM user_account WHERE username = 'operator'"
        ).fetchone()
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "Chishui-river-2026")

    monkeypatch.setattr("sys.stdin", io.StringIO("Chishui-river-2026\n"))
    assert main(["create-user", "operator", "--password-stdin"]) == 1
    assert capsys.readouterr().err == "riverchief: a user named 'operator' already exists\n"
